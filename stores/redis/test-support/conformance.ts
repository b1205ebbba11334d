import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { ConformanceConfig, StoreFactoryOptions } from '../../../conformance/types';
import { baseOptionsOf, writeRawRecord } from '../../../test/support/own-stores';
import { RedisStore, type RedisClient } from '..';

/**
 * The conformance config of RedisStore on `client`: every store of the run shares the client under
 * a prefix unique to the run, and the run deletes its keys at the end.
 */
export function redisConformance(
  name: string,
  client: () => RedisClient,
  { childProcess = true, clock = 'injectable' as ConformanceConfig['clock'] } = {},
): ConformanceConfig {
  const runPrefix = `test:conformance:${randomBytes(6).toString('hex')}:`;
  return {
    name,
    makeStore: (options: StoreFactoryOptions) =>
      new RedisStore<RedisClient>({
        client: client(),
        prefix: `${runPrefix}${options.namespace ?? 'default'}:`,
        ...baseOptionsOf(options),
      }),
    clock,
    supports: { namespaces: true, ttl: true, ttlFunction: true, touchAfter: true, disableTouch: true },
    strict: true,
    writeRaw: writeRawRecord,
    // The child-process case needs a store that opens its own client, and `url` opens a single node only.
    ...(childProcess ? { factoryModule: path.join(__dirname, 'conformance-factory.ts') } : {}),
    teardown: async () => {
      const sweeper = new RedisStore<RedisClient>({ client: client(), prefix: runPrefix });
      await sweeper.clear();
      await sweeper.close();
    },
  };
}
