import type { Store } from 'express-session';
import type { StoreFactoryOptions, StoreSupport } from '../../types';
import { baseOptions, loadOwn } from './own';
import { TempDir, safeName } from './support';

export { writeRaw } from './own';

export const name = 'session-stores SqliteStore';
export const clock = 'real';
export const supports: StoreSupport = { namespaces: true, ttl: true, touchAfter: true, disableTouch: true };

const load = () => loadOwn(() => require('../../../stores/sqlite') as typeof import('../../../stores/sqlite'));
const dir = new TempDir('sqlite');

export async function unavailable(): Promise<string | undefined> {
  return load().reason;
}

export async function createStore(options: StoreFactoryOptions): Promise<Store> {
  const { module, reason } = load();
  if (!module) throw new Error(`session-stores/sqlite ${reason}`);
  // A file the store opens and closes itself; a namespace is a table in it.
  return new module.SqliteStore({ filename: dir.file('sessions.db'), tableName: safeName(options.namespace, 'sessions'), ...baseOptions(options) });
}

export async function teardown(): Promise<void> {
  dir.remove();
}
