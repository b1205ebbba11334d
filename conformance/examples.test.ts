import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = path.resolve(__dirname, '..');
const TSX = pathToFileURL(require.resolve('tsx')).href;
const JEST_BIN = require.resolve('jest/bin/jest');
const VITEST_BIN = path.join(path.dirname(require.resolve('vitest/package.json')), 'vitest.mjs');
/** Resolves `session-stores/...` to this checkout's source, as the installed package resolves for a user. */
const TSCONFIG = path.join(__dirname, 'fixtures/examples.tsconfig.json');

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

const JEST_CONFIG = {
  rootDir: ROOT,
  roots: ['<rootDir>/docs/examples'],
  testMatch: ['**/memory.jest.test.ts'],
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: TSCONFIG }] },
  moduleNameMapper: {
    '^session-stores/conformance/(jest|vitest|node-test)$': '<rootDir>/conformance/$1.ts',
    '^session-stores/conformance$': '<rootDir>/conformance/index.ts',
    '^session-stores/memory$': '<rootDir>/stores/memory/index.ts',
    '^session-stores$': '<rootDir>/shared/index.ts',
  },
};

const nodeTest = (file: string) =>
  run(['--import', TSX, '--test', '--test-reporter=tap', file], { TSX_TSCONFIG_PATH: TSCONFIG });

/** The examples docs/conformance-suite.md shows, run as a reader would run them. */
describe('the documented conformance examples', () => {
  it('the jest example passes every case it runs', async () => {
    const { code, output } = await run([JEST_BIN, '--config', JSON.stringify(JEST_CONFIG)]);
    expect(output).toMatch(/Tests:\s+\d+ skipped, \d+ passed, \d+ total/);
    expect(code).toBe(0);
  }, 120_000);

  it('the worked store of docs/writing-a-store.md passes every case it runs', async () => {
    const config = { ...JEST_CONFIG, testMatch: ['**/map-store.jest.test.ts'] };
    const { code, output } = await run([JEST_BIN, '--config', JSON.stringify(config)]);
    expect(output).toMatch(/Tests:\s+\d+ skipped, \d+ passed, \d+ total/);
    expect(code).toBe(0);
  }, 120_000);

  it('the vitest example passes every case it runs', async () => {
    const config = path.join(__dirname, 'fixtures/examples.vitest.config.mjs');
    const { code, output } = await run([VITEST_BIN, 'run', 'docs/examples/memory.vitest.test.ts', '--config', config]);
    expect(output).toMatch(/Tests\s+\d+ passed \| \d+ skipped/);
    expect(code).toBe(0);
  }, 60_000);

  it('the node:test example passes every case it runs', async () => {
    const { code, output } = await nodeTest('docs/examples/memory.node-test.ts');
    expect(output).toMatch(/^# fail 0$/m);
    expect(code).toBe(0);
  }, 60_000);

  it('the example for any other runner passes every case it runs', async () => {
    const { code, output } = await nodeTest('docs/examples/memory.any-runner.ts');
    expect(output).toMatch(/^# pass [1-9]\d*$/m);
    expect(output).toMatch(/^# fail 0$/m);
    expect(code).toBe(0);
  }, 60_000);

  it('the command-line example module runs and conforms', async () => {
    const { code, output } = await run(['--import', TSX, 'conformance/cli.ts', 'docs/examples/my-store.cjs', '--no-color']);
    expect(output).toMatch(/^\d+ passed, 0 failed, \d+ skipped/m);
    expect(code).toBe(0);
  }, 60_000);
});
