import type { SessionData } from 'express-session';
import { SessionStoreError, sidPrefixOf } from './errors';

/** Turns a session into the string a backend stores, and back. */
export interface Serializer {
  stringify(session: SessionData): string;
  parse(text: string): SessionData;
}

export const jsonSerializer: Serializer = {
  stringify: (session) => JSON.stringify(session),
  parse: (text) => JSON.parse(text) as SessionData,
};

export class Codec {
  private readonly serializer: Serializer;

  constructor(
    private readonly store: string,
    serializer: Serializer = jsonSerializer,
  ) {
    this.serializer = serializer;
  }

  encode(sid: string, session: SessionData): string {
    let text: unknown;
    try {
      text = this.serializer.stringify(session);
    } catch (error) {
      throw this.failure('ERR_SESSION_ENCODE', `session could not be encoded (${errorName(error)})`, sid);
    }
    if (typeof text !== 'string') {
      throw this.failure('ERR_SESSION_ENCODE', `serializer.stringify returned ${typeof text}, not a string`, sid);
    }
    return text;
  }

  /** Only the parser's error class is reported: parser messages quote the input, and the input is the session. */
  decode(sid: string, text: unknown): SessionData {
    if (typeof text !== 'string') {
      throw this.failure('ERR_SESSION_CORRUPT', `stored session is a ${describeStored(text)}, not a string`, sid);
    }
    let session: unknown;
    try {
      session = this.serializer.parse(text);
    } catch (error) {
      throw this.failure('ERR_SESSION_CORRUPT', `stored session could not be decoded (${errorName(error)})`, sid);
    }
    if (session === null || typeof session !== 'object' || Array.isArray(session)) {
      throw this.failure('ERR_SESSION_CORRUPT', `stored session decoded to ${describeStored(session)}, not an object`, sid);
    }
    const cookie = (session as { cookie?: unknown }).cookie;
    if (cookie === null || typeof cookie !== 'object') {
      // express-session dereferences session.cookie while inflating; without one it would throw outside our callback.
      throw this.failure('ERR_SESSION_CORRUPT', 'stored session has no cookie object', sid);
    }
    return session as SessionData;
  }

  private failure(code: 'ERR_SESSION_CORRUPT' | 'ERR_SESSION_ENCODE', message: string, sid: string): SessionStoreError {
    return new SessionStoreError(code, message, { store: this.store, sidPrefix: sidPrefixOf(sid) });
  }
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

function describeStored(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (Buffer.isBuffer(value)) return 'Buffer';
  return typeof value;
}
