import { optionError } from './options';

/** What a store works through (a pool, a client, a database), and whether the store opened it and so must close it. */
export interface Connection<T> {
  handle: T;
  owned: boolean;
}

/** How a store takes its connection: one the caller owns, or one it opens from other options. */
export interface ConnectionChoice<T, Options> {
  /** The option holding a handle the caller owns, e.g. `pool`. */
  given: keyof Options & string;
  /** What a given handle must be, as a phrase: `a pg.Pool`. */
  what: string;
  accepts(handle: unknown): boolean;
  /** The options the store opens its own handle from, e.g. `connectionString`; at most one may be given. */
  opened: ReadonlyArray<keyof Options & string>;
  /** Opens the store's own handle; it throws an ERR_SESSION_OPTIONS error of its own for a bad value. */
  open(options: Options): T;
  /** Options that only shape a handle the store opens; refused beside a given one. */
  openOnly?: ReadonlyArray<keyof Options & string>;
}

/**
 * Exactly one of the given handle or the options to open one: "either or", checked in one place
 * for every store, so `close()` can end what the store opened and leave the caller's alone.
 */
export function connectionOf<T, Options extends object>(store: string, options: Options, choice: ConnectionChoice<T, Options>): Connection<T> {
  const values = options as Record<string, unknown>;
  const opened = choice.opened.filter((name) => values[name] !== undefined);
  const ways = [choice.given, ...choice.opened].join(' or ');
  const given = values[choice.given];
  if (given !== undefined) {
    if (opened.length > 0) throw optionError(store, `give one of ${ways}, not both ${choice.given} and ${opened.join(' and ')}`);
    if (given === null || !choice.accepts(given)) throw optionError(store, `${choice.given} must be ${choice.what}`);
    const shaping = (choice.openOnly ?? []).filter((name) => values[name] !== undefined);
    if (shaping.length > 0) {
      throw optionError(store, `${shaping.join(', ')} apply to a ${choice.given} the store opens; set them on your own ${choice.given}`);
    }
    return { handle: given as T, owned: false };
  }
  if (opened.length > 1) throw optionError(store, `give one of ${ways}, not several`);
  if (opened.length === 0) throw optionError(store, `give ${choice.what} as ${choice.given}, or ${choice.opened.join(' or ')} for the store to open its own`);
  return { handle: choice.open(options), owned: true };
}
