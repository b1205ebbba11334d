import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cases } from './cases';
import type { JsonReport } from './format';
import { runConformance } from './jest';
import * as expressMemoryStore from './fixtures/express-memory-store';

/** Crashes a fastify app (below): judged by the command line, in a process of its own, where the crash is the runner's to see and not jest's. */
const CRASHES_FASTIFY = 'fastify-unloadable-record-still-gets-an-answer';

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
  name: expressMemoryStore.name,
  makeStore: expressMemoryStore.createStore,
  clock: 'real',
  supports: expressMemoryStore.supports,
  writeRaw: expressMemoryStore.writeRaw,
  knownFailures,
  filter: (id) => id !== CRASHES_FASTIFY,
});

it('crashes a fastify app with a record @fastify/session cannot load: it hands the record back as a session, and @fastify/session throws on it outside any catch', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'express-memorystore-'));
  try {
    const json = path.join(dir, 'report.json');
    const cli = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(__dirname, 'cli.ts'), path.join(__dirname, 'fixtures/express-memory-store.ts'), '--framework', 'fastify', '--filter', CRASHES_FASTIFY, '--json', json],
      { cwd: path.join(__dirname, '..'), encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
    );
    expect(cli.status).toBe(1);
    const report = JSON.parse(readFileSync(json, 'utf8')) as JsonReport;
    expect(report.results).toEqual([expect.objectContaining({ id: CRASHES_FASTIFY, status: 'fail' })]);
    expect(report.results[0]!.reason).toMatch(/originalMaxAge a string: the request got no answer .*the process saw an uncaughtException: TypeError: cookie expires is invalid/);
    expect(report.crash).toBe('an uncaught exception (TypeError: cookie expires is invalid: Invalid Date)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

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
