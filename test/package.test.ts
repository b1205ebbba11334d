import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The published package as a user gets it: `npm pack` (which builds), the tarball installed in a
 * fresh project, and every entry point loaded by `import`, by `require` and by TypeScript.
 */

const repo = path.resolve(__dirname, '..');

interface Entry {
  specifier: string;
  /** The source file the entry is built from. */
  source: string;
  /** Named exports the entry must provide, each a function or class. */
  exports: string[];
}

const ENTRIES: Entry[] = [
  { specifier: 'session-stores', source: 'shared/index.ts', exports: ['SessionStore', 'SessionStoreError', 'isSessionStoreError', 'validateIdentifier'] },
  { specifier: 'session-stores/memory', source: 'stores/memory/index.ts', exports: ['MemoryStore'] },
  { specifier: 'session-stores/sqlite', source: 'stores/sqlite/index.ts', exports: ['SqliteStore'] },
  { specifier: 'session-stores/redis', source: 'stores/redis/index.ts', exports: ['RedisStore'] },
  { specifier: 'session-stores/postgres', source: 'stores/postgres/index.ts', exports: ['PostgresStore'] },
  { specifier: 'session-stores/mongo', source: 'stores/mongo/index.ts', exports: ['MongoStore'] },
  { specifier: 'session-stores/conformance', source: 'conformance/index.ts', exports: ['registerConformance', 'runCases'] },
];

/** Peer dependencies (and the type packages a TypeScript user would have) linked from this repo's node_modules. */
const LINKED_MODULES = ['express-session', 'better-sqlite3', 'ioredis', 'pg', 'mongodb', '@types'];

type LoadReport = Record<string, Record<string, string>>;

let workDir: string;
let project: string;
let packedFiles: string[];
let imported: LoadReport;
let required: LoadReport;
let sameClasses: Record<string, Record<string, boolean>>;

function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 90_000 });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stdout ?? ''}\n${stderr ?? ''}`);
  }
}

function node(file: string): unknown {
  return JSON.parse(run(process.execPath, [file], project));
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
  writeFileSync(
    path.join(project, 'load.mjs'),
    `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const imported = {}, same = {};
for (const { specifier, exports } of ${table}) {
  const esm = await import(specifier);
  const cjs = require(specifier);
  imported[specifier] = Object.fromEntries(exports.map((name) => [name, typeof esm[name]]));
  same[specifier] = Object.fromEntries(exports.map((name) => [name, esm[name] === cjs[name]]));
}
console.log(JSON.stringify({ imported, same }));
`,
  );
  writeFileSync(
    path.join(project, 'load.cjs'),
    `const required = {};
for (const { specifier, exports } of ${table}) {
  const cjs = require(specifier);
  required[specifier] = Object.fromEntries(exports.map((name) => [name, typeof cjs[name]]));
}
console.log(JSON.stringify(required));
`,
  );
  const esmReport = node('load.mjs') as { imported: LoadReport; same: Record<string, Record<string, boolean>> };
  imported = esmReport.imported;
  sameClasses = esmReport.same;
  required = node('load.cjs') as LoadReport;
}, 120_000);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('builds every entry point from a source file of this repository', () => {
    expect(ENTRIES.filter((entry) => !existsSync(path.join(repo, entry.source))).map((entry) => entry.source)).toEqual([]);
  });

  it('lists every entry point of this table in package.json exports, and no other', () => {
    const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    const subpaths = Object.keys(pkg.exports).filter((subpath) => subpath !== './package.json');
    expect(subpaths.map((subpath) => `session-stores${subpath.slice(1)}`).sort()).toEqual(ENTRIES.map((e) => e.specifier).sort());
  });

  it('ships the built code and no TypeScript sources, tests or report tooling', () => {
    expect(packedFiles).toContain('dist/cjs/shared/index.js');
    expect(packedFiles).toContain('dist/esm/index.mjs');
    expect(packedFiles.filter((file) => /\.test\.|(^|\/)[^/]+\.ts$/.test(file) && !file.endsWith('.d.ts'))).toEqual([]);
    expect(packedFiles.filter((file) => /test-support|fixtures|conformance\/report\/stores/.test(file))).toEqual([]);
  });

  it('ships every file that README.md links to', () => {
    const readme = readFileSync(path.join(repo, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(((?:stores|conformance|shared)\/[^)#]+)\)/g)].map((match) => match[1]);
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((link) => !packedFiles.includes(link))).toEqual([]);
  });

  describe.each(ENTRIES)('$specifier', ({ specifier, exports }) => {
    it('provides its named exports to import', () => {
      expect(imported[specifier]).toEqual(Object.fromEntries(exports.map((name) => [name, 'function'])));
    });

    it('provides its named exports to require', () => {
      expect(required[specifier]).toEqual(Object.fromEntries(exports.map((name) => [name, 'function'])));
    });

    it('gives import and require the very same classes and functions', () => {
      expect(sameClasses[specifier]).toEqual(Object.fromEntries(exports.map((name) => [name, true])));
    });
  });

  it('installs the conformance CLI as a command that runs', () => {
    expect(existsSync(path.join(repo, 'conformance/cli.ts'))).toBe(true);
    const help = run(path.join(project, 'node_modules', '.bin', 'session-stores-conformance'), ['--help'], project);
    expect(help).toContain('Usage: session-stores-conformance <store-module>');
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
  const checks = new Map<string, Promise<void>>();

  function consumerSource(): string {
    const imports = ENTRIES.map(({ specifier, exports }) => `import { ${exports.join(', ')} } from '${specifier}';`);
    const names = ENTRIES.flatMap(({ exports }) => exports);
    return `${imports.join('\n')}
const store: SessionStore = new MemoryStore({ ttl: 60_000 });
const isError: boolean = new SessionStoreError('ERR_SESSION_CLOSED', 'closed', { store: 'memory' }) instanceof Error;
export const loaded: unknown[] = [store, isError, ${names.join(', ')}];
`;
  }

  /** Starts tsc on a consumer project; the checks run side by side, each case awaits its own. */
  function typecheck(name: string, compilerOptions: Record<string, unknown>, files: Record<string, string>): void {
    const dir = path.join(project, name);
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
    const check = new Promise<void>((resolve, reject) => {
      execFile(process.execPath, [tsc, '-p', path.join(dir, 'tsconfig.json')], { cwd: dir, timeout: 90_000 }, (error, stdout, stderr) =>
        error ? reject(new Error(`tsc (${name}) failed:\n${stdout}${stderr}`)) : resolve(),
      );
    });
    check.catch(() => undefined);
    checks.set(name, check);
  }

  beforeAll(() => {
    const source = consumerSource();
    typecheck('node16', { module: 'node16', moduleResolution: 'node16' }, { 'consumer.cts': source, 'consumer.mts': source });
    typecheck('bundler', { module: 'esnext', moduleResolution: 'bundler' }, { 'consumer.ts': source });
    typecheck(
      'node10',
      { module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true, ignoreDeprecations: '6.0' },
      { 'consumer.ts': source },
    );
  });

  it('resolve under moduleResolution node16, from CommonJS and from ESM', () => checks.get('node16')!, 90_000);

  it('resolve under moduleResolution bundler', () => checks.get('bundler')!, 90_000);

  it('resolve under moduleResolution node10, which ignores exports', () => checks.get('node10')!, 90_000);
});
