/**
 * Driver errors carry what they were sent: ioredis its command's arguments (an AUTH password, a
 * session's key and payload), pg the query and a `detail` quoting the row, mongodb `keyValue` and
 * `errInfo`. What a store hands out as a cause is a copy that keeps only the name, the code, the
 * system call and a message with quoted text, URL credentials and known secrets taken out.
 */

/** Errors that are already safe to hand out: our own, and the copies made here. */
const clean = new WeakSet<object>();
const MAX_CHAIN = 5;
const MAX_AGGREGATED = 10;
const MAX_MESSAGE_LENGTH = 300;
const REDACTED = '…';
/** A quoted word that names a table, index, command or type, which is worth keeping in a message. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$.]{0,62}$/;
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi;
const HAS_URL_CREDENTIALS = /\b[a-z][a-z0-9+.-]*:\/\/[^\s/@]*@/i;
const CODE = /^[A-Za-z0-9_.-]{1,64}$/;
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** Marks an error built by this package as safe to pass on unchanged. */
export function markClean(error: object): void {
  clean.add(error);
}

/**
 * A sanitized copy of `error` and its causes. `secrets` (a session id, say) are replaced by their
 * first characters wherever they appear; no other field of the original survives.
 */
export function cleanCause(error: unknown, secrets: readonly string[] = [], depth = 0): Error {
  if (error !== null && typeof error === 'object' && clean.has(error)) return error as Error;
  const original = error instanceof Error ? error : undefined;
  const name = typeof original?.name === 'string' ? cleanMessage(original.name, secrets).slice(0, 60) : 'Error';
  const message = original ? cleanMessage(original.message, secrets) : typeof error === 'string' ? cleanMessage(error, secrets) : `a thrown ${error === null ? 'null' : typeof error}`;
  const copy = new Error(message) as Error & { code?: string | number; errno?: number; syscall?: string; errors?: Error[] };
  Object.defineProperty(copy, 'name', { value: name, configurable: true, writable: true, enumerable: false });
  copy.stack = `${name}: ${message}${framesOf(original)}`;
  const fields = (error ?? {}) as { code?: unknown; errno?: unknown; syscall?: unknown; cause?: unknown; errors?: unknown };
  if (typeof fields.code === 'string' && CODE.test(fields.code)) copy.code = fields.code;
  if (typeof fields.code === 'number') copy.code = fields.code;
  if (typeof fields.errno === 'number') copy.errno = fields.errno;
  if (typeof fields.syscall === 'string' && IDENTIFIER.test(fields.syscall)) copy.syscall = fields.syscall;
  if (depth < MAX_CHAIN) {
    if (original && fields.cause !== undefined) {
      Object.defineProperty(copy, 'cause', { value: cleanCause(fields.cause, secrets, depth + 1), configurable: true, writable: true, enumerable: false });
    }
    if (Array.isArray(fields.errors)) {
      copy.errors = fields.errors.slice(0, MAX_AGGREGATED).map((inner) => cleanCause(inner, secrets, depth + 1));
    }
  }
  clean.add(copy);
  return copy;
}

/** A driver's message without quoted text (unless it is an identifier), URL credentials, secrets or control characters. */
export function cleanMessage(message: unknown, secrets: readonly string[] = []): string {
  let text = typeof message === 'string' ? message : '';
  for (const secret of secrets) {
    // A secret no longer than the prefix that may be shown anyway is not worth garbling the message for.
    if (secret.length > 6) text = text.split(secret).join(`${secret.slice(0, 6)}${REDACTED}`);
  }
  text = withoutQuotedData(text.replace(URL_CREDENTIALS, `$1${REDACTED}@`));
  text = text.replace(CONTROLS, ' ');
  return text.length > MAX_MESSAGE_LENGTH ? `${text.slice(0, MAX_MESSAGE_LENGTH)}${REDACTED}` : text;
}

/** Replaces each quoted span ("…", '…' opening after a non-letter, `…`) by `…` unless it is an identifier. */
function withoutQuotedData(text: string): string {
  let result = '';
  let index = 0;
  while (index < text.length) {
    const char = text[index]!;
    const opens = char === '"' || char === '`' || (char === "'" && !/[A-Za-z0-9]/.test(text[index - 1] ?? ''));
    if (!opens) {
      result += char;
      index++;
      continue;
    }
    let end = index + 1;
    while (end < text.length && text[end] !== char) end += text[end] === '\\' ? 2 : 1;
    const inner = text.slice(index + 1, end);
    result += `${char}${IDENTIFIER.test(inner) ? inner : REDACTED}${char}`;
    index = end + 1;
  }
  return result;
}

/** The `at …` lines of the original stack: code locations, never data. */
function framesOf(original: Error | undefined): string {
  const stack = typeof original?.stack === 'string' ? original.stack : '';
  const frames = stack.split('\n').filter((line) => /^\s+at /.test(line) && !HAS_URL_CREDENTIALS.test(line));
  return frames.length > 0 ? `\n${frames.join('\n')}` : '';
}
