import { runConformance } from 'session-stores/conformance/node-test';
import { MemoryStore } from 'session-stores/memory';

runConformance({
  name: 'MemoryStore',
  makeStore: (options) =>
    new MemoryStore({ now: options.now, ttl: options.ttl, touchAfter: options.touchAfter, disableTouch: options.disableTouch }),
  clock: 'injectable',
  supports: { namespaces: true, ttl: true, touchAfter: true, disableTouch: true },
});
