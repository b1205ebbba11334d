/**
 * Which real backends the tests talk to. `test/global-setup.ts` finds each one (explicit URL,
 * default loopback port, throwaway server, container) and publishes the result in environment
 * variables that the test workers inherit; test files read them through these helpers.
 */
import type { BackendName } from '../../scripts/registry';

export { BACKEND_NAMES, type BackendName } from '../../scripts/registry';

const urlVariable = (name: BackendName) => `SESSION_STORES_TEST_${name.toUpperCase()}_URL`;
const skipVariable = (name: BackendName) => `SESSION_STORES_TEST_${name.toUpperCase()}_SKIP`;
const serverVariable = (name: BackendName) => `SESSION_STORES_TEST_${name.toUpperCase()}_SERVER`;

const lacksVariable = (name: BackendName) => `SESSION_STORES_TEST_${name.toUpperCase()}_LACKS`;

export function publishBackend(name: BackendName, url: string, server?: string, lacks: readonly string[] = []): void {
  process.env[urlVariable(name)] = url;
  if (server === undefined) delete process.env[serverVariable(name)];
  else process.env[serverVariable(name)] = server;
  process.env[lacksVariable(name)] = lacks.join(',');
  delete process.env[skipVariable(name)];
}

/** Whether the backend's server lacks a feature (`ttl-indexes` on FerretDB v1), as discovery found. */
export function backendLacks(name: BackendName, feature: string): boolean {
  return (process.env[lacksVariable(name)] ?? '').split(',').includes(feature);
}

/**
 * `describe` for tests that need a feature some servers of a backend lack: they run where the
 * server has it, and report one skipped case naming the server and the feature elsewhere.
 */
export function describeWithFeature(name: BackendName, feature: string, title: string, body: () => void): void {
  if (!backendLacks(name, feature)) {
    describe(title, body);
    return;
  }
  describe(title, () => {
    it.skip(`could not run: ${backendServer(name) ?? `this ${name} server`} has no ${feature}`, () => undefined);
  });
}

/** What the backend's server says it is (`FerretDB (reports MongoDB 7.0.42)`), when discovery asked it. */
export function backendServer(name: BackendName): string | undefined {
  return process.env[serverVariable(name)];
}

export function publishSkip(name: BackendName, reason: string): void {
  delete process.env[urlVariable(name)];
  process.env[skipVariable(name)] = reason;
}

/** The URL of a backend found by the global setup, or undefined with the reason in `skipReason`. */
export function backendUrl(name: BackendName): string | undefined {
  return process.env[urlVariable(name)];
}

export function skipReason(name: BackendName): string {
  return process.env[skipVariable(name)] ?? 'the global setup did not run (run tests through jest.config.ts)';
}

export function requiredBackends(): Set<string> {
  return new Set(
    (process.env.REQUIRE_BACKENDS ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
}

/**
 * `describe` for a backend's tests: runs them with the backend's URL, or reports one skipped case
 * that names the reason, so a missing server is visible in the results rather than silent.
 */
export function describeBackend(name: BackendName, title: string, body: (url: string) => void): void {
  const url = backendUrl(name);
  if (url !== undefined) {
    const server = backendServer(name);
    describe(server === undefined ? title : `${title} [${server}]`, () => body(url));
    return;
  }
  describe(title, () => {
    it.skip(`could not run: no ${name} backend (${skipReason(name)})`, () => undefined);
  });
}

/**
 * `describe` for tests that start servers of their own: they run where `problem` is undefined, and
 * elsewhere report one case that says why, skipped, or failed under REQUIRE_BACKENDS naming `name`.
 */
export function describeWithThrowawayServers(name: BackendName, problem: string | undefined, title: string, body: () => void): void {
  describeNeeding(`throwaway ${name} servers`, problem, requiredBackends().has(name) ? `REQUIRE_BACKENDS=${name}` : undefined, title, body);
}

/**
 * `describe` for tests that need `what` (a program, a package): they run where `problem` is
 * undefined, and elsewhere report one case that says why: failed when `requiredBy` says what
 * requires them to run, skipped otherwise.
 */
export function describeNeeding(what: string, problem: string | undefined, requiredBy: string | undefined, title: string, body: () => void): void {
  if (problem === undefined) {
    describe(title, body);
    return;
  }
  describe(title, () => {
    if (requiredBy !== undefined) {
      it(`needs ${what} (${requiredBy})`, () => {
        throw new Error(`cannot run without ${what}: ${problem}`);
      });
    } else {
      it.skip(`could not run: ${problem}`, () => undefined);
    }
  });
}
