import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = path.join(__dirname, '..');
const VITEST_BIN = path.join(path.dirname(require.resolve('vitest/package.json')), 'vitest.mjs');
const TSX = pathToFileURL(require.resolve('tsx')).href;

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string> = {}): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function vitest(env: Record<string, string> = {}) {
  const finished = await run([VITEST_BIN, 'run', 'conformance/fixtures/memory.spec.ts', '--reporter=json'], env);
  const report = JSON.parse(finished.stdout.slice(finished.stdout.indexOf('{'))) as {
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
  };
  return { code: finished.code, passed: report.numPassedTests, failed: report.numFailedTests, skipped: report.numPendingTests };
}

async function nodeTest(env: Record<string, string> = {}) {
  const finished = await run(['--import', TSX, '--test', '--test-reporter=tap', 'conformance/fixtures/memory.node-test.ts'], env);
  const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(finished.stdout)?.[1]);
  return { code: finished.code, passed: count('pass'), failed: count('fail'), skipped: count('skipped') };
}

const FORGETFUL = { CONFORMANCE_FIXTURE_STORE: 'forgetful' };

describe('the conformance adapters', () => {
  it('vitest runs the selected cases, skipping those the store cannot run, and exits 0', async () => {
    expect(await vitest()).toEqual({ code: 0, passed: 5, failed: 0, skipped: 2 });
  }, 60_000);

  it('vitest reports failing cases as failed tests and exits non-zero', async () => {
    expect(await vitest(FORGETFUL)).toEqual({ code: 1, passed: 1, failed: 4, skipped: 2 });
  }, 60_000);

  it('node:test runs the selected cases, skipping those the store cannot run, and exits 0', async () => {
    expect(await nodeTest()).toEqual({ code: 0, passed: 5, failed: 0, skipped: 2 });
  }, 60_000);

  it('node:test reports failing cases as failed tests and exits non-zero', async () => {
    expect(await nodeTest(FORGETFUL)).toEqual({ code: 1, passed: 1, failed: 4, skipped: 2 });
  }, 60_000);
});
