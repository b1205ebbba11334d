import type { Store } from 'express-session';
import type { ConformanceConfig, RawRecord, StoreFactory, StoreFactoryOptions, StoreMethod, StoreSupport } from '../../conformance/types';
import { backendUrl, publishBackend, type BackendName } from './backends';

const HOUR_MS = 60 * 60 * 1000;

/** The base's primitives the raw hooks reach: below the codec, on storage keys. */
interface Backend {
  keyFor(sid: string): string;
  readRecord(key: string, now: number): RawRecord | null | undefined | Promise<RawRecord | null | undefined>;
  writeRecord(key: string, payload: string, expiresAt: number, now: number): unknown;
  settings: { now(): number };
}

const setUp = new WeakMap<Store, Promise<unknown>>();

/** The store's primitives, once its one-time setup (a table, an index) has run: a public call runs it, a primitive may not. */
async function backendOf(store: Store): Promise<Backend> {
  let ready = setUp.get(store);
  if (!ready) setUp.set(store, (ready = (store as unknown as { get(sid: string): Promise<unknown> }).get('raw-hook-setup')));
  await ready;
  return store as unknown as Backend;
}

/**
 * Stores `text` verbatim as the record of `sid`, live for an hour, through the store's own write
 * primitive (below the codec), so the corrupt-data cases can plant what no encoder would write.
 * For stores of this package only.
 */
export async function writeRawRecord(store: Store, sid: string, text: string): Promise<void> {
  const backend = await backendOf(store);
  const now = backend.settings.now();
  await backend.writeRecord(backend.keyFor(sid), text, now + HOUR_MS, now);
}

/** What the store's backend holds for `sid`, expired or not, through the store's own read primitive; null for nothing. */
export async function readRawRecord(store: Store, sid: string): Promise<RawRecord | null> {
  const backend = await backendOf(store);
  // Read as of instant 0, when every record the backend still holds is live.
  const record = await backend.readRecord(backend.keyFor(sid), 0);
  return record ? { payload: record.payload, expiresAt: record.expiresAt } : null;
}

/** The key the store's backend holds `sid`'s record under: namespaced, and hashed with `hashIds`. */
export function storageKeyOf(store: Store, sid: string): string {
  return (store as unknown as Backend).keyFor(sid);
}

/** The options every store of this package shares, taken from the conformance suite's. */
export function baseOptionsOf(options: StoreFactoryOptions) {
  return {
    ...(options.now !== undefined && { now: options.now }),
    ...(options.ttl !== undefined && { ttl: options.ttl }),
    ...(options.touchAfter !== undefined && { touchAfter: options.touchAfter }),
    ...(options.disableTouch !== undefined && { disableTouch: options.disableTouch }),
    ...(options.tombstoneTtl !== undefined && { tombstoneTtl: options.tombstoneTtl }),
    ...(options.maxLifetime !== undefined && { maxLifetime: options.maxLifetime }),
    ...(options.userOf !== undefined && { userOf: options.userOf }),
  };
}

/** Every store of this package honours every option of the suite and has every optional method. */
export const OWN_SUPPORTS: StoreSupport = { namespaces: true, sharedData: true, ttl: true, ttlFunction: true, touchAfter: true, disableTouch: true, tombstones: true, maxLifetime: true, userIndex: true };
export const OWN_METHODS: StoreMethod[] = ['all', 'ids', 'length', 'clear', 'touch', 'close', 'prune'];

/**
 * A store's `fixtures/factory.ts`, in the conformance CLI's shape (`session-stores-conformance
 * stores/<name>/fixtures/factory.ts` runs it as it is); `factoryModule` is the module itself, for
 * the case that loads it in a child process.
 */
export interface OwnFactory {
  name: string;
  clock: 'injectable' | 'real';
  supports: StoreSupport;
  methods: StoreMethod[];
  createStore: StoreFactory;
  writeRaw: NonNullable<ConformanceConfig['writeRaw']>;
  readRaw?: ConformanceConfig['readRaw'];
  teardown?: () => void | Promise<void>;
  factoryModule?: string;
}

/** The jest config of a factory: what the CLI runs on it, strict, HTTP cases included. */
export function conformanceOf(factory: OwnFactory, overrides: Partial<ConformanceConfig> = {}): ConformanceConfig {
  const { name, clock, supports, methods, createStore, writeRaw, readRaw, teardown, factoryModule } = factory;
  return { name, makeStore: createStore, clock, supports, methods, writeRaw, readRaw, teardown, factoryModule, strict: true, http: true, ...overrides };
}

type ServerBackend = Exclude<BackendName, 'sqlite'>;

const found = new Map<ServerBackend, Promise<string>>();

/**
 * The URL of the backend's server: the one the test setup found, else one found the same way
 * without starting any (its URL variable, a server on its default loopback port), then published
 * so that child processes get the same.
 */
export function serverUrl(name: ServerBackend): Promise<string> {
  const published = backendUrl(name);
  if (published !== undefined) return Promise.resolve(published);
  let url = found.get(name);
  if (!url) {
    url = (async () => {
      const { discoverBackend, isFound } = await import('./discovery');
      const discovery = await discoverBackend(name, { throwaway: false, containers: false });
      if (!isFound(discovery)) throw new Error(`no ${name} server: ${discovery.reason}`);
      publishBackend(name, discovery.url, discovery.server, discovery.lacks);
      return discovery.url;
    })();
    found.set(name, url);
  }
  return url;
}

/** Why the backend's server cannot be found (see `serverUrl`), or undefined when it can. */
export function serverProblem(name: ServerBackend): Promise<string | undefined> {
  return serverUrl(name).then(
    () => undefined,
    (error: unknown) => (error as Error).message,
  );
}
