import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BACKEND_NAMES, ENTRY_POINTS, SERVER_NAMES, STORES, exportTarget, packageExports, serverOf, type Store } from '../scripts/registry';

/** What package.json, README and CI say, checked against the registry of stores (scripts/registry.ts). */

const repo = path.resolve(__dirname, '..');
const read = (file: string) => readFileSync(path.join(repo, file), 'utf8');
const pkg = JSON.parse(read('package.json')) as {
  main: string;
  types: string;
  exports: unknown;
  typesVersions: unknown;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};
const stores: readonly Store[] = STORES;
/** Peer dependencies that no store drives: the session middleware, and what the HTTP conformance cases run on. */
const OTHER_PEERS = ['express', 'express-session', 'supertest'];

describe('the registry of stores', () => {
  it('gives package.json the exports and typesVersions that `npm run exports` writes from it', () => {
    // As text: the order of conditions is part of what Node and TypeScript read.
    const text = (value: unknown) => JSON.stringify(value, null, 2);
    expect(text({ exports: pkg.exports, typesVersions: pkg.typesVersions })).toBe(text(packageExports()));
  });

  it("gives package.json's main and types, for tools that read no exports, the root entry point's CommonJS build", () => {
    const root = exportTarget(ENTRY_POINTS.find((entry) => entry.subpath === '.')!);
    expect({ main: pkg.main, types: pkg.types }).toEqual({ main: root.require.default, types: root.require.types });
  });

  it('builds every entry point from a source file of this repository, each store from its own folder', () => {
    expect(ENTRY_POINTS.filter((entry) => !existsSync(path.join(repo, entry.source))).map((entry) => entry.source)).toEqual([]);
    expect(stores.map((store) => ENTRY_POINTS.find((entry) => entry.subpath === `./${store.name}`)?.source)).toEqual(
      stores.map((store) => `stores/${store.name}/index.ts`),
    );
  });

  it('makes every driver an optional peer dependency, and names every other peer dependency here', () => {
    const drivers = stores.flatMap((store) => store.drivers.map((driver) => driver.package));
    expect(drivers.filter((name) => pkg.peerDependencies[name] === undefined || pkg.peerDependenciesMeta[name]?.optional !== true)).toEqual([]);
    expect(Object.keys(pkg.peerDependencies).filter((name) => !drivers.includes(name) && !OTHER_PEERS.includes(name))).toEqual([]);
  });

  it('is what CI and README require: every backend the tests find, in the order discovery reports them', () => {
    const command = `REQUIRE_BACKENDS=${BACKEND_NAMES.join(',')} npm test`;
    for (const file of ['.ci/run', 'README.md']) {
      const text = read(file);
      expect([file, text.includes(command)]).toEqual([file, true]);
      const lists = new Set([...text.matchAll(/REQUIRE_BACKENDS=([\w,]+)/g)].map((match) => match[1]));
      expect([file, [...lists]]).toEqual([file, [BACKEND_NAMES.join(',')]]);
    }
  });

  it("gives README's install table one row per store: its class, its entry point and its drivers", () => {
    const rows = [...read('README.md').matchAll(/^\| (\w+) \| `session-stores\/(\w+)` \| ([^|]*) \|/gm)].map(([, className, name, drivers]) => ({
      className,
      name,
      drivers: [...drivers.matchAll(/`([^`]+)`/g)].map((match) => match[1]),
    }));
    expect(rows).toEqual(stores.map(({ className, name, drivers }) => ({ className, name, drivers: drivers.map((driver) => driver.package) })));
  });

  it("gives README's first discovery step every server's URL variable", () => {
    const variables = SERVER_NAMES.map((name) => `\`${serverOf(name).urlVariable}\``);
    expect(read('README.md')).toContain(`1. the URL in ${variables.slice(0, -1).join(', ')} or ${variables.at(-1)};`);
  });
});
