/**
 * Throwaway MariaDB servers for tests: a fresh data directory in a temp dir, initialised by
 * mariadb-install-db, served by mariadbd on a free loopback port with root and no password, with a
 * `test` database. The server can be stopped and started again on the same data (fault tests);
 * `destroy()` stops it and deletes its files, and a process exit kills any server left running.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './postgres-servers';
import { onPath } from './throwaway';

const run = promisify(execFile);
const START_TIMEOUT_MS = 30_000;

export interface ThrowawayMariaDb {
  /** `mysql://root@127.0.0.1:<port>/test`. */
  readonly url: string;
  readonly port: number;
  /** Normal shutdown: connections are closed, committed data stays. */
  stop(): Promise<void>;
  /** Starts the stopped server again on the same port and data. */
  start(): Promise<void>;
  /** Stops the server if it runs and deletes its data directory. Idempotent. */
  destroy(): Promise<void>;
}

/** Why no throwaway MariaDB can start here, or undefined when the binaries are on PATH. */
export function mariaDbServersProblem(): string | undefined {
  const missing = ['mariadbd', 'mariadb-install-db'].filter((binary) => !onPath(binary) && !fs.existsSync(path.join('/usr/sbin', binary)));
  return missing.length === 0 ? undefined : `${missing.join(' and ')} not found`;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const server of running) server.kill('SIGKILL');
});

export async function startThrowawayMariaDb(): Promise<ThrowawayMariaDb> {
  const problem = mariaDbServersProblem();
  if (problem !== undefined) throw new Error(`no throwaway MariaDB: ${problem}`);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'session-stores-mariadb-'));
  const dataDir = path.join(home, 'data');
  const socket = path.join(home, 'mariadb.sock');
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  const port = await freePort();
  const url = `mysql://root@127.0.0.1:${port}/test`;
  let server: ChildProcess | undefined;
  let state: 'running' | 'stopped' | 'destroyed' = 'stopped';

  const start = async () => {
    if (state !== 'stopped') return;
    const child = spawn(
      binary('mariadbd'),
      [
        '--no-defaults',
        `--datadir=${dataDir}`,
        `--socket=${socket}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--pid-file=${path.join(home, 'mariadb.pid')}`,
        '--innodb-buffer-pool-size=32M',
        '--skip-log-bin',
        ...asRoot,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    child.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
    running.add(child);
    child.once('exit', () => running.delete(child));
    server = child;
    await waitForConnections(child, () => log);
    state = 'running';
  };
  const stop = async () => {
    if (state !== 'running' || !server) return;
    const child = server;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    server = undefined;
    state = 'stopped';
  };

  try {
    await run(
      binary('mariadb-install-db'),
      ['--no-defaults', `--datadir=${dataDir}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...asRoot],
      { timeout: 60_000 },
    );
    await start();
    await run(binary('mariadb'), ['--no-defaults', `--socket=${socket}`, '-uroot', '-e', 'CREATE DATABASE IF NOT EXISTS test'], { timeout: 10_000 });
  } catch (error) {
    server?.kill('SIGKILL');
    fs.rmSync(home, { recursive: true, force: true });
    throw new Error(`throwaway MariaDB did not start: ${(error as Error).message.split('\n')[0]}`);
  }

  return {
    url,
    port,
    stop,
    start,
    destroy: async () => {
      if (state === 'destroyed') return;
      try {
        await stop();
      } finally {
        state = 'destroyed';
        fs.rmSync(home, { recursive: true, force: true });
      }
    },
  };
}

function binary(name: string): string {
  return onPath(name) ? name : path.join('/usr/sbin', name);
}

/** Resolves once the server logs that it accepts connections; rejects when it exits or takes too long. */
function waitForConnections(child: ChildProcess, log: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`mariadbd did not start within ${START_TIMEOUT_MS} ms\n${log()}`)), START_TIMEOUT_MS);
    const onData = () => {
      if (/ready for connections/.test(log())) finish();
    };
    const onExit = (code: number | null) => finish(new Error(`mariadbd exited with ${code}\n${log()}`));
    const finish = (error?: Error) => {
      clearTimeout(timer);
      child.stderr!.off('data', onData);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve();
    };
    child.stderr!.on('data', onData);
    child.once('exit', onExit);
  });
}
