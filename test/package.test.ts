import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ENTRY_POINTS, STORES, type Store } from '../scripts/registry';

/**
 * The published package as a user gets it: `npm pack` (which builds), the tarball installed in a
 * fresh project, and every entry point loaded by `import`, by `require` and by TypeScript; each
 * conformance adapter run by its own test runner, and the HTTP cases with and without the express
 * and supertest the project installs.
 */

const repo = path.resolve(__dirname, '..');

/**
 * Jest's bound on each step that packs, installs, runs a test runner or runs tsc. The steps run one
 * after another, so each has the machine's share it gets; the bound only stops a step that hangs,
 * far above what any of them needs on however loaded a machine.
 */
const STEP_TIMEOUT_MS = 10 * 60_000;

interface Entry {
  specifier: string;
  /** The source file the entry is built from. */
  source: string;
  /** Named exports the entry must provide, each a function or class. */
  exports: string[];
  /**
   * Set when the entry imports a package that loads only with `import`: `require` of the entry
   * then fails with this message, the one that package gives itself.
   */
  requireFails?: string;
  /** A test runner adapter: a spec file that calls its `runConformance`, run by that runner in the consumer project. */
  runner?: Runner;
}

interface Runner {
  name: string;
  /** The spec's file name; it is written to a folder of its own. */
  file: string;
  /** How the spec loads the package. */
  load: 'require' | 'import';
  /** Node's arguments that run the spec from its folder and write the runner's report to `report`. */
  args(spec: string, report: string): string[];
  /** Each case's status ('passed', 'failed', 'skipped'), by case id, read from the report. */
  statuses(report: string): Record<string, string>;
}

/** A few quick store cases, one of them on the suite's fake clock; none needs express. */
const RUNNER_CASES = [
  'get-missing-calls-back-nothing',
  'set-overwrites-the-whole-session',
  'destroy-removes-the-session',
  'expired-session-not-returned-by-get',
];

const caseId = (title: string): string => title.split(':')[0]!;

/** jest's `--json` report; vitest's json reporter writes the same shape. */
function jestReportStatuses(report: string): Record<string, string> {
  const { testResults } = JSON.parse(report) as { testResults: Array<{ assertionResults: Array<{ title: string; status: string }> }> };
  return Object.fromEntries(
    testResults.flatMap((file) => file.assertionResults).map(({ title, status }) => [caseId(title), status === 'pending' ? 'skipped' : status]),
  );
}

/** node:test's TAP: a case line is `ok N - <id>: <rule>`, indented under its suites. */
function tapStatuses(report: string): Record<string, string> {
  return Object.fromEntries(
    [...report.matchAll(/^\s*(ok|not ok) \d+ - ([a-z0-9-]+):.*$/gm)].map(([line, ok, id]) => [
      id,
      ok === 'not ok' ? 'failed' : / # SKIP\b/.test(line) ? 'skipped' : 'passed',
    ]),
  );
}

const RUNNERS = {
  jest: {
    name: 'jest',
    file: 'memory.conformance.test.js',
    load: 'require',
    args: (spec, report) => [
      path.join(repo, 'node_modules', 'jest', 'bin', 'jest.js'),
      '--config',
      JSON.stringify({ rootDir: '.', transform: {}, cacheDirectory: path.join(workDir, 'jest-cache') }),
      '--ci',
      '--no-watchman',
      '--json',
      '--outputFile',
      report,
      spec,
    ],
    statuses: jestReportStatuses,
  },
  vitest: {
    name: 'vitest',
    // TypeScript in a CommonJS project: vitest still runs it as ESM, through the `import` condition.
    file: 'memory.conformance.test.ts',
    load: 'import',
    args: (spec, report) => [path.join(project, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--root', '.', '--reporter', 'json', '--outputFile', report, spec],
    statuses: jestReportStatuses,
  },
  nodeTest: {
    name: 'node:test',
    file: 'memory.conformance.test.mjs',
    load: 'import',
    args: (spec, report) => ['--test', '--test-reporter', 'tap', '--test-reporter-destination', report, spec],
    statuses: tapStatuses,
  },
} satisfies Record<string, Runner>;

/** The conformance adapters, each run by its own test runner; vitest's loads only with `import`. */
const ADAPTERS: Record<string, Pick<Entry, 'requireFails' | 'runner'>> = {
  'session-stores/conformance/jest': { runner: RUNNERS.jest },
  'session-stores/conformance/vitest': { requireFails: 'Vitest cannot be imported in a CommonJS module using require()', runner: RUNNERS.vitest },
  'session-stores/conformance/node-test': { runner: RUNNERS.nodeTest },
};

const ENTRIES: Entry[] = ENTRY_POINTS.map(({ subpath, source, exports }) => {
  const specifier = `session-stores${subpath.slice(1)}`;
  return { specifier, source, exports: [...exports], ...ADAPTERS[specifier] };
});

const stores: readonly Store[] = STORES;

interface DriverProject {
  specifier: string;
  label: string;
  packages: string[];
  fails?: string;
}

/** Driver projects that fail today, by label: run as jest's `failing`, which turns red once the cause is gone, to be made a plain case. */
const FAILS_TODAY: Record<string, string> = {};

/**
 * What a user of each store installs beside the package: one of its drivers, and that driver's type
 * package where it ships none. A store's declarations must type-check with only that (and
 * express-session's types).
 */
const STORE_DRIVERS: DriverProject[] = [
  ...stores.flatMap(({ name, drivers }): DriverProject[] => {
    const specifier = `session-stores/${name}`;
    if (drivers.length === 0) return [{ specifier, label: 'no driver', packages: [] }];
    return drivers.map((driver) => {
      const label = `${driver.package}${driver.alias === undefined ? '' : ` (${driver.alias})`} only`;
      return { specifier, label, packages: [driver.package, ...(driver.types === undefined ? [] : [driver.types])], fails: FAILS_TODAY[label] };
    });
  }),
  { specifier: 'session-stores/migrate', label: 'no driver', packages: [] },
];
const ALL_DRIVER_PACKAGES = [...new Set(STORE_DRIVERS.flatMap((d) => d.packages))];

/**
 * Peer dependencies (and the type packages a TypeScript user would have) linked from this repo's
 * node_modules, and vitest, which the vitest adapter imports. express and supertest stay out: the
 * store cases must run without them.
 */
const LINKED_MODULES = ['express-session', ...stores.flatMap((store) => store.drivers.map((driver) => driver.package)), '@types', 'vitest'];

/** Per entry: each named export's `typeof`, or the error loading the entry threw. */
type LoadReport = Record<string, Record<string, string>>;

let workDir: string;
let project: string;
let packedFiles: string[];
let imported: LoadReport;
let required: LoadReport;
let sameClasses: Record<string, Record<string, boolean | string>>;
/** The runner adapters' runs started so far, so that none is still writing when the folder is removed. */
const runnerRuns: Array<Promise<unknown>> = [];

function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stdout ?? ''}\n${stderr ?? ''}`);
  }
}

function node(file: string): unknown {
  return JSON.parse(run(process.execPath, [file], project));
}

/** This test's environment without what tells a child it is a jest worker. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true', NO_COLOR: '1' };
  for (const name of Object.keys(env)) if (name.startsWith('JEST_')) delete env[name];
  return env;
}

/**
 * Writes a spec that runs RUNNER_CASES on `session-stores/memory` through the adapter `specifier`,
 * in a folder of its own, and runs `runner` on it; settles with each case's status, or rejects
 * with the runner's output.
 */
function runRunner(specifier: string, runner: Runner): Promise<Record<string, string>> {
  const dir = path.join(project, runner.name.replace(/\W/g, '-'));
  mkdirSync(dir);
  const loads =
    runner.load === 'require'
      ? `const { runConformance } = require('${specifier}');\nconst { MemoryStore } = require('session-stores/memory');`
      : `import { runConformance } from '${specifier}';\nimport { MemoryStore } from 'session-stores/memory';`;
  writeFileSync(
    path.join(dir, runner.file),
    `${loads}

runConformance({
  name: 'MemoryStore',
  makeStore: (options) => new MemoryStore({ now: options.now, ttl: options.ttl }),
  clock: 'injectable',
  supports: { ttl: true },
  http: false,
  filter: (id) => ${JSON.stringify(RUNNER_CASES)}.includes(id),
});
`,
  );
  const report = path.join(dir, 'report');
  const started = new Promise<Record<string, string>>((resolve, reject) => {
    execFile(process.execPath, runner.args(runner.file, report), { cwd: dir, env: childEnv() }, (error, stdout, stderr) =>
      error || !existsSync(report)
        ? reject(new Error(`${runner.name} failed (${error?.message ?? 'no report'}):\n${stdout}${stderr}`))
        : resolve(runner.statuses(readFileSync(report, 'utf8'))),
    );
  });
  runnerRuns.push(started.catch(() => undefined));
  return started;
}

beforeAll(() => {
  workDir = mkdtempSync(path.join(os.tmpdir(), 'session-stores-pack-'));
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', workDir], repo)) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  packedFiles = packed[0].files.map((file) => file.path);
  const tarball = path.join(workDir, packed[0].filename);

  project = path.join(workDir, 'project');
  mkdirSync(project);
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  // The package has no dependencies of its own; its peers come from this repo, so no network is needed.
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--legacy-peer-deps', '--ignore-scripts', tarball], project);
  for (const name of LINKED_MODULES) {
    symlinkSync(path.join(repo, 'node_modules', name), path.join(project, 'node_modules', name), 'dir');
  }

  const table = JSON.stringify(ENTRIES.map(({ specifier, exports }) => ({ specifier, exports })));
  const helpers = `const types = (module, exports) => Object.fromEntries(exports.map((name) => [name, typeof module[name]]));
const failure = (error) => ({ error: String(error && error.message).split('\\n')[0] });`;
  writeFileSync(
    path.join(project, 'load.mjs'),
    `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
${helpers}
const imported = {}, same = {};
for (const { specifier, exports } of ${table}) {
  try {
    const esm = await import(specifier);
    imported[specifier] = types(esm, exports);
    const cjs = require(specifier);
    same[specifier] = Object.fromEntries(exports.map((name) => [name, esm[name] === cjs[name]]));
  } catch (error) {
    if (imported[specifier]) same[specifier] = failure(error);
    else imported[specifier] = failure(error);
  }
}
console.log(JSON.stringify({ imported, same }));
`,
  );
  writeFileSync(
    path.join(project, 'load.cjs'),
    `${helpers}
const required = {};
for (const { specifier, exports } of ${table}) {
  try {
    required[specifier] = types(require(specifier), exports);
  } catch (error) {
    required[specifier] = failure(error);
  }
}
console.log(JSON.stringify(required));
`,
  );
  const esmReport = node('load.mjs') as { imported: LoadReport; same: typeof sameClasses };
  imported = esmReport.imported;
  sameClasses = esmReport.same;
  required = node('load.cjs') as LoadReport;
}, STEP_TIMEOUT_MS);

afterAll(async () => {
  // A runner still going would hold files in the folder being removed.
  await Promise.allSettled(runnerRuns);
  if (workDir) rmSync(workDir, { recursive: true, force: true });
}, STEP_TIMEOUT_MS);

describe('the packed package', () => {
  it('runs only conformance adapters that are entry points of the registry', () => {
    expect(Object.keys(ADAPTERS).filter((specifier) => !ENTRIES.some((entry) => entry.specifier === specifier))).toEqual([]);
  });

  it('ships the built code and no TypeScript sources, tests or report tooling', () => {
    expect(packedFiles).toContain('dist/cjs/shared/index.js');
    expect(packedFiles).toContain('dist/esm/index.mjs');
    expect(packedFiles.filter((file) => /\.test\.|(^|\/)[^/]+\.ts$/.test(file) && !file.endsWith('.d.ts'))).toEqual([]);
    expect(packedFiles.filter((file) => /fixtures|(^|\/)report\//.test(file))).toEqual([]);
  });

  it('ships every file that README.md links to', () => {
    const readme = readFileSync(path.join(repo, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(((?:stores|conformance|shared|docs)\/[^)#]+)\)/g)].map((match) => match[1]);
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((link) => !packedFiles.includes(link))).toEqual([]);
  });

  describe.each(ENTRIES)('$specifier', ({ specifier, exports, requireFails, runner }) => {
    const functions = Object.fromEntries(exports.map((name) => [name, 'function']));

    it('provides its named exports to import', () => {
      expect(imported[specifier]).toEqual(functions);
    });

    if (requireFails) {
      it('refuses require with the message of the ESM-only package it imports', () => {
        expect(required[specifier]).toEqual({ error: expect.stringContaining(requireFails) });
      });
    } else {
      it('provides its named exports to require', () => {
        expect(required[specifier]).toEqual(functions);
      });

      it('gives import and require the very same classes and functions', () => {
        expect(sameClasses[specifier]).toEqual(Object.fromEntries(exports.map((name) => [name, true])));
      });
    }

    if (runner) {
      it(`runs the chosen conformance cases as ${runner.name} tests, each passing`, async () => {
        await expect(runRunner(specifier, runner)).resolves.toEqual(Object.fromEntries(RUNNER_CASES.map((id) => [id, 'passed'])));
      }, STEP_TIMEOUT_MS);
    }
  });

  it('installs the conformance CLI as a command that runs', () => {
    expect(existsSync(path.join(repo, 'conformance/cli.ts'))).toBe(true);
    const help = run(path.join(project, 'node_modules', '.bin', 'session-stores-conformance'), ['--help'], project);
    expect(help).toContain('Usage: session-stores-conformance <store-module>');
  });

  it('installs the tools as a command that runs', () => {
    const bin = path.join(project, 'node_modules', '.bin', 'session-stores');
    expect(run(bin, ['prune', '--help'], project)).toContain('Usage: session-stores prune <location>');
    expect(run(bin, ['copy', '--help'], project)).toContain('Usage: session-stores copy --from <location> --to <location>');
  });

  describe('the HTTP cases', () => {
    /** The command line on one HTTP case: its exit status and the reason column of that case. */
    function httpRun(): { status: number | null; line: string; stderr: string } {
      const cli = path.join(project, 'node_modules', '.bin', 'session-stores-conformance');
      const { status, stdout, stderr } = spawnSync(cli, ['store.cjs', '--http', '--filter', 'http-login-then-reload', '--no-color'], {
        cwd: project,
        encoding: 'utf8',
      });
      return { status, line: stdout.split('\n').find((text) => text.startsWith('http-login-then-reload')) ?? stdout, stderr };
    }

    beforeAll(() => {
      writeFileSync(
        path.join(project, 'store.cjs'),
        `const { MemoryStore } = require('session-stores/memory');
module.exports.createStore = async () => new MemoryStore();
`,
      );
    });

    it('come from express and supertest, optional peer dependencies of the package', () => {
      const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as {
        peerDependencies: Record<string, string>;
        peerDependenciesMeta: Record<string, { optional?: boolean }>;
      };
      for (const name of ['express', 'supertest']) {
        expect([name, typeof pkg.peerDependencies[name], pkg.peerDependenciesMeta[name]]).toEqual([name, 'string', { optional: true }]);
      }
    });

    it('stop the command line with one line naming them and status 2, running nothing, when the project has not installed them', () => {
      expect(httpRun()).toEqual({
        status: 2,
        line: '',
        stderr: expect.stringMatching(/^session-stores-conformance: the HTTP cases need express and supertest .*npm install --save-dev express supertest/),
      });
    }, STEP_TIMEOUT_MS);

    it('pass with the express and supertest the project installed', () => {
      for (const name of ['express', 'supertest']) {
        symlinkSync(path.join(repo, 'node_modules', name), path.join(project, 'node_modules', name), 'dir');
      }
      expect(httpRun()).toMatchObject({ status: 0, line: expect.stringMatching(/^http-login-then-reload +PASS/) });
    }, STEP_TIMEOUT_MS);
  });

  it('keeps instanceof SessionStoreError true across import and require', () => {
    writeFileSync(
      path.join(project, 'errors.mjs'),
      `import { createRequire } from 'node:module';
import { SessionStoreError } from 'session-stores';
import { MemoryStore } from 'session-stores/memory';
const require = createRequire(import.meta.url);
const fromRequire = require('session-stores');
const { MemoryStore: RequiredMemoryStore } = require('session-stores/memory');
const caught = (make) => { try { make(); } catch (error) { return error; } };
const importedError = caught(() => new MemoryStore({ ttl: 0 }));
const requiredError = caught(() => new RequiredMemoryStore({ ttl: 0 }));
console.log(JSON.stringify([
  importedError instanceof fromRequire.SessionStoreError,
  requiredError instanceof SessionStoreError,
  fromRequire.isSessionStoreError(importedError),
  importedError.code,
]));
`,
    );
    expect(node('errors.mjs')).toEqual([true, true, true, 'ERR_SESSION_OPTIONS']);
  });
});

describe('the packed type declarations', () => {
  const tsc = path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc');

  function consumerSource(): string {
    // Each entry's exports under a name of its own: the runner adapters all export runConformance.
    const local = (name: string, index: number) => `${name}_${index}`;
    const imports = ENTRIES.map(
      ({ specifier, exports }, index) => `import { ${exports.map((name) => `${name} as ${local(name, index)}`).join(', ')} } from '${specifier}';`,
    );
    const names = ENTRIES.flatMap(({ exports }, index) => exports.map((name) => local(name, index)));
    const adapters = ENTRIES.flatMap(({ runner }, index) => (runner ? [local('runConformance', index)] : []));
    return `${imports.join('\n')}
import { SessionStore, SessionStoreError } from 'session-stores';
import { MemoryStore } from 'session-stores/memory';
import type { ConformanceConfig } from 'session-stores/conformance';
const store: SessionStore = new MemoryStore({ ttl: 60_000 });
const isError: boolean = new SessionStoreError('ERR_SESSION_CLOSED', 'closed', { store: 'memory' }) instanceof Error;
const adapters: Array<(config: ConformanceConfig) => void> = [${adapters.join(', ')}];
export const loaded: unknown[] = [store, isError, adapters, ${names.join(', ')}];
`;
  }

  /** Writes a consumer project in `dir` and runs tsc on it: resolves when it type-checks, rejects with tsc's output. */
  function typecheck(dir: string, compilerOptions: Record<string, unknown>, files: Record<string, string>): Promise<void> {
    mkdirSync(dir, { recursive: true });
    for (const [file, text] of Object.entries(files)) writeFileSync(path.join(dir, file), text);
    writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        // skipLibCheck off: the package's own .d.ts files must check cleanly too.
        compilerOptions: { strict: true, noEmit: true, skipLibCheck: false, types: ['node'], target: 'ES2022', ...compilerOptions },
        files: Object.keys(files),
      }),
    );
    return new Promise<void>((resolve, reject) => {
      execFile(process.execPath, [tsc, '-p', path.join(dir, 'tsconfig.json')], { cwd: dir }, (error, stdout, stderr) =>
        error ? reject(new Error(`tsc (${path.basename(dir)}) failed:\n${stdout}${stderr}`)) : resolve(),
      );
    });
  }

  // One check at a time, each with the whole of jest's step bound: side by side they starve each other on a loaded machine.
  it('resolve under moduleResolution node16, from CommonJS and from ESM', async () => {
    const source = consumerSource();
    await typecheck(path.join(project, 'node16'), { module: 'node16', moduleResolution: 'node16' }, { 'consumer.cts': source, 'consumer.mts': source });
  }, STEP_TIMEOUT_MS);

  it('resolve under moduleResolution bundler', async () => {
    await typecheck(path.join(project, 'bundler'), { module: 'esnext', moduleResolution: 'bundler' }, { 'consumer.ts': consumerSource() });
  }, STEP_TIMEOUT_MS);

  it('resolve under moduleResolution node10, which ignores exports', async () => {
    await typecheck(
      path.join(project, 'node10'),
      { module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true, ignoreDeprecations: '6.0' },
      { 'consumer.ts': consumerSource() },
    );
  }, STEP_TIMEOUT_MS);

  describe.each(STORE_DRIVERS)('$specifier, in a project with $label', ({ specifier, packages, fails }) => {
    (fails === undefined ? it : it.failing)(`type-checks with no package of another store installed${fails ? ` (fails today: ${fails})` : ''}`, async () => {
      const dir = path.join(workDir, `only-${specifier.replace(/\W+/g, '-')}-${packages.map((name) => name.replace(/\W+/g, '-')).join('-') || 'none'}`);
      const modules = path.join(dir, 'node_modules');
      mkdirSync(path.join(modules, '@types'), { recursive: true });
      // A copy, not a link: TypeScript resolves a link's imports from where it points, the project that has every driver.
      cpSync(path.join(project, 'node_modules', 'session-stores'), path.join(modules, 'session-stores'), { recursive: true, dereference: true });
      const otherDrivers = new Set(ALL_DRIVER_PACKAGES.filter((name) => !packages.includes(name)));
      const types = readdirSync(path.join(repo, 'node_modules', '@types'))
        .map((name) => `@types/${name}`)
        .filter((name) => !otherDrivers.has(name) && !packages.includes(name));
      for (const name of ['express-session', ...types, ...packages]) {
        symlinkSync(path.join(repo, 'node_modules', name), path.join(modules, name), 'dir');
      }
      const entry = ENTRIES.find((e) => e.specifier === specifier)!;
      const source =
        specifier === 'session-stores/migrate'
          ? `import { MigratingStore, copySessions } from '${specifier}';
import type { Store } from 'express-session';
export const loaded: [abstract new (...args: never[]) => Store, typeof copySessions] = [MigratingStore, copySessions];
`
          : `import { ${entry.exports.join(', ')} } from '${specifier}';
import type { SessionStore } from 'session-stores';
export const loaded: Array<abstract new (...args: never[]) => SessionStore> = [${entry.exports.join(', ')}];
`;
      await typecheck(dir, { module: 'node16', moduleResolution: 'node16' }, { 'consumer.cts': source, 'consumer.mts': source });
    }, STEP_TIMEOUT_MS);
  });

  it('covers every store entry point with a project of its own', () => {
    const storeSpecifiers = ENTRIES.map((e) => e.specifier).filter((specifier) => /^session-stores\/(?!conformance)/.test(specifier));
    expect([...new Set(STORE_DRIVERS.map((d) => d.specifier))].sort()).toEqual(storeSpecifiers.sort());
  });
});
