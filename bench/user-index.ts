import type { SessionData } from 'express-session';
import type { SessionStore } from '../shared';
import { makeSession } from './harness';

/** The bench session's user (makeSession's user.id), as an app would name it with passport's session.passport.user. */
export const userOf = (data: SessionData) => (data as unknown as { user: { id: number } }).user.id;
/** Sessions of other users in the store, for sessionsOf and destroySessionsOf of one user of USER_SESSIONS. */
export const CROWDS = [1_000, 100_000];
const USER_SESSIONS = 10;
const USER_INDEX_RUNS = 50;
/** Untimed runs first: the first calls pay for compiling the code they run. */
const WARM_UP_RUNS = 5;
const USER = 'bench-user';

/** Where one crowd is measured: a store with `userOf`, on a backend already holding `crowd` sessions of other users, ten each. */
export interface CrowdedStore {
  store: SessionStore;
  /** Closes the store and removes the scratch place the crowd was written in. */
  drop(): Promise<void>;
}

/**
 * sessionsOf and destroySessionsOf of one user of USER_SESSIONS sessions, in a store that also
 * holds each of CROWDS sessions of other users: median times over USER_INDEX_RUNS, each
 * destroySessionsOf after the user's sessions were saved again. Their cost must follow the user's
 * sessions, not the store's.
 */
export async function measureUserIndex(
  crowded: (crowd: number) => Promise<CrowdedStore>,
  { runs = USER_INDEX_RUNS, warmUps = WARM_UP_RUNS } = {},
): Promise<string[]> {
  const lines: string[] = [];
  for (const crowd of CROWDS) {
    const { store, drop } = await crowded(crowd);
    try {
      const mine = { ...makeSession(), user: { id: USER } } as unknown as SessionData;
      const listMs: number[] = [];
      const destroyMs: number[] = [];
      for (let run = 0; run < warmUps + runs; run++) {
        await Promise.all(Array.from({ length: USER_SESSIONS }, (_, i) => store.set(`mine-${run}-${i}`, mine)));
        let started = performance.now();
        if ((await store.sessionsOf(USER)).length !== USER_SESSIONS) throw new Error('sessionsOf listed other sessions than the user has');
        const listed = performance.now() - started;
        started = performance.now();
        await store.destroySessionsOf(USER);
        const destroyed = performance.now() - started;
        // Where the index is kept apart (Redis), this drops the destroyed sessions' entries, so every run reads the same index.
        await store.sessionsOf(USER);
        if (run < warmUps) continue;
        listMs.push(listed);
        destroyMs.push(destroyed);
      }
      lines.push(
        `user index: one user of ${USER_SESSIONS} sessions among ${crowd.toLocaleString('en-US')} other sessions: ` +
          `sessionsOf median ${median(listMs)} ms, destroySessionsOf median ${median(destroyMs)} ms (${runs} runs)`,
      );
    } finally {
      await drop();
    }
  }
  return lines;
}

function median(values: number[]): string {
  return [...values].sort((a, b) => a - b)[values.length >> 1]!.toFixed(2);
}
