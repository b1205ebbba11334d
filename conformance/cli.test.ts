import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { JsonReport } from './format';
import Database from 'better-sqlite3';
import { SqliteStore } from '../stores/sqlite';
import { caseFilter } from './cli';

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(__dirname, 'cli.ts');
const FIXTURES = path.join(__dirname, 'fixtures');

interface CliOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Node's arguments and environment under which `name` does not resolve, as in a project that lacks it. */
function withoutModule(name: string): { nodeArgs: string[]; env: Record<string, string> } {
  return { nodeArgs: ['--import', path.join(FIXTURES, 'without-module.mjs')], env: { CONFORMANCE_WITHOUT_MODULE: name } };
}

interface StartedCli {
  child: ChildProcessByStdio<null, Readable, Readable>;
  outcome: Promise<CliOutcome>;
}

/** Starts the CLI with `args`, Node running it with `nodeArgs` too; the outcome settles when it exits. */
function startCli(args: string[], nodeArgs: string[] = [], env: Record<string, string> = {}): StartedCli {
  const child = spawn(process.execPath, ['--import', 'tsx', ...nodeArgs, CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const outcome = new Promise<CliOutcome>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, outcome };
}

function runCli(...args: string[]): Promise<CliOutcome> {
  return startCli(args).outcome;
}

/** The table row of a case: its id, then its status. */
function rowOf(stdout: string, id: string): string | undefined {
  return stdout.split('\n').find((line) => line.startsWith(`${id} `));
}

const SUMMARY = /^\d+ passed, \d+ failed, \d+ skipped(, \d+ warnings?)?$/m;

let workDir: string;
beforeAll(() => {
  workDir = mkdtempSync(path.join(os.tmpdir(), 'session-stores-cli-'));
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('session-stores-conformance CLI', () => {
  it('passes our MemoryStore on the whole suite, exits 0 and writes a JSON report of every case', async () => {
    const json = path.join(workDir, 'memory.json');
    const markdown = path.join(workDir, 'memory.md');
    const { code, stdout, stderr } = await runCli(path.join(FIXTURES, 'memory-store.ts'), '--json', json, '--markdown', markdown);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(SUMMARY);
    expect(stdout).toMatch(/, 0 failed, /);

    const report = JSON.parse(readFileSync(json, 'utf8')) as JsonReport;
    expect(report).toMatchObject({ tool: 'session-stores-conformance', store: 'fixture MemoryStore', clock: 'real', http: false, ok: true });
    expect(report.summary.failed).toBe(0);
    expect(report.results.length).toBe(report.summary.passed + report.summary.failed + report.summary.skipped + report.summary.warned);
    for (const result of report.results) {
      expect(result).toEqual(
        expect.objectContaining({ id: expect.any(String), rule: expect.any(String), status: expect.stringMatching(/^(pass|fail|skip|warn)$/), ms: expect.any(Number) }),
      );
      expect(rowOf(stdout, result.id)).toBeDefined();
    }
    expect(readFileSync(markdown, 'utf8')).toMatch(/^# Conformance of fixture MemoryStore\n\n\*\*Conforms\*\*/);
  }, 120_000);

  it('exits 1 on a broken store and names the failing case with its reason', async () => {
    const json = path.join(workDir, 'broken.json');
    const { code, stdout } = await runCli(path.join(FIXTURES, 'broken-store.js'), '--filter', 'destroy-*', '--json', json);
    expect(code).toBe(1);
    expect(rowOf(stdout, 'destroy-removes-the-session')).toMatch(/ FAIL .*get\(\) after destroy\(\)/);
    const report = JSON.parse(readFileSync(json, 'utf8')) as JsonReport;
    expect(report.ok).toBe(false);
    expect(report.results.find((r) => r.id === 'destroy-removes-the-session')).toMatchObject({ status: 'fail', reason: expect.any(String) });
  }, 60_000);

  it('stops at the first crash of the process and reports the remaining cases as not run', async () => {
    const json = path.join(workDir, 'crash.json');
    const { code, stdout } = await runCli(
      path.join(FIXTURES, 'crashing-store.js'),
      '--filter',
      'get-missing-calls-back-nothing,destroy-removes-the-session',
      '--json',
      json,
    );
    expect(code).toBe(1);
    expect(rowOf(stdout, 'destroy-removes-the-session')).toMatch(/ SKIP .*not run: the store crashed the process with an uncaught exception \(Error: crashed while reading\) in get-missing-calls-back-nothing/);
    expect(stdout).toMatch(/^the store crashed the process: /m);
    expect(stdout).toMatch(/^\d+ passed, \d+ failed, 0 skipped, 1 not run$/m);
    expect(JSON.parse(readFileSync(json, 'utf8'))).toMatchObject({
      ok: false,
      crash: expect.stringContaining('crashed while reading'),
      summary: { skipped: 0, notRun: 1 },
      results: expect.arrayContaining([expect.objectContaining({ id: 'destroy-removes-the-session', status: 'skip', notRun: true })]),
    });
  }, 60_000);

  it('fails a recommended case during which the store crashes the process', async () => {
    const { code, stdout } = await runCli(path.join(FIXTURES, 'crashing-store.js'), '--filter', 'get-missing-calls-back-null');
    expect(code).toBe(1);
    expect(rowOf(stdout, 'get-missing-calls-back-null')).toMatch(/ FAIL .*uncaughtException: Error: crashed while reading/);
  }, 60_000);

  it('runs only the cases --filter selects, by substring or glob', async () => {
    const json = path.join(workDir, 'filtered.json');
    const { code } = await runCli(path.join(FIXTURES, 'memory-store.ts'), '--filter', 'get-missing', '--filter', 'destroy-is-*', '--json', json);
    expect(code).toBe(0);
    const ids = (JSON.parse(readFileSync(json, 'utf8')) as JsonReport).results.map((r) => r.id);
    expect(ids.length).toBeGreaterThan(1);
    expect(ids.every((id) => id.includes('get-missing') || id.startsWith('destroy-is-'))).toBe(true);
  }, 60_000);

  it('loads an ES module whose default export is the factory', async () => {
    const { code, stdout } = await runCli(path.join(FIXTURES, 'esm-store.mjs'), '--filter', 'destroy-removes-the-session');
    expect(code).toBe(0);
    expect(rowOf(stdout, 'destroy-removes-the-session')).toMatch(/ PASS /);
  }, 60_000);

  it('exits 2 with the usage when no store module is given', async () => {
    const { code, stderr } = await runCli();
    expect(code).toBe(2);
    expect(stderr).toMatch(/give the path of a store module[\s\S]*Usage: session-stores-conformance/);
  }, 30_000);

  it('ends quietly with the closed-pipe status when the reader of --list is gone before it writes', async () => {
    const { child, outcome } = startCli(['--list']);
    child.stdout.destroy();
    expect(await outcome).toMatchObject({ code: 141, stderr: '' });
  }, 30_000);

  it('ends quietly with the closed-pipe status, not as a failure of the store, when the reader goes away mid-run', async () => {
    const { child, outcome } = startCli([path.join(FIXTURES, 'memory-store.ts')]);
    child.stdout.once('data', () => child.stdout.destroy());
    expect(await outcome).toMatchObject({ code: 141, stderr: '' });
  }, 60_000);

  it.each(['express', 'supertest'])('exits 2 with one line and runs nothing when --http is given and %s cannot be loaded', async (name) => {
    const { nodeArgs, env } = withoutModule(name);
    const { code, stdout, stderr } = await startCli([path.join(FIXTURES, 'memory-store.ts'), '--http'], nodeArgs, env).outcome;
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toBe(
      `session-stores-conformance: the HTTP cases need express and supertest (${name} cannot be loaded): npm install --save-dev express supertest, or leave out --http\n`,
    );
  }, 30_000);

  it('runs the store cases without express when the HTTP cases are left out', async () => {
    const { nodeArgs, env } = withoutModule('express');
    const { outcome } = startCli([path.join(FIXTURES, 'memory-store.ts'), '--filter', 'destroy-removes-the-session'], nodeArgs, env);
    const { code, stdout } = await outcome;
    expect(code).toBe(0);
    expect(rowOf(stdout, 'destroy-removes-the-session')).toMatch(/ PASS /);
  }, 30_000);

  it('runs the HTTP cases with --http when express and supertest load', async () => {
    const { code, stdout } = await runCli(path.join(FIXTURES, 'memory-store.ts'), '--http', '--filter', 'http-login-then-reload');
    expect(code).toBe(0);
    expect(rowOf(stdout, 'http-login-then-reload')).toMatch(/ PASS /);
  }, 30_000);

  it('runs the HTTP cases through @fastify/session too with --http, and only through the framework --framework names', async () => {
    const memory = path.join(FIXTURES, 'memory-store.ts');
    const both = await runCli(memory, '--http', '--filter', '*-login-then-reload');
    expect([both.code, rowOf(both.stdout, 'http-login-then-reload'), rowOf(both.stdout, 'fastify-login-then-reload')]).toEqual([
      0,
      expect.stringMatching(/ PASS /),
      expect.stringMatching(/ PASS /),
    ]);
    const fastifyOnly = await runCli(memory, '--framework', 'fastify', '--filter', '*-login-then-reload');
    expect([fastifyOnly.code, rowOf(fastifyOnly.stdout, 'http-login-then-reload'), rowOf(fastifyOnly.stdout, 'fastify-login-then-reload')]).toEqual([
      0,
      undefined,
      expect.stringMatching(/ PASS /),
    ]);
  }, 60_000);

  it('reports the fastify cases skipped, saying what to install, when --http is given and @fastify/session cannot be loaded', async () => {
    const { nodeArgs, env } = withoutModule('@fastify/session');
    const { code, stdout } = await startCli([path.join(FIXTURES, 'memory-store.ts'), '--http', '--filter', '*-login-then-reload'], nodeArgs, env).outcome;
    expect(code).toBe(0);
    expect(rowOf(stdout, 'http-login-then-reload')).toMatch(/ PASS /);
    expect(rowOf(stdout, 'fastify-login-then-reload')).toMatch(/ SKIP .*  @fastify\/session cannot be loaded: npm install --save-dev fastify @fastify\/cookie @fastify\/session supertest runs the cases through @fastify\/session$/);
  }, 30_000);

  it('exits 2 with one line and runs nothing when --framework fastify is given and @fastify/session cannot be loaded', async () => {
    const { nodeArgs, env } = withoutModule('@fastify/session');
    const { code, stdout, stderr } = await startCli([path.join(FIXTURES, 'memory-store.ts'), '--framework', 'fastify'], nodeArgs, env).outcome;
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toBe(
      'session-stores-conformance: the HTTP cases need fastify, @fastify/cookie, @fastify/session and supertest (@fastify/session cannot be loaded): npm install --save-dev fastify @fastify/cookie @fastify/session supertest, or leave out --framework fastify\n',
    );
  }, 30_000);

  it('exits 2 with the usage for a framework it does not know', async () => {
    const { code, stderr } = await runCli(path.join(FIXTURES, 'memory-store.ts'), '--framework', 'koa');
    expect(code).toBe(2);
    expect(stderr).toMatch(/^session-stores-conformance: no framework koa: --framework takes express and fastify\n\nUsage: /);
  }, 30_000);

  it('exits 2 when --filter matches no case', async () => {
    const { code, stderr } = await runCli(path.join(FIXTURES, 'esm-store.mjs'), '--filter', 'no-such-case');
    expect(code).toBe(2);
    expect(stderr).toMatch(/no case matches --filter no-such-case/);
  }, 30_000);
});

describe('session-stores-conformance CLI on a namespace that holds live sessions', () => {
  const SHARED_TABLE = path.join(FIXTURES, 'shared-table-store.ts');
  const liveSessions = Array.from({ length: 3 }, (_, i) => ({
    sid: `live-${i}-${randomBytes(12).toString('hex')}`,
    session: { cookie: { originalMaxAge: 3_600_000, expires: new Date(Date.now() + 3_600_000) }, user: `live-user-${randomBytes(6).toString('hex')}` },
  }));
  let file: string;

  /** The database of a live app: a table of three sessions that the run must leave exactly as it was. */
  beforeEach(async () => {
    file = path.join(workDir, `live-${randomBytes(4).toString('hex')}.db`);
    const app = new SqliteStore({ filename: file, pruneInterval: 0 });
    for (const { sid, session } of liveSessions) await app.set(sid, session as never);
    await app.close();
  });

  const rowsOf = () => {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare('SELECT sid, sess, expires_at FROM sessions ORDER BY sid').all();
    } finally {
      db.close();
    }
  };
  const runOnLiveTable = (claimNamespaces: boolean, ...args: string[]) =>
    startCli([SHARED_TABLE, ...args], [], { CONFORMANCE_SHARED_SQLITE_FILE: file, CONFORMANCE_CLAIM_NAMESPACES: claimNamespaces ? '1' : '0' }).outcome;

  it.each([
    ['claims namespaces it does not keep apart', true],
    ['declares no namespaces', false],
  ])('on a factory that %s: deletes, overwrites and prints no live session, and leaves none of its own', async (_what, claims) => {
    const before = rowsOf();
    const json = path.join(workDir, `live-${claims}.json`);
    const { stdout, stderr } = await runOnLiveTable(claims, '--json', json);
    expect(stdout).toMatch(/^namespace check: a store in a fresh namespace already holds 3 sessions this run did not write; the cases that call clear\(\) are not run$/m);
    expect(rowOf(stdout, 'clear-removes-every-session')).toMatch(/ SKIP .*not run: .*--allow-clear/);
    expect(rowOf(stdout, 'close-lets-the-process-exit')).toMatch(/ SKIP .*not run: /);
    expect(rowsOf()).toEqual(before);
    const printed = `${stdout}${stderr}${readFileSync(json, 'utf8')}`;
    for (const { sid, session } of liveSessions) {
      expect(printed).not.toContain(sid);
      expect(printed).not.toContain(session.user);
    }
    expect(stdout).not.toMatch(/^outside any case: cleanup/m);
  }, 120_000);

  it('runs the clear() cases with --allow-clear, which then delete the live sessions as --help says', async () => {
    const { stdout } = await runOnLiveTable(true, '--allow-clear', '--filter', 'clear-removes-every-session');
    expect(stdout).toMatch(/^namespace check: .*every case runs \(--allow-clear\)$/m);
    expect(rowOf(stdout, 'clear-removes-every-session')).toMatch(/ PASS /);
    expect(rowsOf()).toEqual([]);
  }, 60_000);

  it('says in --help what it writes, reads and deletes, and what --allow-clear deletes', async () => {
    const { code, stdout } = await runCli('--help');
    expect(code).toBe(0);
    expect(stdout).toMatch(/What it writes, reads and deletes:/);
    expect(stdout).toMatch(/--allow-clear +run the cases that call clear\(\)[\s\S]*deletes EVERY session of the namespace/);
  }, 30_000);

  it('runs every case on a factory whose fresh namespaces are empty and apart, and destroys what it wrote', async () => {
    const { code, stdout } = await runCli(path.join(FIXTURES, 'memory-store.ts'), '--filter', 'clear-removes-every-session');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^namespace check: fresh namespaces are empty and kept apart; every case runs$/m);
    expect(rowOf(stdout, 'clear-removes-every-session')).toMatch(/ PASS /);
  }, 30_000);
});

describe('caseFilter', () => {
  it('matches a plain pattern anywhere in the id', () => {
    const filter = caseFilter(['expired'])!;
    expect(['expired-session-not-returned-by-get', 'get-missing'].filter(filter)).toEqual(['expired-session-not-returned-by-get']);
  });

  it('matches a glob against the whole id', () => {
    const filter = caseFilter(['touch-*'])!;
    expect(['touch-extends', 'no-touch-here'].filter(filter)).toEqual(['touch-extends']);
  });

  it('selects every case when no pattern is given', () => {
    expect(caseFilter([])).toBeUndefined();
  });
});
