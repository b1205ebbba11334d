import { existsSync } from 'node:fs';
import path from 'node:path';
import { STORES } from '../scripts/registry';
import { DEFAULT_OPTIONS, formatReport, runBench, type BenchOptions, type BenchSuite } from './harness';

/**
 * The stores of the registry that have a suite: `bench/<store>.ts` default-exports a function
 * returning its BenchSuite, loaded only when asked for, so one store's driver is all a run needs.
 */
const SUITES: readonly string[] = STORES.map((store) => store.name).filter((name) => existsSync(path.join(__dirname, `${name}.ts`)));

async function loadSuite(name: string): Promise<BenchSuite> {
  const suite = (await import(`./${name}`)) as { default: () => BenchSuite | Promise<BenchSuite> };
  return suite.default();
}

const USAGE = `usage: npm run bench -- <${SUITES.join('|')}|http> [--json] [--ops=N] [--budget=MS] [--rounds=N] [--concurrency=1,64]
       npm run bench -- prune <store …>   # only the prune measurement of stores that have one
       npm run bench -- profiles <dir> [--functions] [--top=N]   # the profiles of SESSION_STORES_BENCH_CPU_PROF=<dir> npm run bench -- http …`;

function parseArgs(argv: string[]): { suite: string; json: boolean; options: BenchOptions } {
  const options = { ...DEFAULT_OPTIONS };
  let suite: string | undefined;
  let json = false;
  for (const arg of argv) {
    const [flag, value = ''] = arg.split('=', 2) as [string, string?];
    if (flag === '--json') json = true;
    else if (flag === '--ops') options.ops = positiveInteger(flag, value);
    else if (flag === '--budget') options.budgetMs = positiveInteger(flag, value);
    else if (flag === '--rounds') options.rounds = positiveInteger(flag, value);
    else if (flag === '--concurrency') options.concurrencies = value.split(',').map((c) => positiveInteger(flag, c));
    else if (!flag.startsWith('--') && suite === undefined) suite = flag;
    else throw new Error(`unknown argument ${arg}\n${USAGE}`);
  }
  if (suite === undefined || !SUITES.includes(suite)) throw new Error(USAGE);
  return { suite, json, options };
}

function positiveInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${flag} needs a positive integer, got ${JSON.stringify(text)}`);
  return value;
}

async function main(): Promise<void> {
  if (process.argv[2] === 'http') {
    const { formatHttpReport, parseHttpArgs, runHttpBench } = await import('./http');
    const { json, options } = parseHttpArgs(process.argv.slice(3));
    const report = await runHttpBench(options, (line) => process.stderr.write(`${line}\n`));
    const text = json ? `${JSON.stringify(report, null, 2)}\n` : `${formatHttpReport(report)}\n`;
    await new Promise((resolve) => process.stdout.write(text, resolve));
    return;
  }
  if (process.argv[2] === 'profiles') {
    const { runProfiles } = await import('./profiles');
    const text = `${runProfiles(process.argv.slice(3))}\n`;
    await new Promise((resolve) => process.stdout.write(text, resolve));
    return;
  }
  if (process.argv[2] === 'prune') {
    const names = process.argv.slice(3);
    if (names.length === 0 || names.some((name) => !SUITES.includes(name))) throw new Error(USAGE);
    for (const name of names) {
      const { measurePrune } = (await import(`./${name}`)) as { measurePrune?: () => Promise<string[]> };
      if (!measurePrune) throw new Error(`the ${name} suite has no prune measurement (its backend expires sessions itself)`);
      process.stdout.write(`${name} ${(await measurePrune()).join('\n')}\n`);
    }
    return;
  }
  const { suite, json, options } = parseArgs(process.argv.slice(2));
  const report = await runBench(await loadSuite(suite), options, (line) => process.stderr.write(`${line}\n`));
  const text = json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`;
  await new Promise((resolve) => process.stdout.write(text, resolve));
}

main().then(
  // Some contenders leave timers they give no way to stop (better-sqlite3-session-store's setInterval).
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
