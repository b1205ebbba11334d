import { SqliteStore } from '..';

/**
 * Writes `<own>-<i>` sessions through `store`, then waits (up to 10 s) until it reads every
 * `<other>-<i>` session written by another process; returns how many it read intact.
 */
export async function exchange(store: SqliteStore, own: string, other: string, count: number): Promise<number> {
  for (let i = 0; i < count; i++) {
    await store.set(`${own}-${i}`, { cookie: { originalMaxAge: null }, writer: own, i } as never);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const deadline = Date.now() + 10_000;
  let seen: Array<Record<string, unknown> | null> = [];
  do {
    seen = (await Promise.all(Array.from({ length: count }, (_, i) => store.get(`${other}-${i}`)))) as typeof seen;
    if (seen.every((session) => session !== null)) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  } while (Date.now() < deadline);
  return seen.filter((session, i) => session?.writer === other && session.i === i).length;
}

// As a child process: `node -r esbuild-register exchange.ts <file> <own> <other> <count>` prints `{"read":n}`.
if (require.main === module) {
  const [filename, own, other, count] = process.argv.slice(2);
  const store = new SqliteStore({ filename: filename!, pruneInterval: 0 });
  exchange(store, own!, other!, Number(count))
    .then(async (read) => {
      process.stdout.write(JSON.stringify({ read }));
      await store.close();
    })
    .catch((error: unknown) => {
      process.stderr.write(String((error as Error)?.stack ?? error));
      process.exitCode = 1;
    });
}
