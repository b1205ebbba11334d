import session from 'express-session';
import { cases } from './cases';
import { runConformance } from './jest';

// Each reason was checked against node_modules/express-session/session/memory.js.
const knownFailures: Record<string, string> = {
  'get-missing-calls-back-null': 'get() calls back defer(callback, null, getSession(sid)) and getSession returns undefined for a missing sid',
  'corrupt-data-is-never-returned-as-a-session':
    'getSession runs JSON.parse synchronously inside get(), so bad JSON throws out of get() and JSON null throws on sess.cookie; a string, an array or an object without a cookie is returned as the session',
  'corrupt-data-calls-back-an-error': 'a string, an array or an object without a cookie is called back as the session, with no error',
  'corrupt-data-error-has-a-code-and-no-data':
    'the only errors are the SyntaxError / TypeError thrown by JSON.parse and sess.cookie: no code, and the SyntaxError message quotes the stored text',
  'corrupt-data-in-all-calls-back-once': 'all() calls getSession for every sid synchronously, so one corrupt record throws out of all()',
  'unserializable-session-calls-back-an-error': 'set() calls JSON.stringify(session) synchronously, so a circular session or a BigInt throws out of set()',
  'bad-arguments-never-throw': 'touch() assigns session.cookie synchronously when the sid exists, so touch(sid, null) throws a TypeError',
  'promise-form-without-callback':
    'every method only calls back (callback && defer(callback)) and returns undefined; get() without a callback throws from setImmediate(undefined)',
};

/** What the jest adapter warns while the cases run: kept out of a passing run's output, and checked at the end. */
const warnings: string[] = [];

beforeAll(() => {
  jest.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => void warnings.push(args.map(String).join(' ')));
});

afterAll(() => {
  jest.restoreAllMocks();
});

runConformance({
  name: "express-session's MemoryStore",
  makeStore: () => new session.MemoryStore(),
  clock: 'real',
  // Each MemoryStore holds its own sessions, so each store is a namespace of its own.
  supports: { namespaces: true },
  writeRaw: (store, sid, text) => {
    (store as unknown as { sessions: Record<string, string> }).sessions[sid] = text;
  },
  knownFailures,
});

it('warns of each known failure, and otherwise only of broken recommended rules and cases skipped at run time', () => {
  const levels = new Map(cases.map((c) => [c.id, c.level]));
  const warned = warnings.map((text) => {
    const result = /^\[conformance [^\]]+\] ([a-z0-9-]+): (fail|warn) /.exec(text);
    if (result) return { id: result[1]!, level: levels.get(result[1]!), known: result[1]! in knownFailures };
    return { id: text.startsWith('skipped at run time: ') ? 'skipped at run time' : text, level: undefined, known: false };
  });
  expect(warned.filter((w) => w.known).map((w) => w.id).sort()).toEqual(Object.keys(knownFailures).sort());
  expect(warned.filter((w) => !w.known && w.id !== 'skipped at run time' && w.level !== 'recommended')).toEqual([]);
});
