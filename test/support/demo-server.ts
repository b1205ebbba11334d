import { spawn } from 'node:child_process';
import path from 'node:path';
import { freePort } from './redis-servers';

const DEMO_SERVER = path.join(__dirname, '../../demo/server.ts');

/** A demo server (`npm start`) running in a child process on a free loopback port. */
export interface DemoServer {
  port: number;
  url: string;
  /** What it printed once it listened. */
  line: string;
  stop(): Promise<void>;
}

/** Starts `demo/server.ts` with `env` added to this process' environment; rejects with its stderr when it exits before it listens. */
export async function startDemoServer(env: NodeJS.ProcessEnv): Promise<DemoServer> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', DEMO_SERVER], { env: { ...process.env, PORT: String(port), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString()));
    child.once('error', reject);
    void closed.then((code) => reject(new Error(`the demo server exited (${String(code)}) before it listened: ${stderr.trim()}`)));
  });
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    line,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await closed;
    },
  };
}
