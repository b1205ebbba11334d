import { after, before, describe, it } from 'node:test';
import { registerConformance } from './register';
import type { ConformanceConfig } from './types';

/** Registers the conformance cases as node:test tests. Call it at the top level of a test file. */
export function runConformance(config: ConformanceConfig): void {
  registerConformance(config, {
    describe: (name, body) => void describe(name, body),
    test: (name, body, timeoutMs) =>
      void it(name, { timeout: timeoutMs }, async (context) => {
        await body((reason) => context.skip(reason));
      }),
    skipped: (name) => void it(name, { skip: true }, () => undefined),
    beforeAll: (body, timeoutMs) => before(body, { timeout: timeoutMs }),
    afterAll: (body, timeoutMs) => after(body, { timeout: timeoutMs }),
  });
}

export type * from './types';
