import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { fmt, median, spread, table } from './harness';
import { STORE_CALLS, type AppMessage, type AppSpec, type AppStats, type StoreCall } from './http-contenders';
import type { DriveJob } from './http-drive';
import { WindowProfile, profileFileOf } from './http-profile';
import type { LoadJob, LoadResult } from './http-load';

/**
 * `npm run bench -- http [store…]`: each store, its anchor (the package it replaces) and the
 * in-process floor behind a real express 5 app with express-session, each app in a process of its
 * own, loaded by autocannon from another process, in interleaved rounds.
 */

export const STORES = ['memory', 'sqlite', 'redis', 'postgres', 'mysql', 'mongo'] as const;
export type StoreName = (typeof STORES)[number];

export interface HttpBenchOptions {
  stores: StoreName[];
  /** Seconds of load per contender per round. */
  durationSec: number;
  rounds: number;
  connections: number;
  /** Seconds of load per contender before the first round, not measured. */
  warmupSec: number;
  /** Sessions each app creates through POST /login before the load. */
  sessions: number;
  /** Share of requests that change the session; the rest only read it. */
  writeShare: number;
  /** Each app drives its store in its own process, as express-session does, without HTTP (`--in-process`): the store's own CPU per request. */
  inProcess: boolean;
}

export const DEFAULT_HTTP_OPTIONS: HttpBenchOptions = {
  stores: [...STORES],
  durationSec: 3,
  rounds: 3,
  connections: 64,
  warmupSec: 1,
  sessions: 1000,
  writeShare: 0.1,
  inProcess: false,
};

const TOUCH_AFTER_MS = 60_000;
const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const MONGO_DB = 'session_stores_bench';
/** CPU of other processes, in cores, above which a round is reported as suspect. */
const SUSPECT_OTHER_CORES = 0.5;
/** Share of the machine's time stolen by the hypervisor above which a round is reported as suspect. */
const SUSPECT_STEAL_SHARE = 0.05;
const APP_START_TIMEOUT_MS = 60_000;
const LOGIN_TIMEOUT_MS = 120_000;
const LOGIN_CONCURRENCY = 16;
/** Time a load job may take beyond its duration before the bench gives up on it. */
const LOAD_GRACE_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

/** The backend's own counters, read before and after each round. */
interface ServerCounters {
  /** Commands the server ran. */
  commands: number;
  /** Client socket reads by the server: one per batch of commands a client wrote. */
  reads: number;
  /** Commands the server ran, by name (those a script ran included). */
  byName: Record<string, number>;
}

/** One store's contenders, on the backend the bench set up for them, and how to read that backend. */
interface Group {
  store: StoreName;
  notes: string[];
  contenders: AppSpec[];
  /** What "round trips" counts for this store. */
  roundTrips: string;
  serverCounters?: () => Promise<ServerCounters>;
  /** CPU ticks of the server threads or processes that serve `spec`'s app, keyed by thread; undefined when they cannot be read here. */
  serverTicks?: (spec: AppSpec) => Promise<Map<string, number> | undefined>;
  /** Removes everything the bench created for the group and stops what it started. */
  cleanup(): Promise<void>;
}

export interface RoundRecord {
  round: number;
  contender: string;
  requests: number;
  seconds: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Requests the app served during the round (the denominator of every per-request figure). */
  appRequests: number;
  calls: Record<StoreCall, number>;
  statements?: number;
  serverCommands?: number;
  serverCommandsByName?: Record<string, number>;
  serverReads?: number;
  appCpuUs: number;
  serverCpuUs?: number;
  loadCpuUs: number;
  /** CPU that other processes on the machine used during the round, in cores. */
  otherCores: number;
  stealShare: number;
  loadavgBefore: number;
  loadavgAfter: number;
  suspect: boolean;
}

export interface ContenderSummary {
  name: string;
  kind: AppSpec['kind'];
  /** Median of the rounds, then the lowest and highest round. */
  reqPerSec: number;
  low: number;
  high: number;
  /** Medians of the rounds' latency percentiles, ms. */
  p50Ms: number;
  p99Ms: number;
  /** Store calls per request, by call and in all. */
  callsPerRequest: Record<StoreCall | 'total', number>;
  /** Backend round trips per request (see the group's `roundTrips`); null where not counted. */
  roundTripsPerRequest: number | null;
  /** Backend commands per request, where the server counts them; else null. */
  commandsPerRequest: number | null;
  /** The same, by command name: which commands a request costs (a skipped touch sends none). */
  commandsPerRequestByName: Record<string, number> | null;
  appCpuUsPerRequest: number;
  serverCpuUsPerRequest: number | null;
  /** Median over the rounds of the time per request above the floor's (1/req/s − 1/floor req/s), µs. */
  aboveFloorUs: number | null;
  failedRequests: number;
  suspectRounds: number;
}

export interface HttpRatio {
  ours: string;
  against: string;
  /** Ours' req/s over theirs, round by round: the median, lowest and highest. Above 1 = ours faster. */
  ratio: number;
  low: number;
  high: number;
  /** Against an anchor: median over the rounds of ours' time above the floor over theirs (at most 0.5 is the target). */
  costAboveFloorShare: number | null;
  /** Ours' app CPU per request over theirs, round by round: the median, lowest and highest. Below 1 = ours cheaper. */
  appCpuRatio: number;
  appCpuLow: number;
  appCpuHigh: number;
  /** Against an anchor: median over the rounds of ours' app CPU per request above the floor's over theirs. */
  appCpuAboveFloorShare: number | null;
  /** Rounds in which either side was suspect. */
  suspectRounds: number;
}

export interface GroupReport {
  store: StoreName;
  skipped?: string;
  notes: string[];
  roundTrips: string;
  contenders: ContenderSummary[];
  ratios: HttpRatio[];
  rounds: RoundRecord[];
}

export interface HttpReport {
  tool: 'http';
  date: string;
  node: string;
  machine: { cpus: number; model: string; loadavgAtStart: number[] };
  options: HttpBenchOptions;
  groups: GroupReport[];
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

const TSX = pathToFileURL(require.resolve('tsx')).href;

/** With SESSION_STORES_BENCH_CPU_PROF=<dir>, every app profiles its measured rounds (see http-profile.ts). */
const CPU_PROFILE_DIR = process.env.SESSION_STORES_BENCH_CPU_PROF;

function forkTs(file: string, args: string[]): ChildProcess {
  const child = fork(path.join(__dirname, file), args, { execArgv: ['--import', TSX], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** The next message from `child` that `accept` takes, within `timeoutMs`; an exit or an `error` message rejects. */
function nextMessage<T>(child: ChildProcess, what: string, timeoutMs: number, accept: (message: { type: string }) => message is T & { type: string }): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { type: string; message?: string }) => {
      if (message.type === 'error') finish(() => reject(new Error(`${what}: ${message.message}`)));
      else if (accept(message)) finish(() => resolve(message));
    };
    const onExit = (code: number | null) => finish(() => reject(new Error(`${what}: the process exited (${code})`)));
    const timer = setTimeout(() => finish(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms`))), timeoutMs);
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      settle();
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

interface App {
  spec: AppSpec;
  child: ChildProcess;
  port: number;
  pid: number;
  cookies: string[];
}

async function startApp(spec: AppSpec): Promise<App> {
  const child = forkTs('http-app.ts', [JSON.stringify(spec)]);
  const ready = await nextMessage(child, `starting ${spec.name}`, APP_START_TIMEOUT_MS, (m): m is Extract<AppMessage, { type: 'ready' }> => m.type === 'ready');
  return { spec, child, port: ready.port, pid: ready.pid, cookies: [] };
}

function appStats(app: App): Promise<AppStats> {
  app.child.send({ type: 'stats' });
  return nextMessage(app.child, `${app.spec.name} stats`, 10_000, (m): m is AppStats => m.type === 'stats');
}

/** The app's store driven in its own process (see http-drive.ts), answered as the load generator answers. */
function driveApp(app: App, job: Omit<DriveJob, 'type' | 'cookies'>): Promise<LoadResult> {
  app.child.send({ type: 'drive', cookies: app.cookies, ...job } satisfies DriveJob);
  return nextMessage(app.child, `${app.spec.name} driven`, job.durationSec * 1000 + LOAD_GRACE_MS, (m): m is LoadResult => m.type === 'result');
}

/** `durationSec` of requests against `app`: through HTTP from the load generator, or `--in-process` in the app's own process. */
function loadApp(app: App, load: LoadGenerator, options: HttpBenchOptions, durationSec: number, seed: number): Promise<LoadResult> {
  const { connections, writeShare } = options;
  if (options.inProcess) return driveApp(app, { concurrency: connections, durationSec, writeShare, seed });
  return load.run({ port: app.port, cookies: app.cookies, connections, durationSec, writeShare, seed });
}

/** Starts the app's profile of its measured rounds, once its logins and warm-up are behind it. */
function startProfile(app: App, file: string): Promise<unknown> {
  app.child.send({ type: 'profile', file });
  return nextMessage(app.child, `${app.spec.name} profiling`, 10_000, (m): m is { type: 'profiling' } => m.type === 'profiling');
}

async function stopApp(app: App): Promise<void> {
  if (app.child.exitCode !== null) return;
  const exited = new Promise((resolve) => app.child.once('exit', resolve));
  app.child.send({ type: 'stop' });
  const timer = setTimeout(() => app.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** Creates `count` sessions through the app's POST /login and returns their cookies. */
async function login(app: App, count: number): Promise<string[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: LOGIN_CONCURRENCY });
  const deadline = Date.now() + LOGIN_TIMEOUT_MS;
  const cookies: string[] = [];
  const one = () =>
    new Promise<string>((resolve, reject) => {
      const request = http.request({ host: '127.0.0.1', port: app.port, method: 'POST', path: '/login', agent, timeout: 10_000 }, (response) => {
        response.resume();
        const cookie = response.headers['set-cookie']?.[0]?.split(';', 1)[0];
        if (response.statusCode !== 204 || cookie === undefined) reject(new Error(`${app.spec.name}: POST /login answered ${response.statusCode} without a session cookie`));
        else resolve(cookie);
      });
      request.once('timeout', () => request.destroy(new Error(`${app.spec.name}: POST /login timed out`)));
      request.once('error', reject);
      request.end();
    });
  const worker = async () => {
    while (cookies.length < count) {
      if (Date.now() > deadline) throw new Error(`${app.spec.name}: ${cookies.length} of ${count} logins within ${LOGIN_TIMEOUT_MS} ms`);
      const index = cookies.push('') - 1;
      cookies[index] = await one();
    }
  };
  try {
    await Promise.all(Array.from({ length: LOGIN_CONCURRENCY }, worker));
  } finally {
    agent.destroy();
  }
  return cookies;
}

class LoadGenerator {
  private constructor(private readonly child: ChildProcess) {}

  static async start(): Promise<LoadGenerator> {
    const child = forkTs('http-load.ts', []);
    await nextMessage(child, 'starting the load generator', APP_START_TIMEOUT_MS, (m): m is { type: 'ready' } => m.type === 'ready');
    return new LoadGenerator(child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  run(job: Omit<LoadJob, 'type'>): Promise<LoadResult> {
    this.child.send({ type: 'run', ...job } satisfies LoadJob);
    return nextMessage(this.child, 'load', job.durationSec * 1000 + LOAD_GRACE_MS, (m): m is LoadResult => m.type === 'result');
  }

  stop(): void {
    this.child.kill('SIGTERM');
  }
}

const clockTicksPerSecond: number = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process or thread from its /proc stat file, in clock ticks; undefined when it cannot be read. */
function ticksOf(statFile: string): number | undefined {
  try {
    const text = fs.readFileSync(statFile, 'utf8');
    // The fields after the command name, which may itself hold spaces and parentheses.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/** The machine's busy and stolen clock ticks, and all of them, from /proc/stat; undefined off Linux. */
function machineTicks(): { busy: number; steal: number; total: number } | undefined {
  try {
    const [user, nice, system, idle, iowait, irq, softirq, steal] = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number) as number[];
    const busy = user! + nice! + system! + irq! + softirq! + steal!;
    return { busy, steal: steal!, total: busy + idle! + iowait! };
  } catch {
    return undefined;
  }
}

/** The process listening on 127.0.0.1:`port` (its socket found in /proc/net/tcp, then among the processes' descriptors); undefined when none is found. */
function listenerPid(port: number): number | undefined {
  const portHex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let inode: string | undefined;
  try {
    for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[1]?.endsWith(portHex) && fields[3] === '0A') inode = fields[9];
    }
  } catch {
    return undefined;
  }
  if (inode === undefined) return undefined;
  const socket = `socket:[${inode}]`;
  for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let descriptors: string[];
    try {
      descriptors = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of descriptors) {
      try {
        if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === socket) return Number(pid);
      } catch {
        // A descriptor closed while we looked.
      }
    }
  }
  return undefined;
}

function sumDelta(before: Map<string, number> | undefined, after: Map<string, number> | undefined): number | undefined {
  if (before === undefined || after === undefined) return undefined;
  let ticks = 0;
  for (const [key, value] of after) ticks += value - (before.get(key) ?? 0);
  return ticks;
}

/** One contender's load in one round, with every counter read before and after it. */
async function measure(group: Group, app: App, load: LoadGenerator, options: HttpBenchOptions, round: number): Promise<RoundRecord> {
  const own = () => [app.pid, load.pid, process.pid].map((pid) => ticksOf(`/proc/${pid}/stat`) ?? 0).reduce((a, b) => a + b, 0);
  // The floor has no backend: the server's figures are left out rather than read as the floor's.
  const backend: Pick<Partial<Group>, 'serverCounters' | 'serverTicks'> = app.spec.kind === 'floor' ? {} : group;
  const statsBefore = await appStats(app);
  const countersBefore = await backend.serverCounters?.();
  const serverBefore = await backend.serverTicks?.(app.spec);
  const loadavgBefore = os.loadavg()[0]!;
  const machineBefore = machineTicks();
  const ownBefore = own();
  const started = performance.now();
  const result = await loadApp(app, load, options, options.durationSec, round + 1);
  const elapsedSec = (performance.now() - started) / 1000;
  const ownAfter = own();
  const machineAfter = machineTicks();
  const serverAfter = await backend.serverTicks?.(app.spec);
  const countersAfter = await backend.serverCounters?.();
  const statsAfter = await appStats(app);
  const serverTicks = sumDelta(serverBefore, serverAfter);
  let otherCores = 0;
  let stealShare = 0;
  if (machineBefore && machineAfter) {
    const busy = machineAfter.busy - machineBefore.busy - (ownAfter - ownBefore) - (serverTicks ?? 0);
    otherCores = Math.max(0, busy / clockTicksPerSecond / elapsedSec);
    stealShare = (machineAfter.steal - machineBefore.steal) / Math.max(1, machineAfter.total - machineBefore.total);
  }
  const calls = Object.fromEntries(STORE_CALLS.map((call) => [call, statsAfter.calls[call] - statsBefore.calls[call]])) as Record<StoreCall, number>;
  return {
    round,
    contender: app.spec.name,
    requests: result.requests,
    seconds: result.seconds,
    reqPerSec: result.requests / result.seconds,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    appRequests: statsAfter.requests - statsBefore.requests,
    calls,
    ...(statsBefore.statements !== undefined && { statements: statsAfter.statements! - statsBefore.statements }),
    ...(countersBefore &&
      countersAfter && {
        serverCommands: countersAfter.commands - countersBefore.commands,
        serverCommandsByName: Object.fromEntries(Object.entries(countersAfter.byName).map(([name, calls]) => [name, calls - (countersBefore.byName[name] ?? 0)]).filter(([, calls]) => calls !== 0)),
        serverReads: countersAfter.reads - countersBefore.reads,
      }),
    appCpuUs: statsAfter.cpuUs - statsBefore.cpuUs,
    ...(serverTicks !== undefined && { serverCpuUs: (serverTicks * 1e6) / clockTicksPerSecond }),
    loadCpuUs: result.cpuUs,
    otherCores,
    stealShare,
    loadavgBefore,
    loadavgAfter: os.loadavg()[0]!,
    suspect: otherCores > SUSPECT_OTHER_CORES || stealShare > SUSPECT_STEAL_SHARE,
  };
}

async function runGroup(group: Group, load: LoadGenerator, options: HttpBenchOptions, log: (line: string) => void): Promise<GroupReport> {
  const apps: App[] = [];
  const rounds: RoundRecord[] = [];
  try {
    for (const spec of group.contenders) {
      const app = await startApp(spec);
      apps.push(app);
      app.cookies = await login(app, options.sessions);
      log(`${group.store}: ${spec.name} up, ${app.cookies.length} sessions created`);
    }
    for (const app of apps) {
      await loadApp(app, load, options, options.warmupSec, 0);
    }
    if (CPU_PROFILE_DIR) for (const app of apps) await startProfile(app, profileFileOf(group.store, app.spec.name));
    for (let round = 0; round < options.rounds; round++) {
      // Each round starts with the next contender, so none is always measured first or right after another.
      const order = [...apps.slice(round % apps.length), ...apps.slice(0, round % apps.length)];
      for (const app of order) {
        const record = await measure(group, app, load, options, round);
        rounds.push(record);
        log(
          `${group.store} round ${round + 1} ${app.spec.name}: ${Math.round(record.reqPerSec)} req/s, other load ${record.otherCores.toFixed(2)} cores` +
            (record.suspect ? ' (suspect)' : ''),
        );
      }
    }
  } finally {
    for (const app of apps) await stopApp(app);
  }
  const contenders = summarize(group, rounds);
  return { store: group.store, notes: group.notes, roundTrips: group.roundTrips, contenders, ratios: ratiosOf(group, rounds), rounds };
}

function recordsOf(rounds: RoundRecord[], name: string): RoundRecord[] {
  return rounds.filter((r) => r.contender === name);
}

/** Median over the rounds both ran of `value(mine, theirs)`, with the lowest and highest, and the rounds either side was suspect in. */
function perRound(rounds: RoundRecord[], mine: string, theirs: string, value: (mine: RoundRecord, theirs: RoundRecord) => number) {
  const pairs = recordsOf(rounds, mine).flatMap((m) => {
    const t = rounds.find((r) => r.contender === theirs && r.round === m.round);
    return t ? [{ value: value(m, t), suspect: m.suspect || t.suspect }] : [];
  });
  const values = pairs.map((p) => p.value).filter(Number.isFinite);
  const [low, high] = values.length === 0 ? [NaN, NaN] : [Math.min(...values), Math.max(...values)];
  return { median: median(values), low, high, suspect: pairs.filter((p) => p.suspect).length };
}

const usPerRequest = (record: RoundRecord) => 1e6 / record.reqPerSec;
const appCpuPerRequest = (record: RoundRecord) => record.appCpuUs / record.appRequests;

/** Median over the rounds of (ours − floor) / (theirs − floor) of `cost`; NaN in a round where theirs did not cost more than the floor. */
function shareAboveFloor(rounds: RoundRecord[], ours: string, theirs: string, floor: string, cost: (record: RoundRecord) => number): number {
  return perRound(rounds, ours, theirs, (m, t) => {
    const f = rounds.find((r) => r.contender === floor && r.round === m.round);
    return f && cost(t) > cost(f) ? (cost(m) - cost(f)) / (cost(t) - cost(f)) : NaN;
  }).median;
}

/** Each command's calls per request over `records`, most frequent first; null where the server does not count them. */
function commandsByNameOf(records: RoundRecord[], requests: number): Record<string, number> | null {
  if (records.length === 0 || records.some((r) => r.serverCommandsByName === undefined)) return null;
  const totals: Record<string, number> = {};
  for (const record of records) for (const [name, calls] of Object.entries(record.serverCommandsByName!)) totals[name] = (totals[name] ?? 0) + calls;
  return Object.fromEntries(Object.entries(totals).sort(([, a], [, b]) => b - a).map(([name, calls]) => [name, calls / requests]));
}

function summarize(group: Group, rounds: RoundRecord[]): ContenderSummary[] {
  const floor = group.contenders.find((c) => c.kind === 'floor')!;
  return group.contenders.map((spec) => {
    const records = recordsOf(rounds, spec.name);
    const sum = (value: (r: RoundRecord) => number | undefined) => records.reduce((total, r) => total + (value(r) ?? NaN), 0);
    const requests = sum((r) => r.appRequests);
    const perRequest = (value: (r: RoundRecord) => number | undefined) => (records.length > 0 && records.every((r) => value(r) !== undefined) ? sum(value) / requests : null);
    const callsPerRequest = Object.fromEntries(STORE_CALLS.map((call) => [call, sum((r) => r.calls[call]) / requests])) as Record<StoreCall, number>;
    const reqPerSec = records.map((r) => r.reqPerSec);
    return {
      name: spec.name,
      kind: spec.kind,
      reqPerSec: median(reqPerSec),
      low: Math.min(...reqPerSec),
      high: Math.max(...reqPerSec),
      p50Ms: median(records.map((r) => r.p50Ms)),
      p99Ms: median(records.map((r) => r.p99Ms)),
      callsPerRequest: { ...callsPerRequest, total: STORE_CALLS.reduce((total, call) => total + callsPerRequest[call], 0) },
      roundTripsPerRequest: perRequest((r) => r.statements ?? r.serverReads),
      commandsPerRequest: perRequest((r) => r.serverCommands),
      commandsPerRequestByName: commandsByNameOf(records, requests),
      appCpuUsPerRequest: sum((r) => r.appCpuUs) / requests,
      serverCpuUsPerRequest: perRequest((r) => r.serverCpuUs),
      aboveFloorUs: spec.kind === 'floor' ? null : perRound(rounds, spec.name, floor.name, (m, f) => usPerRequest(m) - usPerRequest(f)).median,
      failedRequests: sum((r) => r.non2xx + r.errors + r.timeouts),
      suspectRounds: records.filter((r) => r.suspect).length,
    };
  });
}

function ratiosOf(group: Group, rounds: RoundRecord[]): HttpRatio[] {
  const floor = group.contenders.find((c) => c.kind === 'floor')!;
  const anchor = group.contenders.find((c) => c.kind === 'anchor')!;
  const ratios: HttpRatio[] = [];
  for (const spec of group.contenders.filter((c) => c.kind !== 'floor')) {
    const drivers = group.contenders.filter((c) => c.kind === 'driver' && c.driverFor === spec.build);
    for (const against of spec.kind === 'ours' ? [anchor, ...drivers, floor] : [floor]) {
      const ratio = perRound(rounds, spec.name, against.name, (m, t) => m.reqPerSec / t.reqPerSec);
      const appCpu = perRound(rounds, spec.name, against.name, (m, t) => appCpuPerRequest(m) / appCpuPerRequest(t));
      const anchored = against.kind === 'anchor';
      ratios.push({
        ours: spec.name,
        against: against.name,
        ratio: ratio.median,
        low: ratio.low,
        high: ratio.high,
        // Where the anchor ran no slower than the floor in a round, the share has no meaning there.
        costAboveFloorShare: anchored ? shareAboveFloor(rounds, spec.name, against.name, floor.name, usPerRequest) : null,
        appCpuRatio: appCpu.median,
        appCpuLow: appCpu.low,
        appCpuHigh: appCpu.high,
        appCpuAboveFloorShare: anchored ? shareAboveFloor(rounds, spec.name, against.name, floor.name, appCpuPerRequest) : null,
        suspectRounds: ratio.suspect,
      });
    }
  }
  return ratios;
}

const FLOOR: AppSpec = { name: 'floor (Map store)', kind: 'floor', build: 'floor', config: {} };

/** A package's version, from the package.json above its entry point (not every package exports that path); `from` names the package whose copy to read. */
function versionOf(name: string, from?: string): string {
  let dir = path.dirname(require.resolve(name, from === undefined ? undefined : { paths: [path.dirname(require.resolve(from))] }));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Ours as its README sets it up, and again with touchAfter. */
function oursTwice(name: string, build: AppSpec['build'], config: (label: string) => AppSpec['config']): AppSpec[] {
  return [
    { name, kind: 'ours', build, config: config('ours') },
    { name: `${name} touchAfter=${TOUCH_AFTER_MS}`, kind: 'ours', build, config: { ...config('ours_ta'), touchAfter: TOUCH_AFTER_MS } },
  ];
}

const scratchLabel = (label: string) => `ss_bench_http_${label}_${randomBytes(3).toString('hex')}`;

async function memoryGroup(): Promise<Group> {
  return {
    store: 'memory',
    notes: [`express-session ${versionOf('express-session')}; everything in the app process`],
    contenders: [...oursTwice('MemoryStore', 'memory', () => ({})), { name: 'express-session MemoryStore', kind: 'anchor', build: 'express-session-memory', config: {} }, FLOOR],
    roundTrips: 'none (in process)',
    cleanup: async () => undefined,
  };
}

async function sqliteGroup(): Promise<Group> {
  const dirs: string[] = [];
  const file = (label: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `session-stores-bench-http-${label}-`));
    dirs.push(dir);
    return path.join(dir, 'sessions.db');
  };
  const contenders: AppSpec[] = [
    ...oursTwice('SqliteStore', 'sqlite', (label) => ({ filename: file(label) })),
    { name: 'better-sqlite3-session-store', kind: 'anchor', build: 'better-sqlite3-session-store', config: { filename: file('anchor') } },
    FLOOR,
  ];
  for (const spec of contenders.filter((c) => c.kind !== 'floor')) spec.countQueries = 'better-sqlite3';
  return {
    store: 'sqlite',
    notes: [
      `better-sqlite3 ${versionOf('better-sqlite3')}, better-sqlite3-session-store ${versionOf('better-sqlite3-session-store')}, a file of its own per contender in ${os.tmpdir()}`,
      'SqliteStore with its defaults (WAL, synchronous=NORMAL); better-sqlite3-session-store as its README: a better-sqlite3 database with its defaults, expired: { clear: true, intervalMs: 900000 }',
      "round trips: statements run through better-sqlite3's run, get, all and iterate, in the app process",
    ],
    contenders,
    roundTrips: 'statements run through better-sqlite3 (in process)',
    cleanup: async () => {
      for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function redisGroup(): Promise<Group | string> {
  const { redisServersProblem, startRedisServer } = await import('../test/support/redis-servers');
  const problem = redisServersProblem();
  // Its counters must count our commands only, so the bench runs on a server of its own.
  if (problem !== undefined) return `needs a throwaway redis-server for its counters: ${problem}`;
  const server = await startRedisServer();
  const { Redis } = await import('ioredis');
  const probe = new Redis(server.url);
  const info = async (section: string) => {
    const text = await probe.info(section);
    return (field: string) => Number(new RegExp(`^${field}:(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  };
  const serverInfo = await probe.info('server');
  const pid = Number(/process_id:(\d+)/.exec(serverInfo)?.[1]);
  const version = /redis_version:(\S+)/.exec(serverInfo)?.[1] ?? 'unknown';
  const prefix = (label: string) => `bench-http:${label}:${randomBytes(4).toString('hex')}:`;
  return {
    store: 'redis',
    notes: [
      `Redis ${version}, a throwaway redis-server on port ${server.port} (removed afterwards); ioredis ${versionOf('ioredis')}, redis (node-redis) ${versionOf('redis')}, connect-redis ${versionOf('connect-redis')}`,
      "RedisStore as its README: { url } (its own ioredis client); on node-redis: a connected createClient() handed in as client; connect-redis as its README: a connected node-redis client",
      "ioredis by hand: connect-redis' commands (GET, SET … PX, PEXPIRE, DEL) through an ioredis client's own methods, as connect-redis sent them on ioredis up to its version 7: what any store on ioredis pays for the client",
      'commands: INFO commandstats calls (INFO itself left out); round trips: INFO stats total_reads_processed (socket reads by the server)',
    ],
    contenders: [
      ...oursTwice('RedisStore', 'redis-ioredis', (label) => ({ url: server.url, prefix: prefix(label) })),
      ...oursTwice('RedisStore (node-redis)', 'redis-node-redis', (label) => ({ url: server.url, prefix: prefix(`node_${label}`) })),
      { name: 'connect-redis', kind: 'anchor', build: 'connect-redis', config: { url: server.url, prefix: prefix('anchor') } },
      { name: 'ioredis by hand', kind: 'driver', driverFor: 'redis-ioredis', build: 'ioredis-by-hand', config: { url: server.url, prefix: prefix('by_hand') } },
      FLOOR,
    ],
    roundTrips: 'socket reads by the Redis server',
    serverCounters: async () => {
      const commandstats = await probe.info('commandstats');
      let commands = 0;
      const byName: Record<string, number> = {};
      for (const match of commandstats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
        if (match[1] === 'info') continue;
        commands += Number(match[2]);
        byName[match[1]!] = Number(match[2]);
      }
      return { commands, byName, reads: (await info('stats'))('total_reads_processed') };
    },
    serverTicks: async () => {
      const ticks = ticksOf(`/proc/${pid}/stat`);
      return ticks === undefined ? undefined : new Map([['redis', ticks]]);
    },
    cleanup: async () => {
      await probe.quit();
      await server.destroy();
    },
  };
}

async function postgresGroup(): Promise<Group | string> {
  const { Pool } = await import('pg');
  const admin = new Pool({ connectionString: POSTGRES_URL, max: 1 });
  let version: string;
  try {
    version = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
  } catch (error) {
    await admin.end();
    return `PostgreSQL at ${POSTGRES_URL.replace(/\/\/[^@]*@/, '//')} does not answer: ${error instanceof Error ? error.message : String(error)}`;
  }
  const schemas: string[] = [];
  const scratch = (label: string): AppSpec['config'] => {
    const name = scratchLabel(label);
    schemas.push(name);
    return { url: POSTGRES_URL, schemaName: name, applicationName: name };
  };
  const contenders: AppSpec[] = [
    ...oursTwice('PostgresStore', 'postgres', scratch),
    { name: 'connect-pg-simple', kind: 'anchor', build: 'connect-pg-simple', config: scratch('anchor') },
    FLOOR,
  ];
  for (const spec of contenders.filter((c) => c.kind !== 'floor')) {
    spec.countQueries = 'pg';
    await admin.query(`CREATE SCHEMA "${spec.config.schemaName}"`);
  }
  return {
    store: 'postgres',
    notes: [
      `PostgreSQL ${version} at ${POSTGRES_URL.replace(/\/\/[^@]*@/, '//')}, pg ${versionOf('pg')}, connect-pg-simple ${versionOf('connect-pg-simple')}; a schema of its own per contender (dropped afterwards)`,
      'each contender on a pg.Pool of 16 connections that stay open between rounds (idleTimeoutMillis: 0); connect-pg-simple as its README: { pool, createTableIfMissing: true }',
      "round trips: queries the app sent through pg's Client.query; database CPU: /proc of the server backends whose application_name is the contender's",
    ],
    contenders,
    roundTrips: "queries sent through pg's Client.query",
    serverTicks: async (spec) => {
      const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [spec.config.applicationName]);
      const ticks = new Map<string, number>();
      for (const { pid } of rows) {
        const value = ticksOf(`/proc/${pid}/stat`);
        if (value === undefined) return undefined;
        ticks.set(String(pid), value);
      }
      return ticks;
    },
    cleanup: async () => {
      for (const name of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
      await admin.end();
    },
  };
}

async function mysqlGroup(): Promise<Group | string> {
  const mysql = await import('mysql2');
  const admin = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 1 }).promise();
  let row: { version: string; pidFile: string };
  try {
    [[row]] = (await admin.query('SELECT VERSION() AS version, @@pid_file AS pidFile')) as unknown as [[{ version: string; pidFile: string }]];
  } catch (error) {
    await admin.end();
    return `MySQL at ${MYSQL_URL.replace(/\/\/[^@]*@/, '//')} does not answer: ${error instanceof Error ? error.message : String(error)}`;
  }
  const { version } = row;
  // A server on another machine, or one whose pid file this user cannot read: its CPU is not read.
  let serverPid: number | undefined;
  try {
    serverPid = Number(fs.readFileSync(row.pidFile, 'utf8').trim()) || undefined;
  } catch {
    serverPid = undefined;
  }
  const databases: string[] = [];
  const scratch = (label: string): AppSpec['config'] => {
    const name = scratchLabel(label);
    databases.push(name);
    const url = new URL(MYSQL_URL);
    url.pathname = `/${name}`;
    return { url: url.toString(), database: name };
  };
  const contenders: AppSpec[] = [
    ...oursTwice('MySqlStore', 'mysql', scratch),
    { name: 'express-mysql-session', kind: 'anchor', build: 'express-mysql-session', config: scratch('anchor') },
    FLOOR,
  ];
  for (const spec of contenders.filter((c) => c.kind !== 'floor')) {
    spec.countQueries = 'mysql2';
    await admin.query(`CREATE DATABASE \`${spec.config.database}\``);
  }
  return {
    store: 'mysql',
    notes: [
      `${version} at ${MYSQL_URL.replace(/\/\/[^@]*@/, '//')}, mysql2 ${versionOf('mysql2')} (express-mysql-session's own: ${versionOf('mysql2', 'express-mysql-session')}), express-mysql-session ${versionOf('express-mysql-session')}; a database of its own per contender (dropped afterwards)`,
      'each contender on a pool of 16 connections; express-mysql-session as its README, with connectionLimit 16',
      "round trips: statements the app sent through mysql2's query and execute; database CPU: /proc of the server threads (PROCESSLIST TID) on the contender's database",
    ],
    contenders,
    roundTrips: "statements sent through mysql2's query and execute",
    serverTicks: async (spec) => {
      if (serverPid === undefined) return undefined;
      const [rows] = (await admin.query('SELECT TID AS tid FROM information_schema.PROCESSLIST WHERE DB = ?', [spec.config.database]).catch(() => [undefined])) as [{ tid: number }[] | undefined];
      if (rows === undefined) return undefined;
      const ticks = new Map<string, number>();
      for (const { tid } of rows) {
        const value = ticksOf(`/proc/${serverPid}/task/${tid}/stat`);
        if (value === undefined) return undefined;
        ticks.set(String(tid), value);
      }
      return ticks;
    },
    cleanup: async () => {
      for (const name of databases) await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.end();
    },
  };
}

async function mongoGroup(): Promise<Group | string> {
  const { findServer } = await import('./mongo');
  const server = await findServer();
  if ('reason' in server) return server.reason;
  const { MongoClient } = await import('mongodb');
  // Only a server of the bench's own has CPU that is all ours.
  const pid = server.server.includes('a throwaway') ? listenerPid(Number(new URL(server.url).port)) : undefined;
  const collections: string[] = [];
  const scratch = (label: string): AppSpec['config'] => {
    const name = scratchLabel(label);
    collections.push(name);
    return { url: server.url, dbName: MONGO_DB, collectionName: name, lacksTtl: server.lacksTtl };
  };
  return {
    store: 'mongo',
    notes: [
      `server: ${server.server}; mongodb driver ${versionOf('mongodb')}, connect-mongo ${versionOf('connect-mongo')}; database ${MONGO_DB}, a collection of its own per contender (dropped afterwards)`,
      `connect-mongo as its README: { mongoUrl }${server.lacksTtl ? ", with autoRemove 'interval' (the server has no TTL indexes)" : ''}`,
      pid === undefined ? 'database CPU: not read (not a server of the bench\'s own, or its process not found)' : `database CPU: /proc of the server process (pid ${pid})`,
    ],
    contenders: [
      ...oursTwice('MongoStore', 'mongo', scratch),
      { name: 'connect-mongo', kind: 'anchor', build: 'connect-mongo', config: scratch('anchor') },
      FLOOR,
    ],
    roundTrips: 'not counted',
    serverTicks: async () => {
      const ticks = pid === undefined ? undefined : ticksOf(`/proc/${pid}/stat`);
      return ticks === undefined ? undefined : new Map([['mongo', ticks]]);
    },
    cleanup: async () => {
      const client = new MongoClient(server.url);
      try {
        for (const name of collections) await client.db(MONGO_DB).collection(name).drop().catch(() => undefined);
      } finally {
        await client.close();
      }
    },
  };
}

const GROUPS: Record<StoreName, () => Promise<Group | string>> = {
  memory: memoryGroup,
  sqlite: sqliteGroup,
  redis: redisGroup,
  postgres: postgresGroup,
  mysql: mysqlGroup,
  mongo: mongoGroup,
};

export async function runHttpBench(options: HttpBenchOptions = DEFAULT_HTTP_OPTIONS, log: (line: string) => void = () => undefined): Promise<HttpReport> {
  const cpus = os.cpus();
  const report: HttpReport = {
    tool: 'http',
    date: new Date().toISOString(),
    node: process.version,
    machine: { cpus: cpus.length, model: cpus[0]?.model ?? 'unknown', loadavgAtStart: os.loadavg() },
    options,
    groups: [],
  };
  if (CPU_PROFILE_DIR) {
    // The apps' checks, made once before any starts: a bad interval fails here, and the directory exists.
    WindowProfile.fromEnvironment();
    fs.mkdirSync(CPU_PROFILE_DIR, { recursive: true });
    // The apps would find their files taken only once the run is over: an earlier run's profiles are refused now.
    if (fs.readdirSync(CPU_PROFILE_DIR).some((file) => file.endsWith('.cpuprofile'))) {
      throw new Error(`SESSION_STORES_BENCH_CPU_PROF=${CPU_PROFILE_DIR} already holds profiles, which are never written over: give an empty or new directory`);
    }
  }
  const load = await LoadGenerator.start();
  try {
    for (const store of options.stores) {
      const group = await GROUPS[store]();
      if (typeof group === 'string') {
        log(`${store}: skipped: ${group}`);
        report.groups.push({ store, skipped: group, notes: [], roundTrips: 'not counted', contenders: [], ratios: [], rounds: [] });
        continue;
      }
      try {
        report.groups.push(await runGroup(group, load, options, log));
      } finally {
        await group.cleanup();
      }
    }
  } finally {
    load.stop();
  }
  return report;
}

const perRequest = (value: number | null, digits: number) => (value === null ? '-' : fmt(value, digits));

export function formatHttpReport(report: HttpReport): string {
  const { options, machine } = report;
  const lines = [
    `http: ${report.date.slice(0, 16).replace('T', ' ')} UTC, node ${report.node}, ${machine.cpus} × ${machine.model}, load average at start ${machine.loadavgAtStart.map((l) => l.toFixed(2)).join(' ')}`,
    (options.inProcess
      ? `  --in-process: each app in a process of its own drives its store as express-session does (get, then touch or set), no HTTP, ${options.connections} requests in flight, `
      : `  express 5 + express-session (resave: false, saveUninitialized: false), each app in a process of its own; autocannon in another, ${options.connections} connections, `) +
      `${Math.round((1 - options.writeShare) * 100)}% that read the session, ${Math.round(options.writeShare * 100)}% that change it, over ${options.sessions} sessions created through POST /login`,
    `  ${options.rounds} interleaved rounds of ${options.durationSec} s per contender after ${options.warmupSec} s of warm-up; a round is suspect when other processes used more than ${SUSPECT_OTHER_CORES} cores or steal passed ${SUSPECT_STEAL_SHARE * 100}%`,
  ];
  // In process a request costs a few µs, and a tenth of one tells contenders apart.
  const cpuDigits = options.inProcess ? 1 : 0;
  for (const group of report.groups) {
    lines.push('', `${group.store}${group.skipped ? `: skipped: ${group.skipped}` : ''}`);
    if (group.skipped) continue;
    for (const note of group.notes) lines.push(`  ${note}`);
    lines.push(
      ...table(
        ['contender', 'req/s', 'rounds', 'p50 ms', 'p99 ms', 'calls/req', 'get+set+touch+destroy', 'round trips/req', 'commands/req', 'app CPU µs/req', 'db CPU µs/req', 'µs/req above floor', 'failed', 'suspect'],
        1,
        group.contenders.map((c) => [
          c.name,
          fmt(c.reqPerSec, 0),
          `${fmt(c.low, 0)}-${fmt(c.high, 0)}`,
          fmt(c.p50Ms, 1),
          fmt(c.p99Ms, 1),
          fmt(c.callsPerRequest.total, 2),
          STORE_CALLS.map((call) => fmt(c.callsPerRequest[call], 2)).join('+'),
          perRequest(c.roundTripsPerRequest, 2),
          perRequest(c.commandsPerRequest, 2),
          fmt(c.appCpuUsPerRequest, cpuDigits),
          perRequest(c.serverCpuUsPerRequest, cpuDigits),
          perRequest(c.aboveFloorUs, 0),
          String(c.failedRequests),
          `${c.suspectRounds}/${options.rounds}`,
        ]),
      ),
    );
    const byName = group.contenders.filter((c) => c.commandsPerRequestByName !== null);
    if (byName.length > 0) {
      lines.push('', '  commands per request, by name (a script counted with the commands it ran)');
      for (const c of byName) lines.push(`  ${c.name}: ${Object.entries(c.commandsPerRequestByName!).map(([name, calls]) => `${name} ${fmt(calls, 2)}`).join(', ')}`);
    }
    lines.push('', '  ratios, round by round (median, lowest-highest): req/s, and app CPU per request; above floor: ours over theirs, at most 0.5 is the target');
    const ratio = (value: number) => (Number.isFinite(value) ? `${fmt(value, 2)}x` : '-');
    const share = (value: number | null) => (value === null ? '' : Number.isFinite(value) ? fmt(value, 2) : '-');
    lines.push(
      ...table(
        ['pair', 'req/s', 'rounds', 'time above floor', 'app CPU', 'rounds', 'app CPU above floor', 'suspect rounds'],
        1,
        group.ratios.map((r) => [
          `${r.ours} vs ${r.against}`,
          ratio(r.ratio),
          Number.isFinite(r.low) ? spread(r) : '-',
          share(r.costAboveFloorShare),
          ratio(r.appCpuRatio),
          Number.isFinite(r.appCpuLow) ? spread({ low: r.appCpuLow, high: r.appCpuHigh }) : '-',
          share(r.appCpuAboveFloorShare),
          String(r.suspectRounds),
        ]),
      ).map((line) => `  ${line}`),
    );
    for (const r of group.rounds.filter((record) => record.suspect)) {
      lines.push(`  warning: round ${r.round + 1}, ${r.contender}: other processes used ${r.otherCores.toFixed(2)} cores, steal ${(r.stealShare * 100).toFixed(1)}%, load average ${r.loadavgBefore.toFixed(2)} → ${r.loadavgAfter.toFixed(2)}`);
    }
  }
  return lines.join('\n');
}

const USAGE = `usage: npm run bench -- http [${STORES.join('|')} …] [--json] [--in-process] [--duration=S] [--rounds=N] [--connections=N] [--warmup=S] [--sessions=N]`;

function boundedInteger(flag: string, text: string, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0 || value > max) throw new Error(`${flag} needs an integer from 1 to ${max}, got ${JSON.stringify(text)}\n${USAGE}`);
  return value;
}

export function parseHttpArgs(argv: string[]): { json: boolean; options: HttpBenchOptions } {
  const options = { ...DEFAULT_HTTP_OPTIONS, stores: [] as StoreName[] };
  let json = false;
  for (const arg of argv) {
    const [flag, value = ''] = arg.split('=', 2) as [string, string?];
    if (flag === '--json') json = true;
    else if (arg === '--in-process') options.inProcess = true;
    else if (flag === '--duration') options.durationSec = boundedInteger(flag, value, 60);
    else if (flag === '--rounds') options.rounds = boundedInteger(flag, value, 20);
    else if (flag === '--connections') options.connections = boundedInteger(flag, value, 1024);
    else if (flag === '--warmup') options.warmupSec = boundedInteger(flag, value, 60);
    else if (flag === '--sessions') options.sessions = boundedInteger(flag, value, 100_000);
    else if ((STORES as readonly string[]).includes(flag) && !options.stores.includes(flag as StoreName)) options.stores.push(flag as StoreName);
    else throw new Error(`unknown argument ${arg}\n${USAGE}`);
  }
  if (options.stores.length === 0) options.stores = [...STORES];
  return { json, options };
}
