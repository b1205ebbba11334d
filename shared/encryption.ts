import { createCipheriv, createDecipheriv, createHash, createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { SessionStoreError } from './errors';

/** A 32-byte key: a Buffer or Uint8Array, or a string of 64 hex digits or of 43 or 44 base64 or base64url characters. */
export type EncryptionKey = Buffer | Uint8Array | string;

/**
 * The stored form of an encrypted session: `sse1.<key id>.<nonce ‖ ciphertext ‖ tag>`, in base64url, so
 * it fits every backend's text column. No JSON text starts with `s`, so it is never taken for one.
 */
const FORMAT = 'sse1.';
const KEY_BYTES = 32;
const KEY_ID_BYTES = 6;
const KEY_ID_LENGTH = 8;
const HEADER_LENGTH = FORMAT.length + KEY_ID_LENGTH + 1;
/** The first half of the nonce picks the payload's key, the second half is its GCM IV. */
const NONCE_BYTES = 24;
const KEY_NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_CONTEXT = 'session-stores key id\0';
const MESSAGE_KEY_CONTEXT = Buffer.from('session-stores sse1 aes-256-gcm\0');
const HKDF_FIRST_BLOCK = Buffer.from([1]);
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const BASE64_KEY = /^(?:[A-Za-z0-9+/]{43}=?|[A-Za-z0-9_-]{43})$/;

/** Why a stored payload did not open, as a phrase after "stored session"; never quotes the payload or a key. */
export class UnopenedPayload extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/**
 * AES-256-GCM of the encoded session under the first of `encryptionKeys`, opened by whichever key
 * its key id names, so a key is rotated by putting a new one first and dropping the old one once no
 * session saved under it can still be live.
 *
 * Random 96-bit IVs under one key are safe for about 2^32 payloads, which a busy site's saves reach,
 * so each payload has a random 192-bit nonce, as XAES-256-GCM does: its first 96 bits derive the
 * payload's key (HKDF-Expand with SHA-256, the key being uniformly random already), its last 96 bits
 * are the IV under that key; that holds for about 2^80 payloads. The associated data is the header
 * and the storage id, so a payload copied to another id, or given another key id, does not authenticate.
 */
export class Cipher {
  // Key objects in private fields: util.inspect of a store, its settings or its codec shows no key material.
  readonly #keys: ReadonlyArray<{ id: string; key: KeyObject }>;

  private constructor(keys: Array<{ id: string; key: KeyObject }>) {
    this.#keys = keys;
  }

  /** The cipher of the `encryptionKeys` option, or undefined without it; a bad key is refused by its position, never quoted. */
  static of(store: string, value: unknown): Cipher | undefined {
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || value.length === 0) {
      throw optionError(store, `encryptionKeys must be a non-empty array of keys (the first encrypts, all decrypt), got ${describeKey(value)}`);
    }
    const keys = value.map((entry: unknown, index) => {
      const bytes = keyBytesOf(entry);
      if (bytes === undefined) {
        throw optionError(store, `encryptionKeys[${index}] must be 32 bytes: a Buffer, or a string of 64 hex digits or 44 base64 characters; got ${describeKey(entry)}`);
      }
      return { id: keyIdOf(bytes), key: createSecretKey(bytes), bytes };
    });
    for (const [index, { bytes }] of keys.entries()) {
      const first = keys.findIndex((other) => other.bytes.equals(bytes));
      if (first !== index) throw optionError(store, `encryptionKeys[${index}] is the same key as encryptionKeys[${first}]`);
    }
    for (const { bytes } of keys) bytes.fill(0);
    return new Cipher(keys.map(({ id, key }) => ({ id, key })));
  }

  /** `text` encrypted under the first key, bound to `storageId`. */
  seal(text: string, storageId: string): string {
    const { id, key } = this.#keys[0]!;
    const header = `${FORMAT}${id}.`;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', messageKeyOf(key, nonce), nonce.subarray(KEY_NONCE_BYTES));
    cipher.setAAD(associatedData(header, storageId));
    const body = Buffer.concat([nonce, cipher.update(text, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return header + body.toString('base64url');
  }

  /** The text sealed in `payload` for `storageId`; throws `UnopenedPayload` when it is not one or does not authenticate. */
  open(payload: string, storageId: string): string {
    if (!payload.startsWith(FORMAT)) throw new UnopenedPayload('is not encrypted');
    const header = payload.slice(0, HEADER_LENGTH);
    const body = Buffer.from(payload.slice(HEADER_LENGTH), 'base64url');
    if (header[HEADER_LENGTH - 1] !== '.' || body.length < NONCE_BYTES + TAG_BYTES) throw new UnopenedPayload('is not a well-formed encrypted payload');
    const keyId = header.slice(FORMAT.length, FORMAT.length + KEY_ID_LENGTH);
    const candidates = this.#keys.filter((entry) => entry.id === keyId);
    if (candidates.length === 0) throw new UnopenedPayload('was encrypted under a key that is not in encryptionKeys');
    const nonce = body.subarray(0, NONCE_BYTES);
    const ciphertext = body.subarray(NONCE_BYTES, body.length - TAG_BYTES);
    const tag = body.subarray(body.length - TAG_BYTES);
    // Two keys share a key id once in 2^48 pairs: each is tried.
    for (const { key } of candidates) {
      const decipher = createDecipheriv('aes-256-gcm', messageKeyOf(key, nonce), nonce.subarray(KEY_NONCE_BYTES));
      decipher.setAAD(associatedData(header, storageId));
      decipher.setAuthTag(tag);
      try {
        return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
      } catch {
        // Node's message names no data; the reason below is the same for every failed key.
      }
    }
    throw new UnopenedPayload('does not authenticate (it was altered, or stored under another id)');
  }

  /** Whether `text` has the stored form of an encrypted session. */
  static isSealed(text: string): boolean {
    return text.startsWith(FORMAT);
  }
}

/** HKDF-Expand(key, context ‖ first half of the nonce, 32 bytes): one HMAC-SHA-256 block. */
function messageKeyOf(key: KeyObject, nonce: Buffer): Buffer {
  return createHmac('sha256', key).update(MESSAGE_KEY_CONTEXT).update(nonce.subarray(0, KEY_NONCE_BYTES)).update(HKDF_FIRST_BLOCK).digest();
}

function associatedData(header: string, storageId: string): Buffer {
  return Buffer.from(header + storageId, 'utf8');
}

/** A few bytes of a hash of the key with a context of its own, so the stored id says nothing usable about the key. */
function keyIdOf(bytes: Buffer): string {
  return createHash('sha256').update(KEY_ID_CONTEXT).update(bytes).digest().subarray(0, KEY_ID_BYTES).toString('base64url');
}

function keyBytesOf(entry: unknown): Buffer | undefined {
  if (entry instanceof Uint8Array) return entry.length === KEY_BYTES ? Buffer.from(entry) : undefined;
  if (typeof entry !== 'string') return undefined;
  if (HEX_KEY.test(entry)) return Buffer.from(entry, 'hex');
  if (!BASE64_KEY.test(entry)) return undefined;
  const bytes = Buffer.from(entry, entry.includes('-') || entry.includes('_') ? 'base64url' : 'base64');
  return bytes.length === KEY_BYTES ? bytes : undefined;
}

/** The shape of a key option, never its content. */
function describeKey(value: unknown): string {
  if (value instanceof Uint8Array) return `${Buffer.isBuffer(value) ? 'a Buffer' : 'a Uint8Array'} of ${value.length} bytes`;
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : `an array of ${value.length}`;
  return value === null ? 'null' : typeof value;
}

function optionError(store: string, message: string): SessionStoreError {
  return new SessionStoreError('ERR_SESSION_OPTIONS', message, { store });
}
