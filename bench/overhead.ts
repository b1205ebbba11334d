/**
 * What the shared base costs per call, apart from any database: a store whose backend is an
 * in-process Map behind async primitives, against the same Map operation in an async function.
 * Run: npx tsx bench/overhead.ts
 */
import { SessionStore, type StoredSession } from '../shared';

class MapBackedStore extends SessionStore {
  private readonly records = new Map<string, StoredSession>();
  constructor(operationTimeout: number) {
    super('overhead', { operationTimeout });
  }
  protected async readRecord(key: string) {
    return this.records.get(key);
  }
  protected async writeRecord(key: string, payload: string, expiresAt: number) {
    this.records.set(key, { payload, expiresAt });
  }
  protected async extendRecord() {}
  protected async removeRecord(key: string) {
    this.records.delete(key);
  }
}

const CALLS = 400_000;
const CONCURRENCY = 64;

async function nanosecondsPerCall(call: (sid: string) => Promise<unknown>): Promise<number> {
  let issued = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (issued < CALLS) await call(`sid-${issued++ & 1023}`);
    }),
  );
  return Number(process.hrtime.bigint() - started) / CALLS;
}

async function main(): Promise<void> {
  const bounded = new MapBackedStore(3000);
  const unbounded = new MapBackedStore(Infinity);
  const raw = new Map<string, unknown>();
  const contenders: [string, (sid: string) => Promise<unknown>][] = [
    ['store.destroy (operationTimeout 3000)', (sid) => bounded.destroy(sid)],
    ['store.destroy (operationTimeout Infinity)', (sid) => unbounded.destroy(sid)],
    ['Map.delete in an async function', async (sid) => raw.delete(sid)],
  ];
  const best = new Map<string, number>();
  for (let round = 0; round < 3; round++) {
    for (const [name, call] of contenders) best.set(name, Math.min(best.get(name) ?? Infinity, await nanosecondsPerCall(call)));
  }
  for (const [name, ns] of best) console.log(`${name.padEnd(44)} ${ns.toFixed(0).padStart(5)} ns/call`);
}

void main();
