import type { Store } from 'express-session';
import { Redis } from 'ioredis';
import type { StoreFactoryOptions } from '../../conformance/types';
import { redisConformance } from '../../stores/redis/fixtures/conformance';
import { REDIS_URL, portAnswers } from './support';

export const name = 'session-stores RedisStore';
export const clock = 'real';

let client: Redis | undefined;
// Every store of the run shares one ioredis client under a prefix unique to the run; the teardown deletes that prefix's keys.
const config = redisConformance(name, () => (client ??= new Redis(REDIS_URL)), { childProcess: false, clock });

export const supports = config.supports!;
export const writeRaw = config.writeRaw!;

export async function unavailable(): Promise<string | undefined> {
  return (await portAnswers(REDIS_URL, 6379)) ? undefined : `no Redis server answers at ${REDIS_URL}`;
}

export async function createStore(options: StoreFactoryOptions): Promise<Store> {
  return config.makeStore(options);
}

export async function teardown(): Promise<void> {
  if (!client) return;
  try {
    await config.teardown?.();
  } finally {
    await client.quit();
    client = undefined;
  }
}
