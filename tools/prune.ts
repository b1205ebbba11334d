import { callStore, hasMethod } from './calls';
import { openStore, type LocationFlags } from './open-store';

export interface PruneOutcome {
  label: string;
  /** Sessions deleted, or with `dryRun` the expired sessions that a prune would delete now. */
  count: number;
}

/** A store cannot do what was asked of it; reported in one line, exit status 1. */
export class ToolError extends Error {}

/**
 * Prunes the store at `location` once, through its own prune() (bounded batches, only expired
 * sessions of its own namespace, after its layout check), then closes it.
 */
export async function pruneLocation(location: string, flags: LocationFlags, dryRun: boolean): Promise<PruneOutcome> {
  let frozenAt: number | undefined;
  const clock = dryRun ? () => frozenAt ?? Date.now() : undefined;
  const opened = await openStore(location, flags, 'read', clock);
  try {
    const { store } = opened;
    if (dryRun) {
      if (!hasMethod(store, 'length')) throw new ToolError(`${opened.label}: the store has no length(), so --dry-run cannot count`);
      // Seen from the epoch every record is live; the difference with now is what has expired.
      frozenAt = 0;
      const stored = await callStore<number>(store, 'length');
      frozenAt = undefined;
      const live = await callStore<number>(store, 'length');
      return { label: opened.label, count: Math.max(0, stored - live) };
    }
    if (!hasMethod(store, 'prune')) throw new ToolError(`${opened.label}: the store has no prune()`);
    const removed = await callStore<unknown>(store, 'prune');
    return { label: opened.label, count: typeof removed === 'number' ? removed : 0 };
  } finally {
    await opened.close();
  }
}
