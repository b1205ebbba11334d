import { connectionOf, type ConnectionChoice } from './ownership';

interface Options {
  pool?: { query(): void } | null;
  url?: string;
  config?: object;
  poolSize?: number;
}

const opened = { query() {} };
const choice: ConnectionChoice<{ query(): void }, Options> = {
  given: 'pool',
  what: 'a Pool',
  accepts: (pool) => typeof (pool as { query?: unknown }).query === 'function',
  opened: ['url', 'config'],
  openOnly: ['poolSize'],
  open: () => opened,
};

function refusal(options: Options): string {
  try {
    connectionOf('test', options, choice);
  } catch (error) {
    expect(error).toMatchObject({ code: 'ERR_SESSION_OPTIONS', store: 'test' });
    return (error as Error).message.replace('[test] ', '');
  }
  throw new Error('connectionOf accepted the options');
}

describe('connectionOf', () => {
  it('takes a handle the caller gives and leaves it theirs', () => {
    const pool = { query() {} };
    expect(connectionOf('test', { pool }, choice)).toEqual({ handle: pool, owned: false });
  });

  it('opens a handle of its own from any one of the options that open one, and owns it', () => {
    expect(connectionOf('test', { url: 'x' }, choice)).toEqual({ handle: opened, owned: true });
    expect(connectionOf('test', { config: {}, poolSize: 3 }, choice)).toEqual({ handle: opened, owned: true });
  });

  it('refuses neither a handle nor a way to open one', () => {
    expect(refusal({})).toBe('give a Pool as pool, or url or config for the store to open its own');
  });

  it('refuses a handle beside a way to open one', () => {
    expect(refusal({ pool: opened, url: 'x' })).toBe('give one of pool or url or config, not both pool and url');
  });

  it('refuses two ways to open one', () => {
    expect(refusal({ url: 'x', config: {} })).toBe('give one of pool or url or config, not several');
  });

  it('refuses a handle that is not one, null included', () => {
    expect(refusal({ pool: {} as never })).toBe('pool must be a Pool');
    expect(refusal({ pool: null })).toBe('pool must be a Pool');
  });

  it('refuses options that only shape a handle the store opens, beside a given one', () => {
    expect(refusal({ pool: opened, poolSize: 3 })).toBe('poolSize apply to a pool the store opens; set them on your own pool');
  });
});
