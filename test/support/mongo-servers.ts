/**
 * Throwaway MongoDB wire-protocol servers for tests: a `mongod` from PATH when there is one, else
 * FerretDB v1 on SQLite, built from test/ferretdb with the `go` toolchain. Each server keeps its
 * data in a temp dir of its own that survives `stop()`, `kill()` and `start()` (FerretDB's SQLite
 * files are durable), so a fault test can restart the server on the same data; `destroy()` removes it.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './redis-servers';
import { describeWithThrowawayServers } from './backends';
import { serverProcess } from './server-process';
import { onPath } from './throwaway';

const run = promisify(execFile);
const START_TIMEOUT_MS = 20_000;
const FERRETDB_SOURCE = path.resolve(__dirname, '..', 'ferretdb');
const FERRETDB_SOURCE_FILES = ['main.go', 'go.mod', 'go.sum'];
/** Where Go lives on this project's machines when it is not on PATH. */
const GO_FALLBACK = '/usr/local/go/bin/go';

export type MongoServerKind = 'mongod' | 'ferretdb';

export interface ThrowawayMongo {
  readonly kind: MongoServerKind;
  readonly port: number;
  /** `mongodb://127.0.0.1:<port>/`. */
  readonly url: string;
  /** What the server is, for report lines: `FerretDB v1.24.2 (SQLite)` or `mongod`. */
  readonly description: string;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s); its data stays for `start()`. */
  stop(): Promise<void>;
  /** Kills the server at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Starts the stopped server again on the same port and data. */
  start(): Promise<void>;
  /** Stops the server if it runs and deletes its directory. Idempotent. */
  destroy(): Promise<void>;
}

/** The `go` binary this run would build with, or undefined. */
export function goBinary(): string | undefined {
  if (onPath('go')) return 'go';
  return fs.existsSync(GO_FALLBACK) ? GO_FALLBACK : undefined;
}

/** Why no throwaway Mongo server can run here, or undefined when one can. */
export function mongoServersProblem(): string | undefined {
  if (onPath('mongod')) return undefined;
  if (goBinary() === undefined) return 'no mongod on PATH, and no go toolchain to build FerretDB (test/ferretdb) with';
  return undefined;
}

function cacheDir(): string {
  return process.env.SESSION_STORES_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'session-stores');
}

/** The FerretDB binary for the current source, named by its hash so a changed source builds anew. */
function ferretdbBinaryPath(): string {
  const hash = createHash('sha256');
  for (const file of FERRETDB_SOURCE_FILES) hash.update(fs.readFileSync(path.join(FERRETDB_SOURCE, file)));
  return path.join(cacheDir(), `ferretdb-${hash.digest('hex').slice(0, 16)}`);
}

/**
 * Builds test/ferretdb once per source version and returns the binary. A second run finds it in
 * the cache; Go's own build and module caches make a rebuild take seconds.
 */
export async function buildFerretdb(log: (line: string) => void = () => undefined): Promise<string> {
  const binary = ferretdbBinaryPath();
  if (fs.existsSync(binary)) return binary;
  const go = goBinary();
  if (go === undefined) throw new Error('no go toolchain on PATH to build FerretDB with');
  fs.mkdirSync(path.dirname(binary), { recursive: true });
  // Built beside its final name, then renamed: a concurrent run never starts a half-written binary.
  const partial = `${binary}.${process.pid}.partial`;
  log(`[backends] building FerretDB from test/ferretdb with ${go} (the first build takes minutes)`);
  try {
    await run(go, ['build', '-trimpath', '-o', partial, '.'], {
      cwd: FERRETDB_SOURCE,
      env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly' },
      timeout: 20 * 60 * 1000,
      maxBuffer: 16 * 1024 * 1024,
    });
    fs.renameSync(partial, binary);
  } catch (error) {
    fs.rmSync(partial, { force: true });
    const { stderr } = error as { stderr?: string };
    throw new Error(`building FerretDB failed: ${(stderr || (error as Error).message).trim().split('\n').slice(-5).join(' | ')}`);
  }
  return binary;
}

/** Starts a throwaway server: `mongod` when it is on PATH, else FerretDB (built first when needed). */
export async function startMongoServer(options: { kind?: MongoServerKind; log?: (line: string) => void } = {}): Promise<ThrowawayMongo> {
  const kind = options.kind ?? (onPath('mongod') ? 'mongod' : 'ferretdb');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `session-stores-${kind}-`));
  const port = await freePort();
  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(dataDir, { mode: 0o700 });
  const logFile = path.join(dir, 'server.log');
  let command: string;
  let args: string[];
  let description: string;
  if (kind === 'mongod') {
    command = 'mongod';
    args = ['--port', String(port), '--bind_ip', '127.0.0.1', '--dbpath', dataDir, '--logpath', logFile, '--quiet'];
    description = 'mongod';
  } else {
    command = await buildFerretdb(options.log);
    args = ['-listen', `127.0.0.1:${port}`, '-dir', dataDir, '-log-level', 'error'];
    description = 'FerretDB v1.24.2 (SQLite backend)';
  }
  const url = `mongodb://127.0.0.1:${port}/`;
  const server = serverProcess({
    name: `${description} on port ${port}`,
    command,
    args,
    dir,
    logFile,
    ready: () => pingOnce(url),
    startTimeoutMs: START_TIMEOUT_MS,
  });
  try {
    await server.start();
  } catch (error) {
    await server.destroy();
    throw error;
  }
  return { kind, port, url, description, ...server };
}

/** One quick ping, so a starting server costs no driver's whole server-selection timeout. */
async function pingOnce(url: string): Promise<void> {
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 500, connectTimeoutMS: 500 });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
  } finally {
    await client.close().catch(() => undefined);
  }
}

/**
 * What kind of server answers at `url` (FerretDB adds `ferretdbVersion` to buildInfo, MongoDB does
 * not), and which features a test must not count on: `ttl-indexes` when createIndex with
 * expireAfterSeconds is refused as not implemented (FerretDB v1). The probe's collection is one of
 * its own, dropped after.
 */
export async function describeMongoServer(url: string): Promise<{ server: string; lacks: string[] }> {
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
  try {
    await client.connect();
    const info = (await client.db('admin').command({ buildInfo: 1 })) as { version?: string; ferretdbVersion?: string };
    // Built from the module zip, an embedded FerretDB does not know its own version ("unknown").
    const ferretdb = info.ferretdbVersion === undefined ? undefined : info.ferretdbVersion === 'unknown' ? '' : ` ${info.ferretdbVersion}`;
    const server = ferretdb === undefined ? `MongoDB ${info.version}` : `FerretDB${ferretdb} (reports MongoDB ${info.version})`;
    const lacks: string[] = [];
    const probe = client.db('session_stores_probe').collection(`ttl_${process.pid}_${Date.now()}`);
    try {
      await probe.createIndex({ expires: 1 }, { expireAfterSeconds: 0 });
    } catch (error) {
      if ((error as { code?: unknown }).code !== 238) throw error;
      lacks.push('ttl-indexes');
    } finally {
      await probe.drop().catch(() => undefined);
    }
    return { server: lacks.length === 0 ? server : `${server}, without ${lacks.join(', ')}`, lacks };
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** For `.ci/run` and by hand: `npx tsx test/support/mongo-servers.ts build` builds FerretDB ahead of the tests. */
if (require.main === module && process.argv[2] === 'build') {
  buildFerretdb((line) => process.stderr.write(`${line}\n`)).then(
    (binary) => process.stdout.write(`${binary}\n`),
    (error: unknown) => {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exit(1);
    },
  );
}

/** `describe` for tests that start Mongo servers of their own: a loud skip (a failure under REQUIRE_BACKENDS=mongo) where none can run. */
export function describeWithMongoServers(title: string, body: () => void): void {
  describeWithThrowawayServers('mongo', mongoServersProblem(), title, body);
}
