/**
 * Throwaway `redis-server` processes for tests: one server on a free loopback port that can be
 * stopped and started again on the same port (outage tests), and a Redis Cluster of masters
 * created with `redis-cli --cluster create`. Nothing is written to disk but a temp dir, removed by
 * `destroy()`; a process exit kills any server left running.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describeWithThrowawayServers } from './backends';
import { serverProcess } from './server-process';
import { onPath } from './throwaway';

const run = promisify(execFile);
const START_TIMEOUT_MS = 10_000;

export interface ThrowawayRedis {
  readonly port: number;
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s); its data is gone, as nothing is saved. */
  stop(): Promise<void>;
  /** Starts the stopped server again on the same port. */
  start(): Promise<void>;
  /** Stops the server if it runs and deletes its directory. Idempotent. */
  destroy(): Promise<void>;
}

export interface ThrowawayRedisCluster {
  readonly nodes: ThrowawayRedis[];
  /** `{ host, port }` of every master, as ioredis' `Cluster` takes its startup nodes. */
  readonly startupNodes: { host: string; port: number }[];
  destroy(): Promise<void>;
}

/** Why throwaway Redis servers cannot run here, or undefined when they can. */
export function redisServersProblem(): string | undefined {
  if (!onPath('redis-server')) return 'redis-server is not on PATH';
  if (!onPath('redis-cli')) return 'redis-cli is not on PATH';
  return undefined;
}

/** A free loopback port; with `busOffset`, `port + busOffset` is free too (a Cluster node's bus port). */
export async function freePort(busOffset?: number): Promise<number> {
  for (;;) {
    const port = await listenAndRelease(0);
    if (busOffset === undefined) return port;
    if (port + busOffset <= 65535 && (await listenAndRelease(port + busOffset).then(() => true, () => false))) return port;
  }
}

function listenAndRelease(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as net.AddressInfo;
      server.close(() => resolve(bound));
    });
  });
}

/** Starts `redis-server` on a free port of 127.0.0.1 with `extraArgs`, and waits until it answers PING. */
export async function startRedisServer(extraArgs: string[] = [], port?: number): Promise<ThrowawayRedis> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'session-stores-redis-'));
  const chosenPort = port ?? (await freePort());
  const logFile = path.join(dir, 'redis.log');
  const args = [
    '--port', String(chosenPort),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'no',
    '--dir', dir,
    '--logfile', logFile,
    ...extraArgs,
  ];
  const server = serverProcess({
    name: `redis-server on port ${chosenPort}`,
    command: 'redis-server',
    args,
    dir,
    // redis-server writes its log there itself; anything it prints on stderr before that joins it.
    logFile,
    ready: () => redisCli(chosenPort, ['PING']),
    startTimeoutMs: START_TIMEOUT_MS,
  });
  try {
    await server.start();
  } catch (error) {
    await server.destroy();
    throw error;
  }
  return { port: chosenPort, url: `redis://127.0.0.1:${chosenPort}`, stop: server.stop, start: server.start, destroy: server.destroy };
}

/** Starts `masters` cluster-enabled servers, joins them into one Cluster without replicas, and waits for cluster_state:ok on each. */
export async function startRedisCluster(masters = 3): Promise<ThrowawayRedisCluster> {
  const nodes: ThrowawayRedis[] = [];
  const destroy = async () => {
    await Promise.all(nodes.map((node) => node.destroy()));
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort(10_000);
      nodes.push(
        await startRedisServer(
          ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000'],
          port,
        ),
      );
    }
    const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (const node of nodes) {
      while (!/cluster_state:ok/.test(await redisCli(node.port, ['CLUSTER', 'INFO']))) {
        if (Date.now() > deadline) throw new Error(`the cluster did not reach cluster_state:ok on port ${node.port}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } catch (error) {
    await destroy();
    throw error;
  }
  return { nodes, startupNodes: nodes.map((node) => ({ host: '127.0.0.1', port: node.port })), destroy };
}

/** Runs one command through redis-cli against 127.0.0.1:`port`; rejects on an error reply. */
export async function redisCli(port: number, args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 5000 });
  if (/^(ERR|Could not connect|NOAUTH|LOADING)/.test(stdout)) throw new Error(stdout.trim());
  return stdout;
}


/**
 * `describe` for tests that start their own Redis servers: runs them, or reports one skipped case
 * naming the reason (a failing one when REQUIRE_BACKENDS names redis).
 */
export function describeWithRedisServers(title: string, body: () => void): void {
  describeWithThrowawayServers('redis', redisServersProblem(), title, body);
}
