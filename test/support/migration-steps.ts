import type { SessionData } from 'express-session';
import type { SessionStore } from '../../shared';

/**
 * A store on a table of an earlier layout with createTable false: it refuses every call, naming the
 * statements left to run (the columns, then the owner index), until `run` has run each of them; then
 * it stores and reads `session`.
 */
export async function expectRefusalUntilMigrated(store: SessionStore, statements: [columns: string, ownerIndex: string], run: (sql: string) => Promise<unknown>, session: SessionData): Promise<void> {
  await expect(store.get('a')).rejects.toMatchObject({
    code: 'ERR_SESSION_BACKEND',
    message: expect.stringContaining(`lacks created_at, owner, the index on owner and createTable is false: run ${statements.join('; ')}`),
  });
  await run(statements[0]);
  await expect(store.get('a')).rejects.toMatchObject({ message: expect.stringContaining(`lacks the index on owner and createTable is false: run ${statements[1]}`) });
  await run(statements[1]);
  await store.set('a', session);
  expect(await store.get('a')).toEqual(session);
}
