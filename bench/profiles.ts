import fs from 'node:fs';
import path from 'node:path';
import { table } from './harness';

/**
 * `npm run bench -- profiles <dir> [--functions] [--top=N]`: the CPU profiles that
 * `SESSION_STORES_BENCH_CPU_PROF=<dir> npm run bench -- http …` wrote, side by side, in µs of
 * main-thread CPU per request: self time by where the code lives (a package, a folder of this
 * project, a Node module, or V8's own: the garbage collector, a native call such as `writev`), or
 * with `--functions` by function. Idle time is left out. Only reads the directory.
 */

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** The profile's file name, without its extension: `<store>-<contender>`. */
  name: string;
  requests: number;
  /** µs of self time per request, by bucket. */
  perRequest: Map<string, number>;
}

const PROJECT_ROOT = path.resolve(__dirname, '..');

/** Where a frame's code lives: `pg`, `@scope/pkg`, `shared`, `stores/redis`, `node:_http_server`, `(garbage collector)`. */
export function bucketOf(url: string, functionName: string): string {
  // V8's own entries are named in brackets already: (garbage collector), (program).
  if (url === '') return functionName.startsWith('(') ? functionName : `(${functionName || 'native'})`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return `node:${url.slice('node:'.length).split('/')[0]}`;
  const file = url.startsWith('file://') ? new URL(url).pathname : url;
  const relative = path.relative(PROJECT_ROOT, file);
  if (relative.startsWith('..') || path.isAbsolute(relative)) return file;
  const [top, second] = relative.split(path.sep);
  return top === 'stores' && second !== undefined ? `stores/${second}` : top!;
}

function functionOf(url: string, functionName: string, lineNumber: number): string {
  const where = url === '' ? '' : ` ${bucketOf(url, functionName)}:${lineNumber + 1}`;
  return `${functionName || '(anonymous)'}${where}`;
}

/** Self time per request of one profile, by bucket or by function of each sampled frame; idle samples are left out. */
export function summarize(name: string, profile: CpuProfile, requests: number, byFunction: boolean): ProfileSummary {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const perRequest = new Map<string, number>();
  profile.samples.forEach((id, index) => {
    const frame = frames.get(id);
    if (frame === undefined || frame.functionName === '(idle)') return;
    const key = byFunction ? functionOf(frame.url, frame.functionName, frame.lineNumber) : bucketOf(frame.url, frame.functionName);
    perRequest.set(key, (perRequest.get(key) ?? 0) + (profile.timeDeltas[index] ?? 0) / requests);
  });
  return { name, requests, perRequest };
}

/** Every profile in `dir` that has its `.json` of requests beside it, in name order. */
export function readProfiles(dir: string, byFunction: boolean): ProfileSummary[] {
  const names = fs
    .readdirSync(dir)
    .filter((file) => file.endsWith('.cpuprofile'))
    .map((file) => file.slice(0, -'.cpuprofile'.length))
    .filter((name) => fs.existsSync(path.join(dir, `${name}.json`)))
    .sort();
  if (names.length === 0) throw new Error(`${dir} holds no profile of \`SESSION_STORES_BENCH_CPU_PROF=${dir} npm run bench -- http …\``);
  return names.map((name) => {
    const { requests } = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8')) as { requests: number };
    const profile = JSON.parse(fs.readFileSync(path.join(dir, `${name}.cpuprofile`), 'utf8')) as CpuProfile;
    return summarize(name, profile, Math.max(1, requests), byFunction);
  });
}

/** The table: one column per profile, its total first, then the `top` keys that weigh most in any profile. */
export function formatProfiles(summaries: ProfileSummary[], top: number): string {
  const weight = new Map<string, number>();
  for (const { perRequest } of summaries) for (const [key, us] of perRequest) weight.set(key, Math.max(weight.get(key) ?? 0, us));
  const keys = [...weight].sort((a, b) => b[1] - a[1]).slice(0, top).map(([key]) => key);
  const us = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(1));
  const total = (summary: ProfileSummary) => [...summary.perRequest.values()].reduce((sum, value) => sum + value, 0);
  const rows = [
    ['requests', ...summaries.map((summary) => String(summary.requests))],
    ['total', ...summaries.map((summary) => us(total(summary)))],
    ...keys.map((key) => [key, ...summaries.map((summary) => us(summary.perRequest.get(key)))]),
  ];
  const lines = [
    'main-thread CPU per request (µs), self time, idle left out',
    ...summaries.map((summary, index) => `  [${index + 1}] ${summary.name}`),
    ...table(['', ...summaries.map((_, index) => `[${index + 1}]`)], 1, rows),
  ];
  return lines.join('\n');
}

export function runProfiles(argv: string[]): string {
  const usage = 'usage: npm run bench -- profiles <dir> [--functions] [--top=N]';
  let dir: string | undefined;
  let byFunction = false;
  let top = 30;
  for (const arg of argv) {
    const [flag, value = ''] = arg.split('=', 2) as [string, string?];
    if (flag === '--functions') byFunction = true;
    else if (flag === '--top') {
      top = Number(value);
      if (!Number.isInteger(top) || top <= 0) throw new Error(`--top needs a positive integer, got ${JSON.stringify(value)}\n${usage}`);
    } else if (!flag.startsWith('--') && dir === undefined) dir = arg;
    else throw new Error(`unknown argument ${arg}\n${usage}`);
  }
  if (dir === undefined) throw new Error(usage);
  return formatProfiles(readProfiles(dir, byFunction), top);
}
