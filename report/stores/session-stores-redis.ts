import type { Store } from 'express-session';
import type { Redis } from 'ioredis';
import type { StoreFactoryOptions, StoreSupport } from '../../types';
import { baseOptions, loadOwn } from './own';
import { REDIS_URL, portAnswers, runAll, safeName } from './support';

export { writeRaw } from './own';

export const name = 'session-stores RedisStore';
export const clock = 'real';
export const supports: StoreSupport = { namespaces: true, ttl: true, touchAfter: true, disableTouch: true };

const load = () => loadOwn(() => require('../../../stores/redis') as typeof import('../../../stores/redis'));
let client: Redis | undefined;
const prefixes = new Set<string>();

export async function unavailable(): Promise<string | undefined> {
  return load().reason ?? ((await portAnswers(REDIS_URL, 6379)) ? undefined : `no Redis server answers at ${REDIS_URL}`);
}

export async function createStore(options: StoreFactoryOptions): Promise<Store> {
  const { module, reason } = load();
  if (!module) throw new Error(`session-stores/redis ${reason}`);
  const { Redis: RedisClient } = require('ioredis') as typeof import('ioredis');
  client ??= new RedisClient(REDIS_URL);
  const prefix = `${safeName(options.namespace, 'conformance')}:`;
  prefixes.add(prefix);
  return new module.RedisStore({ client, prefix, ...baseOptions(options) });
}

export async function teardown(): Promise<void> {
  const owned = client;
  client = undefined;
  if (!owned) return;
  await runAll([
    async () => {
      for (const prefix of prefixes) {
        let cursor = '0';
        do {
          const [next, keys] = await owned.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
          if (keys.length > 0) await owned.del(...keys);
          cursor = next;
        } while (cursor !== '0');
      }
      prefixes.clear();
    },
    () => owned.quit(),
  ]);
}
