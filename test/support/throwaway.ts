/**
 * What the test run needs to start servers of its own: binaries on PATH, and a container
 * (testcontainers) when a container runtime answers.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

export interface StartedServer {
  url: string;
  /** Stops the server and removes its files. Idempotent. */
  stop(): Promise<void>;
}

export function onPath(binary: string): boolean {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .some((dir) => dir !== '' && isExecutable(path.join(dir, binary)));
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * Whether a container runtime answers, checked quickly before testcontainers is loaded: the
 * `docker` client's `docker info` when it is installed, else a ping of the Docker socket.
 * Returns undefined when one answers, else why not.
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
  const { GenericContainer, Wait } = await import('testcontainers');
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
