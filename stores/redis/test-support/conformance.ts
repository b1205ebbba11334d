import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { ConformanceConfig, StoreFactoryOptions } from '../../../conformance/types';
import { RedisStore, type RedisClient } from '..';

const HOUR_MS = 60 * 60 * 1000;

/** A RedisStore that can plant a raw value, so the corrupt-data cases can run. */
class RawRedisStore extends RedisStore<RedisClient> {
  async writeRaw(sid: string, text: string): Promise<void> {
    await this.commands.setPxat(this.keyFor(sid), text, this.settings.now() + HOUR_MS);
  }
}

/**
 * The conformance config of RedisStore on `client`: every store of the run shares the client under
 * a prefix unique to the run, and the run deletes its keys at the end.
 */
export function redisConformance(name: string, client: () => RedisClient, { childProcess = true } = {}): ConformanceConfig {
  const runPrefix = `test:conformance:${randomBytes(6).toString('hex')}:`;
  return {
    name,
    makeStore: (options: StoreFactoryOptions) =>
      new RawRedisStore({
        client: client(),
        prefix: `${runPrefix}${options.namespace ?? 'default'}:`,
        now: options.now,
        ttl: options.ttl,
        touchAfter: options.touchAfter,
        disableTouch: options.disableTouch,
      }),
    clock: 'injectable',
    supports: { namespaces: true, ttl: true, ttlFunction: true, touchAfter: true, disableTouch: true },
    strict: true,
    writeRaw: (store, sid, text) => (store as RawRedisStore).writeRaw(sid, text),
    // The child-process case needs a store that opens its own client, and `url` opens a single node only.
    ...(childProcess ? { factoryModule: path.join(__dirname, 'conformance-factory.ts') } : {}),
    teardown: async () => {
      const sweeper = new RedisStore<RedisClient>({ client: client(), prefix: runPrefix });
      await sweeper.clear();
      await sweeper.close();
    },
  };
}
