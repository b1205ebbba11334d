import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = path.resolve(__dirname, '../..');
const TSX = pathToFileURL(require.resolve('tsx')).href;
const JEST_BIN = require.resolve('jest/bin/jest');
const VITEST_BIN = path.join(path.dirname(require.resolve('vitest/package.json')), 'vitest.mjs');

function run(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

/** The examples docs/conformance-suite.md shows, run as a reader would run them. */
describe('the documented conformance examples', () => {
  it('the jest example passes every case it runs', async () => {
    const { code, output } = await run([JEST_BIN, '--roots', '<rootDir>/docs', '--testPathPatterns', 'docs/examples/memory.jest']);
    expect(code).toBe(0);
    expect(output).toMatch(/Tests:\s+\d+ skipped, \d+ passed, \d+ total/);
  }, 120_000);

  it('the vitest example passes every case it runs', async () => {
    const { code, output } = await run([VITEST_BIN, 'run', 'docs/examples/memory.vitest.test.ts']);
    expect(code).toBe(0);
    expect(output).toMatch(/Tests\s+\d+ passed \| \d+ skipped/);
  }, 60_000);

  it('the node:test example passes every case it runs', async () => {
    const { code, output } = await run(['--import', TSX, '--test', '--test-reporter=tap', 'docs/examples/memory.node-test.ts']);
    expect(code).toBe(0);
    expect(output).toMatch(/^# fail 0$/m);
  }, 60_000);

  it('the command-line example module runs and conforms', async () => {
    const { code, output } = await run(['--import', TSX, 'conformance/cli.ts', 'docs/examples/my-store.cjs', '--no-color']);
    expect(code).toBe(0);
    expect(output).toMatch(/^\d+ passed, 0 failed, \d+ skipped/m);
  }, 60_000);
});
