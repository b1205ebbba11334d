import assert from 'node:assert/strict';
import type { Store } from 'express-session';
import { isError } from '../describe-error';
import type { CaseContext, ConformanceCase, RawRecord } from '../types';
import { assertMissing, assertNoProblems, assertPresent, preview } from './support';

// What a copy of the database gives away: for a store that declares hashed ids or encrypted payloads, neither ids nor session data.

const MARKER = 'AT-REST-MARKER-5e1f';

async function storedRecord(ctx: CaseContext, store: Store, sid: string): Promise<RawRecord> {
  const record = (await ctx.config.readRaw!(store, sid)) ?? null;
  assert.ok(record !== null, 'after set(), the backend holds no record for the sid');
  return record;
}

/** The stored payload of `sid`, which an encrypting store writes as a string. */
async function storedPayload(ctx: CaseContext, store: Store, sid: string): Promise<string> {
  const { payload } = await storedRecord(ctx, store, sid);
  assert.equal(typeof payload, 'string', 'the stored payload is not a string');
  return payload as string;
}

/** Problems with what get() answered for a record that must not load: an Error or no session, never a session. */
async function refusedRead(ctx: CaseContext, store: Store, sid: string, what: string): Promise<string[]> {
  const answer = await ctx.call(store, 'get', sid).then(
    (value: unknown) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if ('error' in answer) return isError(answer.error) ? [] : [`${what}: get() failed with ${preview(answer.error)}, not an Error`];
  return answer.value === null || answer.value === undefined ? [] : [`${what}: get() called back a session (${preview(answer.value).length} characters)`];
}

/** `payload` with one character in its second half changed, so its length and any header stay as they were. */
function altered(payload: string): string {
  const at = Math.floor((payload.length * 3) / 4);
  const swapped = payload[at] === 'A' ? 'B' : 'A';
  return payload.slice(0, at) + swapped + payload.slice(at + 1);
}

export const atRestCases: ConformanceCase[] = [
  {
    id: 'listings-never-show-a-hashed-session-id',
    group: 'ids',
    level: 'recommended',
    needs: ['hashedIds', 'namespaces', 'ids', 'all'],
    rule: 'With hashed ids, ids(), all() and sessions() list one entry per session, and none of them holds the session id.',
    async run(ctx) {
      const store = await ctx.isolatedStore();
      const sids = [ctx.sid('hashed'), ctx.sid('hashed')];
      for (const sid of sids) await ctx.call(store, 'set', sid, ctx.session({ marker: MARKER }));
      const listed: Array<[string, unknown[]]> = [
        ['ids()', await ctx.call<unknown[]>(store, 'ids')],
        ['all()', Object.keys((await ctx.call<object>(store, 'all')) ?? {})],
      ];
      const iterate = (store as unknown as { sessions?: () => AsyncIterable<{ id: unknown }> }).sessions;
      if (typeof iterate === 'function') {
        const ids: unknown[] = [];
        for await (const { id } of iterate.call(store)) ids.push(id);
        listed.push(['sessions()', ids]);
      }
      const problems: string[] = [];
      for (const [method, ids] of listed) {
        if (!Array.isArray(ids) || ids.length !== sids.length) problems.push(`${method} listed ${Array.isArray(ids) ? ids.length : preview(ids)} entries for ${sids.length} sessions`);
        else if (ids.some((id) => sids.some((sid) => String(id).includes(sid)))) problems.push(`${method} lists a session id`);
      }
      assertNoProblems(problems);
    },
  },
  {
    id: 'a-listed-storage-id-is-no-session-id',
    group: 'ids',
    level: 'recommended',
    needs: ['hashedIds', 'namespaces', 'ids'],
    rule: 'With hashed ids, get() of an id that ids() listed never answers the session (a copy of the database must not give a usable id), and destroy() of it removes the session.',
    async run(ctx) {
      const store = await ctx.isolatedStore();
      const sid = ctx.sid('hashed');
      await ctx.call(store, 'set', sid, ctx.session({ marker: MARKER }));
      const [listed] = await ctx.call<unknown[]>(store, 'ids');
      assert.ok(typeof listed === 'string', `ids() listed ${preview(listed)}`);
      assertNoProblems(await refusedRead(ctx, store, listed, 'the listed id'));
      assertPresent(await ctx.call(store, 'get', sid), 'get() of the session id after get() of the listed one');
      await ctx.call(store, 'destroy', listed);
      assertMissing(await ctx.call(store, 'get', sid), 'get() of the session id after destroy() of its listed id');
    },
  },
  {
    id: 'the-stored-payload-holds-neither-data-nor-id',
    group: 'basics',
    level: 'recommended',
    needs: ['encryptedPayloads', 'readRaw'],
    rule: 'With encrypted payloads, what the backend holds for a session contains neither its data nor its id.',
    async run(ctx) {
      const store = await ctx.store();
      const sid = ctx.sid('sealed');
      await ctx.call(store, 'set', sid, ctx.session({ marker: MARKER, user: 'ana-at-rest' }));
      const { payload } = await storedRecord(ctx, store, sid);
      const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
      const problems = [
        ...(text.includes(MARKER) || text.includes('ana-at-rest') ? ['the stored payload holds the session data in plaintext'] : []),
        ...(text.includes(sid) ? ['the stored payload holds the session id'] : []),
      ];
      assertNoProblems(problems);
    },
  },
  {
    id: 'saving-a-session-twice-stores-two-payloads',
    group: 'basics',
    level: 'recommended',
    needs: ['encryptedPayloads', 'readRaw'],
    rule: 'With encrypted payloads, set() of the same session twice stores two different payloads (a fresh nonce each time), so equal sessions cannot be told apart.',
    async run(ctx) {
      const store = await ctx.store();
      const sid = ctx.sid('sealed');
      const session = ctx.session({ marker: MARKER });
      await ctx.call(store, 'set', sid, session);
      const first = await storedRecord(ctx, store, sid);
      await ctx.call(store, 'set', sid, session);
      const second = await storedRecord(ctx, store, sid);
      assert.notDeepStrictEqual(second.payload, first.payload, 'the two payloads are the same');
    },
  },
  {
    id: 'a-payload-copied-to-another-id-never-loads',
    group: 'errors',
    level: 'recommended',
    needs: ['encryptedPayloads', 'readRaw', 'writeRaw'],
    rule: "With encrypted payloads, a session's stored payload written as another session's never loads as a session there: get() calls back an Error or no session.",
    async run(ctx) {
      const store = await ctx.store();
      const [owner, victim] = [ctx.sid('owner'), ctx.sid('victim')];
      await ctx.call(store, 'set', owner, ctx.session({ marker: MARKER, user: 'owner' }));
      await ctx.call(store, 'set', victim, ctx.session({ user: 'victim' }));
      await ctx.config.writeRaw!(store, victim, await storedPayload(ctx, store, owner));
      assertNoProblems(await refusedRead(ctx, store, victim, "the owner's payload under the victim's id"));
    },
  },
  {
    id: 'an-altered-payload-never-loads',
    group: 'errors',
    level: 'recommended',
    needs: ['encryptedPayloads', 'readRaw', 'writeRaw'],
    rule: 'With encrypted payloads, a stored payload with one character changed never loads: get() calls back an Error or no session.',
    async run(ctx) {
      const store = await ctx.store();
      const sid = ctx.sid('altered');
      await ctx.call(store, 'set', sid, ctx.session({ marker: MARKER }));
      await ctx.config.writeRaw!(store, sid, altered(await storedPayload(ctx, store, sid)));
      assertNoProblems(await refusedRead(ctx, store, sid, 'the altered payload'));
    },
  },
];
