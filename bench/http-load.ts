import autocannon from 'autocannon';
import { randomFrom } from './random';

/**
 * The load generator, in a process of its own so that its CPU is neither the app's nor the
 * bench's: autocannon, one job per `run` message, each answered with a LoadResult.
 */

export interface LoadJob {
  type: 'run';
  port: number;
  /** One `Cookie` header value per session the app created; each request picks one at random. */
  cookies: string[];
  connections: number;
  durationSec: number;
  /** Share of requests that change the session (POST /write); the rest only read it (GET /read). */
  writeShare: number;
  seed: number;
}

export interface LoadResult {
  type: 'result';
  requests: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** CPU the load generator spent on the job. */
  cpuUs: number;
}

function run(job: LoadJob): Promise<LoadResult> {
  const random = randomFrom(job.seed);
  const cpuBefore = process.cpuUsage();
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `http://127.0.0.1:${job.port}`,
        connections: job.connections,
        duration: job.durationSec,
        requests: [
          {
            setupRequest: (request) => {
              const write = random() < job.writeShare;
              const cookie = job.cookies[Math.floor(random() * job.cookies.length)]!;
              return { ...request, method: write ? 'POST' : 'GET', path: write ? '/write' : '/read', headers: { ...request.headers, cookie } };
            },
          },
        ],
      },
      (error, result) => {
        if (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        const cpu = process.cpuUsage(cpuBefore);
        resolve({
          type: 'result',
          requests: result.requests.total,
          seconds: result.duration,
          p50Ms: result.latency.p50,
          p99Ms: result.latency.p99,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          cpuUs: cpu.user + cpu.system,
        });
      },
    );
  });
}

process.on('message', (job: LoadJob) => {
  run(job).then(
    (result) => process.send!(result),
    (error: unknown) => process.send!({ type: 'error', message: error instanceof Error ? error.message : String(error) }),
  );
});
process.once('disconnect', () => process.exit(1));
process.send!({ type: 'ready' });
