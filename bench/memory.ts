import session from 'express-session';
import { MemoryStore } from '../stores/memory';
import { AT_REST_NOTE, withAtRestVariants, type AtRestOptions } from './at-rest';
import { callbackOperationsOf, operationsOf, type BenchSuite, type CallbackStore, type Contender } from './harness';

/** MemoryStore: no I/O at all, so what the base and each option cost shows unhidden by any round trip. */
function ours(name: string, options: AtRestOptions): Contender {
  let store: MemoryStore;
  return {
    name,
    kind: 'ours',
    async setup() {
      store = new MemoryStore({ pruneInterval: 0, ...options });
    },
    ...operationsOf(() => store),
    teardown: () => store.close(),
  };
}

/** express-session's own MemoryStore, which also keeps each session as JSON text. */
function expressSessionMemoryStore(): Contender {
  let store: CallbackStore;
  return {
    name: "express-session's MemoryStore",
    kind: 'alternative',
    async setup() {
      store = new session.MemoryStore() as unknown as CallbackStore;
    },
    ...callbackOperationsOf(() => store),
    async teardown() {},
  };
}

export default function memorySuite(): BenchSuite {
  const version = (require('express-session/package.json') as { version: string }).version;
  return {
    name: 'memory',
    contenders: [...withAtRestVariants('MemoryStore', ours), expressSessionMemoryStore()],
    notes: [`express-session ${version}; both stores in this process, MemoryStore's reaper off`, AT_REST_NOTE],
  };
}
