/** Where the global setup leaves the stop functions of the servers it started; jest runs both in one process. */
export const STARTED_SERVERS = Symbol.for('session-stores.test.startedServers');
export type StartedServers = Array<() => Promise<void>>;

export default async function globalTeardown(): Promise<void> {
  const stops = ((globalThis as Record<symbol, unknown>)[STARTED_SERVERS] ?? []) as StartedServers;
  const results = await Promise.allSettled(stops.map((stop) => stop()));
  for (const result of results) {
    if (result.status === 'rejected') process.stderr.write(`[backends] a server did not stop: ${String(result.reason)}\n`);
  }
}
