import { after, before, describe, it } from 'node:test';
import { runConformance } from 'session-stores/conformance';
import { MemoryStore } from 'session-stores/memory';

// Any runner with describe / it / before / after fits; node:test stands in for one here.
runConformance({
  name: 'MemoryStore',
  makeStore: (options) =>
    new MemoryStore({ now: options.now, ttl: options.ttl, touchAfter: options.touchAfter, disableTouch: options.disableTouch }),
  clock: 'injectable',
  supports: { namespaces: true, ttl: true, touchAfter: true, disableTouch: true },
  test: {
    describe: (name, body) => void describe(name, body),
    test: (name, body, timeoutMs) => void it(name, { timeout: timeoutMs }, (t) => body((reason) => t.skip(reason))),
    skipped: (name) => void it(name, { skip: true }, () => undefined),
    beforeAll: (body, timeoutMs) => before(body, { timeout: timeoutMs }),
    afterAll: (body, timeoutMs) => after(body, { timeout: timeoutMs }),
  },
});
