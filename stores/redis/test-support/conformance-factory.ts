import { randomBytes } from 'node:crypto';
import type { StoreFactoryOptions } from '../../../conformance/types';
import { backendUrl } from '../../../test/support/backends';
import { RedisStore } from '..';

/** A RedisStore factory in a module of its own, for the conformance cases that load it in a child process. */
export function createStore(options: StoreFactoryOptions): RedisStore {
  const url = backendUrl('redis');
  if (url === undefined) throw new Error('no redis backend URL in the environment');
  return new RedisStore({
    url,
    prefix: `test:conformance-child:${randomBytes(6).toString('hex')}:${options.namespace ?? 'default'}:`,
    now: options.now,
    ttl: options.ttl,
    touchAfter: options.touchAfter,
    disableTouch: options.disableTouch,
  });
}
