/**
 * The stores, listed once. A store is its folder `stores/<name>/` (entry point `index.ts`,
 * published as `session-stores/<name>`) and one entry here; the build, package.json's exports,
 * the package test, test discovery, the bench and CI's required backends are derived from this list
 * or checked against it. Data only: the build, the bench and the tests import it without loading a driver.
 */

export interface Driver {
  /** The npm package, an optional peer dependency of session-stores. */
  package: string;
  /** Its type declarations, where it ships none: what a TypeScript user installs beside it. */
  types?: string;
  /** What its users call it, where that is not the package's name. */
  alias?: string;
}

/** How the tests find it; discovery (test/support/discovery.ts) probes it and starts a throwaway one, with code its type asks for per server. */
export interface Server {
  /** The environment variable that names the server to test against. */
  urlVariable: string;
  /** The port a server is looked for on, on loopback, when the variable is unset. */
  port: number;
}

export interface Store {
  name: string;
  /** The class `session-stores/<name>` exports. */
  className: string;
  /**
   * The driver packages, any one of which the store runs on. A store with a driver has a backend
   * that the tests find before they run: its server when it has one, else the driver loaded in process.
   */
  drivers: readonly Driver[];
  server?: Server;
}

export const STORES = [
  { name: 'memory', className: 'MemoryStore', drivers: [] },
  { name: 'sqlite', className: 'SqliteStore', drivers: [{ package: 'better-sqlite3', types: '@types/better-sqlite3' }] },
  {
    name: 'redis',
    className: 'RedisStore',
    drivers: [{ package: 'ioredis' }, { package: 'redis', alias: 'node-redis' }],
    server: { urlVariable: 'REDIS_URL', port: 6379 },
  },
  { name: 'postgres', className: 'PostgresStore', drivers: [{ package: 'pg', types: '@types/pg' }], server: { urlVariable: 'POSTGRES_URL', port: 5432 } },
  { name: 'mongo', className: 'MongoStore', drivers: [{ package: 'mongodb' }], server: { urlVariable: 'MONGO_URL', port: 27017 } },
  { name: 'mysql', className: 'MySqlStore', drivers: [{ package: 'mysql2' }], server: { urlVariable: 'MYSQL_URL', port: 3306 } },
] as const satisfies readonly Store[];

type StoreEntry = (typeof STORES)[number];
type BackendEntry = Extract<StoreEntry, { drivers: readonly [Driver, ...Driver[]] }>;
type ServerEntry = Extract<StoreEntry, { server: Server }>;

export type StoreName = StoreEntry['name'];
/** A store whose backend the tests find first: a name REQUIRE_BACKENDS takes. */
export type BackendName = BackendEntry['name'];
export type ServerName = ServerEntry['name'];

/** In the registry's order, which is the order discovery reports them in. */
export const BACKEND_NAMES: readonly BackendName[] = STORES.filter((store): store is BackendEntry => store.drivers.length > 0).map((store) => store.name);
export const SERVER_NAMES: readonly ServerName[] = STORES.filter((store): store is ServerEntry => 'server' in store).map((store) => store.name);

export function isServerName(name: string): name is ServerName {
  return (SERVER_NAMES as readonly string[]).includes(name);
}

export function serverOf(name: ServerName): Server {
  return STORES.find((store): store is ServerEntry => store.name === name)!.server;
}

export interface EntryPoint {
  /** As package.json's exports names it: `.` is `session-stores`, `./redis` is `session-stores/redis`. */
  subpath: string;
  /** The TypeScript source it is built from. */
  source: string;
  /** The named exports it provides, each a function or class. */
  exports: readonly string[];
  /**
   * Set when the entry imports a package that loads only with `import` (vitest): its ESM build is
   * its own source compiled to ESM, and its `require` condition is kept for TypeScript only.
   */
  esmOnly?: true;
}

export const ENTRY_POINTS: readonly EntryPoint[] = [
  { subpath: '.', source: 'shared/index.ts', exports: ['SessionStore', 'SessionStoreError', 'isSessionStoreError', 'validateIdentifier'] },
  ...STORES.map((store) => ({ subpath: `./${store.name}`, source: `stores/${store.name}/index.ts`, exports: [store.className] })),
  { subpath: './migrate', source: 'tools/index.ts', exports: ['MigratingStore', 'copySessions'] },
  { subpath: './conformance', source: 'conformance/index.ts', exports: ['runConformance', 'registerConformance', 'runCases'] },
  { subpath: './conformance/jest', source: 'conformance/jest.ts', exports: ['runConformance'] },
  { subpath: './conformance/vitest', source: 'conformance/vitest.ts', exports: ['runConformance'], esmOnly: true },
  { subpath: './conformance/node-test', source: 'conformance/node-test.ts', exports: ['runConformance'] },
];

export interface ExportTarget {
  import: { types: string; default: string };
  require: { types: string; default: string };
}

/** Where the build puts an entry point: tsc's CommonJS output, and an ESM module beside it in dist/esm. */
export function exportTarget(entry: EntryPoint): ExportTarget {
  const esm = `./dist/esm/${entry.subpath === '.' ? 'index' : entry.subpath.slice(2).replaceAll('/', '-')}`;
  const cjs = `./dist/cjs/${entry.source.replace(/\.ts$/, '')}`;
  return { import: { types: `${esm}.d.mts`, default: `${esm}.mjs` }, require: { types: `${cjs}.d.ts`, default: `${cjs}.js` } };
}

/** package.json's `exports` and `typesVersions` (for TypeScript's node10 resolution, which ignores exports), as `npm run exports` writes them. */
export function packageExports(): { exports: Record<string, ExportTarget | string>; typesVersions: { '*': Record<string, string[]> } } {
  const targets: Record<string, ExportTarget | string> = {};
  const typesVersions: Record<string, string[]> = {};
  for (const entry of ENTRY_POINTS) {
    const target = exportTarget(entry);
    targets[entry.subpath] = target;
    if (entry.subpath !== '.') typesVersions[entry.subpath.slice(2)] = [target.require.types.slice(2)];
  }
  targets['./package.json'] = './package.json';
  return { exports: targets, typesVersions: { '*': typesVersions } };
}
