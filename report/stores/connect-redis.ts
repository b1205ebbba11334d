import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import type { Store } from 'express-session';
import type { StoreFactoryOptions, StoreSupport } from '../../conformance/types';
import { REDIS_URL, packageTitle, portAnswers, runAll, safeName, toSeconds } from './support';

export const name = packageTitle('connect-redis');
export const clock = 'real';
/** `prefix` isolates namespaces; `ttl` is in seconds; no `touchAfter`. */
export const supports: StoreSupport = { namespaces: true, ttl: true, ttlFunction: false, disableTouch: true };

type Client = ReturnType<typeof createClient>;
let client: Promise<Client> | undefined;
const prefixes = new Set<string>();

export async function unavailable(): Promise<string | undefined> {
  return (await portAnswers(REDIS_URL, 6379)) ? undefined : `no Redis server answers at ${REDIS_URL}`;
}

function sharedClient(): Promise<Client> {
  // The README's setup: one connected node-redis client shared by the app.
  client ??= createClient({ url: REDIS_URL }).connect() as Promise<Client>;
  return client;
}

export async function createStore(options: StoreFactoryOptions): Promise<RedisStore> {
  const prefix = `${safeName(options.namespace, 'conformance')}:`;
  prefixes.add(prefix);
  return new RedisStore({
    client: await sharedClient(),
    prefix,
    ...(typeof options.ttl === 'number' && { ttl: toSeconds(options.ttl) }),
    ...(options.disableTouch !== undefined && { disableTouch: options.disableTouch }),
  });
}

/** Its sessions are JSON strings at `prefix + sid`. */
export async function writeRaw(store: Store, sid: string, text: string): Promise<void> {
  const { client: redis, prefix } = store as RedisStore;
  await redis.set(prefix + sid, text, { expiration: { type: 'EX', value: 3600 } });
}

export async function teardown(): Promise<void> {
  if (!client) return;
  const redis = await client;
  client = undefined;
  await runAll([
    async () => {
      for (const prefix of prefixes) {
        for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
          if (keys.length > 0) await redis.del(keys);
        }
      }
      prefixes.clear();
    },
    () => redis.quit(),
  ]);
}
