import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { WindowProfile, profileFileOf } from '../bench/http-profile';
import { bucketOf, formatProfiles, summarize } from '../bench/profiles';

const ROOT = path.join(__dirname, '..');

describe('the profiles of npm run bench -- http', () => {
  it('puts each frame where its code lives: a package, a folder of the project, a Node module, or V8', () => {
    expect(bucketOf(`file://${ROOT}/node_modules/pg/lib/client.js`, 'query')).toBe('pg');
    expect(bucketOf(`file://${ROOT}/node_modules/@fastify/session/lib/store.js`, 'get')).toBe('@fastify/session');
    expect(bucketOf(`file://${ROOT}/node_modules/a/node_modules/b/index.js`, 'f')).toBe('a');
    expect(bucketOf(`file://${ROOT}/shared/codec.ts`, 'decode')).toBe('shared');
    expect(bucketOf(`file://${ROOT}/stores/redis/index.ts`, 'readRecord')).toBe('stores/redis');
    expect(bucketOf('node:internal/streams/writable', 'onwrite')).toBe('node:internal');
    expect(bucketOf('node:_http_server', 'writeHead')).toBe('node:_http_server');
    expect(bucketOf('', '(garbage collector)')).toBe('(garbage collector)');
    expect(bucketOf('', 'writev')).toBe('(writev)');
  });

  it('gives self time per request, idle left out, by bucket or by function', () => {
    const profile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
        { id: 2, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
        { id: 3, callFrame: { functionName: 'decode', url: `file://${ROOT}/shared/codec.ts`, lineNumber: 9 } },
        { id: 4, callFrame: { functionName: 'parse', url: `file://${ROOT}/shared/codec.ts`, lineNumber: 19 } },
        { id: 5, callFrame: { functionName: 'query', url: `file://${ROOT}/node_modules/pg/lib/client.js`, lineNumber: 0 } },
      ],
      samples: [2, 3, 4, 5, 2, 3],
      timeDeltas: [5000, 100, 200, 300, 5000, 400],
    };
    const byBucket = summarize('postgres-PostgresStore', profile, 10, false);
    expect(Object.fromEntries(byBucket.perRequest)).toEqual({ shared: 70, pg: 30 });
    const byFunction = summarize('postgres-PostgresStore', profile, 10, true);
    expect(Object.fromEntries(byFunction.perRequest)).toEqual({ 'decode shared:10': 50, 'parse shared:20': 20, 'query pg:1': 30 });
    const text = formatProfiles([byBucket, summarize('postgres-connect-pg-simple', { ...profile, samples: [5, 5], timeDeltas: [10, 10] }, 2, false)], 10);
    expect(text).toContain('[1] postgres-PostgresStore');
    expect(text).toContain('[2] postgres-connect-pg-simple');
    expect(text).toMatch(/^total +100\.0 +10\.0$/m);
    expect(text).toMatch(/^shared +70\.0 +-$/m);
  });

  it('names each file after the store and the contender', () => {
    expect(profileFileOf('postgres', 'PostgresStore touchAfter=60000')).toBe('postgres-PostgresStore-touchAfter-60000');
    expect(profileFileOf('redis', 'floor (Map store)')).toBe('redis-floor-Map-store');
  });

  it('samples between start and stop, writes the profile and its request count, and never writes over a file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'session-stores-profiles-'));
    const previous = { dir: process.env.SESSION_STORES_BENCH_CPU_PROF, interval: process.env.SESSION_STORES_BENCH_CPU_PROF_INTERVAL };
    try {
      process.env.SESSION_STORES_BENCH_CPU_PROF = dir;
      process.env.SESSION_STORES_BENCH_CPU_PROF_INTERVAL = '100';
      const profile = WindowProfile.fromEnvironment()!;
      await profile.start('memory-MemoryStore', 40);
      await profile.stop(65);
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'memory-MemoryStore.json'), 'utf8'))).toEqual({ requests: 25, intervalUs: 100 });
      const written = JSON.parse(fs.readFileSync(path.join(dir, 'memory-MemoryStore.cpuprofile'), 'utf8')) as { nodes: unknown[]; samples: unknown[] };
      expect(written.nodes.length).toBeGreaterThan(0);

      const before = fs.readFileSync(path.join(dir, 'memory-MemoryStore.json'), 'utf8');
      const again = WindowProfile.fromEnvironment()!;
      await again.start('memory-MemoryStore', 0);
      await expect(again.stop(1)).rejects.toThrow(/EEXIST/);
      expect(fs.readFileSync(path.join(dir, 'memory-MemoryStore.json'), 'utf8')).toBe(before);

      process.env.SESSION_STORES_BENCH_CPU_PROF_INTERVAL = '0.5';
      expect(() => WindowProfile.fromEnvironment()).toThrow('SESSION_STORES_BENCH_CPU_PROF_INTERVAL must be a positive integer of µs, got 0.5');
    } finally {
      for (const [name, value] of [['SESSION_STORES_BENCH_CPU_PROF', previous.dir], ['SESSION_STORES_BENCH_CPU_PROF_INTERVAL', previous.interval]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses, before any app starts, a directory that holds profiles already, and leaves them as they are', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'session-stores-profiles-'));
    try {
      fs.writeFileSync(path.join(dir, 'memory-MemoryStore.cpuprofile'), 'an earlier run');
      const ran = promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/run.ts', 'http', 'memory', '--rounds=1', '--duration=1', '--warmup=1'], {
        cwd: ROOT,
        timeout: 60_000,
        env: { ...process.env, SESSION_STORES_BENCH_CPU_PROF: dir },
      });
      await expect(ran).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('already holds profiles, which are never written over') });
      expect(fs.readdirSync(dir)).toEqual(['memory-MemoryStore.cpuprofile']);
      expect(fs.readFileSync(path.join(dir, 'memory-MemoryStore.cpuprofile'), 'utf8')).toBe('an earlier run');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 70_000);
});
