import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { HttpReport } from '../bench/http';

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
