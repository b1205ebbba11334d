import { createHash } from 'node:crypto';

/**
 * What RedisStore keeps under each key: the value's head, which holds the session's creation
 * instant, and the two scripts that write a value and move its expiry without breaking a rule.
 */

export class LuaScript {
  readonly sha: string;
  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }
}

/**
 * The head of every value the store writes (but with `compat`): `\x01<creation instant, epoch ms>\x01`,
 * then the session. A serialized session (JSON, or the cipher's `sse1.`) never starts with \x01, so a
 * value without the head was written before it, or by connect-redis: it loads, and gets one at its next save.
 */
const HEAD = /^\u0001\d{1,16}\u0001/;
/** The longest head: 16 digits outlast any epoch-ms instant. */
const HEAD_MAX_BYTES = 18;

/** The Lua both scripts share: whether the record at KEYS[1] is live, and what its head says. */
const RECORD_LUA = `
-- The record's expiry (math.huge for none) while it is live, else nil: live by the store's clock
-- when liveAsOf is an instant, by Redis' own expiry when it is '' (a script sees a key Redis holds past its expiry as missing).
local function liveExpiry(liveAsOf)
  local expiry = redis.call('PEXPIRETIME', KEYS[1])
  if expiry == -2 then return nil end
  if expiry == -1 then expiry = math.huge end
  if liveAsOf ~= '' and expiry <= tonumber(liveAsOf) then return nil end
  return expiry
end
-- The creation instant in the head of the value: false for a tombstone (''), nil for a value without a head.
-- GETRANGE reads the head only, however large the session.
local function creationOf()
  local head = redis.call('GETRANGE', KEYS[1], 0, ${HEAD_MAX_BYTES - 1})
  if head == '' then return false end
  return string.match(head, '^\\1(%d+)\\1')
end
-- expiresAt, at most maxLifetimeMs ('' for none) after createdAt (nil when unknown).
local function capped(expiresAt, createdAt, maxLifetimeMs)
  if maxLifetimeMs == '' or not createdAt then return expiresAt end
  return string.format('%d', math.min(tonumber(expiresAt), tonumber(createdAt) + tonumber(maxLifetimeMs)))
end
`;

/**
 * ARGV: payload, expiresAt, now, liveAsOf ('' when Redis' expiry decides), maxLifetimeMs ('' for
 * none). Writes nothing over a live tombstone; a live record keeps its creation instant, a new one
 * (or one without a head) is created at now.
 */
export const WRITE = new LuaScript(`${RECORD_LUA}
local createdAt = ARGV[3]
if liveExpiry(ARGV[4]) then
  local kept = creationOf()
  if kept == false then return 0 end
  createdAt = kept or createdAt
end
return redis.call('SET', KEYS[1], '\\1' .. createdAt .. '\\1' .. ARGV[1], 'PXAT', capped(ARGV[2], createdAt, ARGV[5]))
`);

/**
 * ARGV: expiresAt, liveAsOf, unlessExpiresAfter, maxLifetimeMs ('' for none). Only moves the expiry
 * of a live key that is not a tombstone, at most to its creation instant + maxLifetimeMs.
 */
export const EXTEND = new LuaScript(`${RECORD_LUA}
local current = liveExpiry(ARGV[2])
if not current then return 0 end
if ARGV[3] ~= '' and current >= tonumber(ARGV[3]) then return 0 end
local createdAt = creationOf()
if createdAt == false then return 0 end
local target = tonumber(capped(ARGV[1], createdAt, ARGV[4]))
-- Nothing is written where the expiry would not move (at the end of a lifetime, say), nor, with touchAfter, moved back.
if target == current or (ARGV[3] ~= '' and target < current) then return 0 end
return redis.call('PEXPIREAT', KEYS[1], target)
`);

/** The session in a stored value: what follows its head, or the whole value when it has none (written before heads, or by connect-redis). */
export function sessionPartOf(value: string): string {
  if (value.charCodeAt(0) !== 1) return value;
  const head = HEAD.exec(value);
  return head === null ? value : value.slice(head[0].length);
}

/** The creation instant in the head of a stored value, where it has one. */
export function createdAtOf(value: string): { createdAt?: number } {
  const head = HEAD.exec(value);
  return head === null ? {} : { createdAt: Number(head[0].slice(1, -1)) };
}
