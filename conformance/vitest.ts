import { afterAll, beforeAll, describe, it } from 'vitest';
import { registerConformance } from './register';
import type { ConformanceConfig } from './types';

/** Registers the conformance cases as vitest tests. Call it at the top level of a test file. */
export function runConformance(config: ConformanceConfig): void {
  registerConformance(config, {
    describe: (name, body) => describe(name, body),
    test: (name, body, timeoutMs) =>
      it(name, async (context) => {
        await body((reason) => context.skip(reason));
      }, timeoutMs),
    skipped: (name) => it.skip(name, () => undefined),
    beforeAll: (body, timeoutMs) => beforeAll(body, timeoutMs),
    afterAll: (body, timeoutMs) => afterAll(body, timeoutMs),
  });
}

export type * from './types';
