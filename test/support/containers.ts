/**
 * The last backend fallback: a container (testcontainers) when a container runtime answers.
 * testcontainers lives in test/containers/, a package of its own installed the first time a
 * runtime answers, so the root install compiles none of its native modules (ssh2, cpu-features).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { onPath, type StartedServer } from './throwaway';

const PACKAGE_DIR = path.resolve(__dirname, '..', 'containers');

/**
 * Whether a container runtime answers, checked quickly before testcontainers is installed or
 * loaded: the `docker` client's `docker info` when it is installed, else a ping of the Docker
 * socket. Returns undefined when one answers, else why not.
 */
export async function containerRuntimeProblem(): Promise<string | undefined> {
  if (onPath('docker')) {
    const info = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 5000 });
    if (info.status === 0) return undefined;
    const why = (info.stderr || info.error?.message || `exit ${info.status}`).trim().split('\n')[0];
    return `no container runtime answers (docker info: ${why})`;
  }
  const host = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  if (!host.startsWith('unix://')) return `no docker client to check DOCKER_HOST=${host}`;
  const socketPath = host.slice('unix://'.length);
  const answered = await new Promise<boolean>((resolve) => {
    const request = http.get({ socketPath, path: '/_ping', timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.once('timeout', () => request.destroy(new Error('timeout')));
    request.once('error', () => resolve(false));
  });
  return answered ? undefined : `no container runtime answers on ${socketPath}`;
}

export interface ContainerSpec {
  image: string;
  port: number;
  environment?: Record<string, string>;
  /** A log line that says the server accepts connections, and how many times it must appear. */
  readyLog?: { pattern: RegExp; times: number };
  /** The URL to reach the server at host:mappedPort. */
  url: (host: string, port: number) => string;
}

export async function startContainer(spec: ContainerSpec): Promise<StartedServer> {
  const { GenericContainer, Wait } = await loadTestcontainers();
  let container = new GenericContainer(spec.image).withExposedPorts(spec.port).withStartupTimeout(120_000);
  if (spec.environment) container = container.withEnvironment(spec.environment);
  if (spec.readyLog) container = container.withWaitStrategy(Wait.forLogMessage(spec.readyLog.pattern, spec.readyLog.times));
  const started = await container.start();
  let stopped = false;
  return {
    url: spec.url(started.getHost(), started.getMappedPort(spec.port)),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await started.stop();
    },
  };
}

/** The part of testcontainers' API used here: its own types are in a package the root does not install. */
interface Testcontainers {
  GenericContainer: new (image: string) => GenericContainer;
  Wait: { forLogMessage(message: RegExp, times: number): unknown };
}

interface GenericContainer {
  withExposedPorts(...ports: number[]): GenericContainer;
  withStartupTimeout(ms: number): GenericContainer;
  withEnvironment(environment: Record<string, string>): GenericContainer;
  withWaitStrategy(strategy: unknown): GenericContainer;
  start(): Promise<{ getHost(): string; getMappedPort(port: number): number; stop(): Promise<unknown> }>;
}

let installed: Promise<void> | undefined;

/** Installs test/containers on first use (once, however many backends fall back at the same time), then loads testcontainers from it. */
export async function loadTestcontainers(): Promise<Testcontainers> {
  installed ??= installPackage();
  await installed;
  return createRequire(path.join(PACKAGE_DIR, 'package.json'))('testcontainers') as Testcontainers;
}

function installPackage(): Promise<void> {
  if (existsSync(path.join(PACKAGE_DIR, 'node_modules', '.package-lock.json'))) return Promise.resolve();
  process.stderr.write('installing testcontainers for the container fallback: npm ci --prefix test/containers\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  // Its install scripts only build optional native code (ssh2's crypto, cpu-features) that it runs without.
  const args = ['ci', '--prefix', PACKAGE_DIR, '--no-audit', '--no-fund', '--ignore-scripts'];
  return new Promise((resolve, reject) => {
    const child = spawn(npm, args, { cwd: PACKAGE_DIR, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`npm ci --prefix test/containers failed (exit ${code ?? signal})`)),
    );
  });
}
