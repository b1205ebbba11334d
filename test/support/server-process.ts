/**
 * One server process a test run starts itself: spawned in a temp dir of its own, ready once its
 * probe answers, stopped (SIGTERM, SIGKILL after 5 s) or killed, started again on the same dir, and
 * removed with its dir by `destroy()`. A process exit kills whatever is still running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';

export interface ServerProcessSpec {
  /** Shown in errors: `redis-server on port 6380`. */
  name: string;
  command: string;
  args: string[];
  /** The temp dir the server works in; `destroy()` deletes it. */
  dir: string;
  /** Where the server's stderr goes; its tail is quoted when it does not start. */
  logFile: string;
  /** Resolves once the server answers a real request; rejects while it does not. */
  ready(): Promise<unknown>;
  startTimeoutMs: number;
}

export interface ServerProcess {
  /** Starts the server (again, after stop or kill), resolving once it answers. */
  start(): Promise<void>;
  /** SIGTERM, then SIGKILL after 5 s; its files stay for `start()`. */
  stop(): Promise<void>;
  /** SIGKILL at once, as a crash would. */
  kill(): Promise<void>;
  /** Stops the server if it runs and deletes its dir. Idempotent. */
  destroy(): Promise<void>;
}

const running = new Map<ChildProcess, string>();
process.once('exit', () => {
  for (const [child, dir] of running) {
    child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

export function serverProcess(spec: ServerProcessSpec): ServerProcess {
  let child: ChildProcess | undefined;
  let destroyed = false;

  const halt = async (signal: NodeJS.Signals) => {
    const current = child;
    if (!current) return;
    child = undefined;
    if (current.exitCode === null && current.signalCode === null) {
      const exited = new Promise((resolve) => current.once('exit', resolve));
      current.kill(signal);
      const killer = setTimeout(() => current.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
    running.delete(current);
  };

  const start = async () => {
    if (child || destroyed) return;
    const log = fs.openSync(spec.logFile, 'a');
    const started = spawn(spec.command, spec.args, { stdio: ['ignore', 'ignore', log] });
    fs.closeSync(log);
    child = started;
    running.set(started, spec.dir);
    const spawnError = new Promise<never>((_, reject) => started.once('error', reject));
    spawnError.catch(() => undefined);
    const deadline = Date.now() + spec.startTimeoutMs;
    for (;;) {
      try {
        await Promise.race([spec.ready(), spawnError]);
        return;
      } catch (error) {
        if (started.exitCode !== null || Date.now() > deadline) {
          await halt('SIGKILL');
          throw new Error(`${spec.name} did not answer: ${(error as Error).message}\n${tailOf(spec.logFile)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  };

  return {
    start,
    stop: () => halt('SIGTERM'),
    kill: () => halt('SIGKILL'),
    async destroy() {
      destroyed = true;
      await halt('SIGTERM');
      fs.rmSync(spec.dir, { recursive: true, force: true });
    },
  };
}

function tailOf(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}
