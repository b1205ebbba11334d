import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { HttpReport } from '../bench/http';
import { drive, sidOfCookie } from '../bench/http-drive';
import { profileFileOf } from '../bench/http-profile';
import { MemoryStore } from '../stores/memory';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..');

describe('npm run bench -- http', () => {
  it('measures memory, its anchor and the floor through HTTP and reports ratios, latencies and store calls per request', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'bench/run.ts', 'http', 'memory', '--json', '--duration=1', '--rounds=2', '--warmup=1', '--connections=4', '--sessions=20'],
      { cwd: ROOT, timeout: 170_000, maxBuffer: 16 * 1024 * 1024 },
    );
    const report = JSON.parse(stdout) as HttpReport;
    expect(report.tool).toBe('http');
    expect(report.options).toMatchObject({ stores: ['memory'], durationSec: 1, rounds: 2, connections: 4, sessions: 20 });
    expect(report.groups).toHaveLength(1);
    const [group] = report.groups;
    expect(group!.skipped).toBeUndefined();
    expect(group!.contenders.map((c) => c.kind)).toEqual(['ours', 'ours', 'anchor', 'floor']);
    for (const contender of group!.contenders) {
      expect(contender.reqPerSec).toBeGreaterThan(0);
      expect(contender.low).toBeLessThanOrEqual(contender.high);
      expect(contender.p50Ms).toBeGreaterThanOrEqual(0);
      expect(contender.p99Ms).toBeGreaterThanOrEqual(contender.p50Ms);
      // Every request carries a session cookie: express-session reads the session once, then saves or touches it.
      expect(contender.callsPerRequest.get).toBeGreaterThan(0.9);
      expect(contender.callsPerRequest.get).toBeLessThan(1.1);
      expect(contender.callsPerRequest.set + contender.callsPerRequest.touch).toBeGreaterThan(0.9);
      expect(contender.callsPerRequest.total).toBeCloseTo(contender.callsPerRequest.get + contender.callsPerRequest.set + contender.callsPerRequest.touch + contender.callsPerRequest.destroy);
      expect(contender.appCpuUsPerRequest).toBeGreaterThan(0);
      expect(contender.roundTripsPerRequest).toBeNull();
      expect(contender.failedRequests).toBe(0);
      expect(contender.suspectRounds).toBeGreaterThanOrEqual(0);
    }
    expect(group!.ratios.map((r) => `${r.ours} vs ${r.against}`)).toEqual([
      'MemoryStore vs express-session MemoryStore',
      'MemoryStore vs floor (Map store)',
      'MemoryStore touchAfter=60000 vs express-session MemoryStore',
      'MemoryStore touchAfter=60000 vs floor (Map store)',
      'express-session MemoryStore vs floor (Map store)',
    ]);
    for (const ratio of group!.ratios) {
      expect(ratio.ratio).toBeGreaterThan(0);
      expect(ratio.low).toBeLessThanOrEqual(ratio.high);
    }
    expect(group!.rounds).toHaveLength(2 * 4);
    for (const round of group!.rounds) {
      expect(round.appRequests).toBeGreaterThan(0);
      expect(typeof round.suspect).toBe('boolean');
      expect(round.otherCores).toBeGreaterThanOrEqual(0);
    }
  }, 180_000);
});

describe('npm run bench -- http --in-process', () => {
  it('drives each store in its app process as express-session does and reports app CPU per request against the anchor and the floor', async () => {
    const profiles = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'session-stores-bench-')), 'profiles');
    let stdout: string;
    try {
      ({ stdout } = await run(
        process.execPath,
        ['--import', 'tsx', 'bench/run.ts', 'http', 'memory', '--in-process', '--json', '--duration=1', '--rounds=2', '--warmup=1', '--connections=4', '--sessions=20'],
        { cwd: ROOT, timeout: 170_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, SESSION_STORES_BENCH_CPU_PROF: profiles } },
      ));
      // Each app profiled its measured rounds only: the requests beside its profile are those of its rounds, logins and warm-up left out.
      const report = JSON.parse(stdout) as HttpReport;
      for (const contender of report.groups[0]!.contenders) {
        const { requests } = JSON.parse(fs.readFileSync(path.join(profiles, `${profileFileOf('memory', contender.name)}.json`), 'utf8')) as { requests: number };
        const measured = report.groups[0]!.rounds.filter((round) => round.contender === contender.name).reduce((sum, round) => sum + round.appRequests, 0);
        expect(requests).toBe(measured);
      }
      const { stdout: table } = await run(process.execPath, ['--import', 'tsx', 'bench/run.ts', 'profiles', profiles], { cwd: ROOT, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
      expect(table).toContain('[1] memory-MemoryStore');
      expect(table).toMatch(/^shared +\d+\.\d/m);
    } finally {
      fs.rmSync(path.dirname(profiles), { recursive: true, force: true });
    }
    const report = JSON.parse(stdout) as HttpReport;
    expect(report.options.inProcess).toBe(true);
    const [group] = report.groups;
    for (const contender of group!.contenders) {
      expect(contender.reqPerSec).toBeGreaterThan(0);
      expect(contender.callsPerRequest.get).toBeCloseTo(1, 5);
      expect(contender.callsPerRequest.set + contender.callsPerRequest.touch).toBeCloseTo(1, 5);
      expect(contender.appCpuUsPerRequest).toBeGreaterThan(0);
      expect(contender.failedRequests).toBe(0);
    }
    const anchored = group!.ratios.find((r) => r.ours === 'MemoryStore' && r.against === 'express-session MemoryStore')!;
    expect(anchored.appCpuRatio).toBeGreaterThan(0);
    expect(anchored.appCpuLow).toBeLessThanOrEqual(anchored.appCpuHigh);
    expect(anchored.appCpuAboveFloorShare).not.toBeNull();
    expect(group!.ratios.find((r) => r.against === 'floor (Map store)')!.appCpuAboveFloorShare).toBeNull();
  }, 180_000);
});

describe('the in-process driver', () => {
  it('reads the session id out of a signed express-session cookie', () => {
    expect(sidOfCookie('connect.sid=s%3Aabc.def%2Bsig')).toBe('abc');
    expect(sidOfCookie('connect.sid=s%3Aa.b.sig')).toBe('a.b');
    expect(() => sidOfCookie('connect.sid=abc')).toThrow('not a signed express-session cookie');
  });

  it('sends a get and then a touch or a set per request, as express-session does, and the writes change the session', async () => {
    const store = new MemoryStore();
    const calls = { get: 0, set: 0, touch: 0 };
    for (const call of ['get', 'set', 'touch'] as const) {
      const original = store[call].bind(store) as (...args: unknown[]) => unknown;
      (store as unknown as Record<string, unknown>)[call] = (...args: unknown[]) => {
        calls[call]++;
        return original(...args);
      };
    }
    const cookie = { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000).toISOString(), path: '/', httpOnly: true };
    for (const sid of ['one', 'two']) await store.set(sid, { cookie, hits: 0 } as never);
    calls.set = 0;
    const result = await drive(store, { type: 'drive', cookies: ['c=s%3Aone.x', 'c=s%3Atwo.y'], concurrency: 1, durationSec: 0.2, writeShare: 0.5, seed: 1 });
    expect(result.errors).toBe(0);
    expect(result.requests).toBeGreaterThan(10);
    expect(calls.get).toBe(result.requests);
    expect(calls.set + calls.touch).toBe(result.requests);
    expect(calls.set).toBeGreaterThan(0);
    expect(calls.touch).toBeGreaterThan(0);
    // One request at a time, so no two writes of a session read the same hits.
    const hits = [(await store.get('one')) as unknown as { hits: number }, (await store.get('two')) as unknown as { hits: number }].reduce((sum, s) => sum + s.hits, 0);
    expect(hits).toBe(calls.set);
    expect(result.p99Ms).toBeGreaterThanOrEqual(result.p50Ms);
    await store.close();
  });
});
