import { BACKEND_NAMES, publishBackend, publishSkip, requiredBackends } from './support/backends';
import { discoverBackend, isFound, type DiscoveryOptions } from './support/discovery';
import { STARTED_SERVERS, type StartedServers } from './global-teardown';

export default async function globalSetup(): Promise<void> {
  await setupBackends((line) => process.stderr.write(`${line}\n`));
}

/**
 * Finds every backend, publishes its URL (or why it is skipped) for the test workers, and reports
 * one line per backend. Throws when REQUIRE_BACKENDS names a backend that was not found.
 */
export async function setupBackends(report: (line: string) => void, options: DiscoveryOptions = {}): Promise<void> {
  const required = requiredBackends();
  const unknown = [...required].filter((name) => !(BACKEND_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new Error(`REQUIRE_BACKENDS names unknown backends: ${unknown.join(', ')} (known: ${BACKEND_NAMES.join(', ')})`);
  }

  const stops: StartedServers = [];
  (globalThis as Record<symbol, unknown>)[STARTED_SERVERS] = stops;
  const discoveries = await Promise.all(BACKEND_NAMES.map((name) => discoverBackend(name, { log: report, ...options })));

  const missing: string[] = [];
  BACKEND_NAMES.forEach((name, index) => {
    const found = discoveries[index];
    if (isFound(found)) {
      if (found.stop) stops.push(found.stop);
      publishBackend(name, found.url, found.server, found.lacks);
      report(`[backends] ${name}: ${found.source}${found.server === undefined ? '' : `, ${found.server}`}`);
      return;
    }
    publishSkip(name, found.reason);
    report(`[backends] SKIPPING ${name} tests: ${found.reason}`);
    if (required.has(name)) missing.push(`${name} (${found.reason})`);
  });
  if (missing.length > 0) {
    throw new Error(`REQUIRE_BACKENDS names backends that could not be found: ${missing.join('; ')}`);
  }
}
