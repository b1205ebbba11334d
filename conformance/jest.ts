import { registerConformance } from './register';
import type { ConformanceConfig } from './types';

type Body = () => unknown;

/** The jest globals the adapter uses, read from the global object so the package needs no jest types to build. */
interface JestGlobals {
  describe(name: string, body: () => void): void;
  it: ((name: string, body: Body, timeoutMs?: number) => void) & { skip(name: string, body: Body): void };
  beforeAll(body: Body, timeoutMs?: number): void;
  afterAll(body: Body, timeoutMs?: number): void;
}

/**
 * Registers the conformance cases as jest tests (jest's global describe / it / beforeAll /
 * afterAll). Call it at the top level of a test file.
 */
export function runConformance(config: ConformanceConfig): void {
  const jest = globalThis as unknown as JestGlobals;
  if (typeof jest.describe !== 'function') throw new Error('conformance/jest: no jest globals here; run the file with jest');
  registerConformance(config, {
    describe: (name, body) => jest.describe(name, body),
    // jest cannot mark a running test skipped: a case skipped at run time passes and says why.
    test: (name, body, timeoutMs) => jest.it(name, () => body((reason) => console.warn(`skipped at run time: ${reason}`)), timeoutMs),
    skipped: (name) => jest.it.skip(name, () => undefined),
    beforeAll: (body, timeoutMs) => jest.beforeAll(body, timeoutMs),
    afterAll: (body, timeoutMs) => jest.afterAll(body, timeoutMs),
  });
}

export type * from './types';
