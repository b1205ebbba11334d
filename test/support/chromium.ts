import fs from 'node:fs';
import { describeNeeding } from './backends';

/** Debian's chromium, which playwright-core drives in place of a browser of its own download. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** What is missing to drive a headless chromium, or undefined when nothing is. */
export function chromiumProblem(): string | undefined {
  const missing: string[] = [];
  try {
    fs.accessSync(CHROMIUM_PATH, fs.constants.X_OK);
  } catch {
    missing.push(`no chromium at ${CHROMIUM_PATH} (apt-get install chromium)`);
  }
  try {
    require.resolve('playwright-core');
  } catch {
    missing.push('playwright-core is not installed (npm install)');
  }
  return missing.length === 0 ? undefined : missing.join('; ');
}

/** `describe` for tests in a real browser: skipped, naming what is missing, where chromium or playwright-core is; failed instead under CI or REQUIRE_BACKENDS. */
export function describeInChromium(title: string, body: () => void): void {
  const requiredBy = process.env.CI ? `CI=${process.env.CI}` : process.env.REQUIRE_BACKENDS ? 'REQUIRE_BACKENDS is set' : undefined;
  const problem = chromiumProblem();
  // Jest names no skipped case of a file it skips whole: the line says what is missing.
  if (problem !== undefined && requiredBy === undefined) process.stderr.write(`[chromium] SKIPPING ${title}: ${problem}\n`);
  describeNeeding('headless chromium and playwright-core', problem, requiredBy, title, body);
}
