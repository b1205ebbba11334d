import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Store } from 'express-session';
import type { StoreFactoryOptions, StoreSupport } from '../../conformance/types';

/** What a store module for the CLI and the report exports (the CLI needs only `createStore`). */
export interface ReportStoreModule {
  /** The store as the report names it, with the version installed. */
  name: string;
  clock: 'real' | 'injectable';
  supports: StoreSupport;
  /** Why the store cannot run here (its server does not answer, its source is not built), or undefined. */
  unavailable(): Promise<string | undefined>;
  createStore(options: StoreFactoryOptions): Promise<Store>;
  teardown(): Promise<void>;
}

/** Unique to this process, so namespaces never collide with other runs on the same servers. */
export const RUN_ID = randomBytes(4).toString('hex');

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** MONGO_URL, or the server `provideMongoServer()` started for the report run and handed down in it. */
export const MONGO_URL = process.env.MONGO_URL;
/** What the Mongo server is (`FerretDB (reports MongoDB 7.0.42), without ttl-indexes`), stated in the report's rows. */
export const MONGO_SERVER = process.env.SESSION_STORES_REPORT_MONGO_SERVER;

/** Whether the Mongo server has no TTL indexes (FerretDB v1). */
export function backendLacksTtl(): boolean {
  return MONGO_SERVER?.includes('without ttl-indexes') ?? false;
}

/** ` on <server>` for a Mongo store's row, where the server is known. */
export function onMongoServer(): string {
  return MONGO_SERVER === undefined ? '' : ` on ${MONGO_SERVER}`;
}
export const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

/** A SQL/key-safe name for the suite's namespace: `[a-z0-9_]`, at most 40 characters, unique to this run. */
export function safeName(namespace: string | undefined, prefix: string): string {
  const raw = namespace ?? 'default';
  const readable = raw.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 12);
  const digest = createHash('sha256').update(raw).digest('hex').slice(0, 8);
  return `${prefix}_${RUN_ID}_${readable}_${digest}`;
}

/** `name@version` of an installed package. */
export function packageTitle(name: string): string {
  // Walks up from the entry point: some packages' `exports` hide their package.json.
  let dir = path.dirname(require.resolve(name));
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version: string };
      if (manifest.name === name) return `${name}@${manifest.version}`;
    } catch {
      // No package.json at this level: keep walking up.
    }
    const parent = path.dirname(dir);
    if (parent === dir) return name;
    dir = parent;
  }
}

export function portAnswers(url: string, defaultPort: number, timeoutMs = 500): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname || '127.0.0.1', port: Number(port || defaultPort) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** A temporary directory created on first use and removed by `remove()`. */
export class TempDir {
  private dir: string | undefined;

  constructor(private readonly label: string) {}

  path(): string {
    this.dir ??= mkdtempSync(path.join(os.tmpdir(), `session-stores-${this.label}-`));
    return this.dir;
  }

  file(name: string): string {
    return path.join(this.path(), name);
  }

  remove(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}

/** Runs every cleanup step even when one fails, then reports the first failure. */
export async function runAll(steps: Array<() => unknown>): Promise<void> {
  let firstError: unknown;
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      firstError ??= error;
    }
  }
  if (firstError !== undefined) throw firstError;
}

/** Milliseconds to whole seconds, for stores whose options are in seconds; never rounds a positive value to 0. */
export function toSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

export { withDeadline } from '../../conformance/deadline';
