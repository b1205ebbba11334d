import net from 'node:net';
import { BACKEND_NAMES, publishBackend, publishSkip, requiredBackends, type BackendName } from './support/backends';

interface Discovery {
  url?: string;
  reason?: string;
}

function portAnswers(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function discover(name: BackendName): Promise<Discovery> {
  switch (name) {
    case 'sqlite':
      try {
        require('better-sqlite3');
        return { url: 'sqlite::memory:' };
      } catch (error) {
        return { reason: `better-sqlite3 does not load: ${(error as Error).message}` };
      }
    case 'redis':
      if (process.env.REDIS_URL) return { url: process.env.REDIS_URL };
      if (await portAnswers(6379)) return { url: 'redis://127.0.0.1:6379' };
      return { reason: 'REDIS_URL is unset and nothing answers on 127.0.0.1:6379' };
    case 'postgres':
      if (process.env.POSTGRES_URL) return { url: process.env.POSTGRES_URL };
      if (await portAnswers(5432)) return { url: 'postgres://postgres@127.0.0.1:5432/test' };
      return { reason: 'POSTGRES_URL is unset and nothing answers on 127.0.0.1:5432' };
    case 'mongo':
      if (process.env.MONGO_URL) return { url: process.env.MONGO_URL };
      if (await portAnswers(27017)) return { url: 'mongodb://127.0.0.1:27017' };
      return { reason: 'MONGO_URL is unset and nothing answers on 127.0.0.1:27017' };
  }
}

export default async function globalSetup(): Promise<void> {
  const required = requiredBackends();
  const missing: string[] = [];
  for (const name of BACKEND_NAMES) {
    const found = await discover(name);
    if (found.url !== undefined) {
      publishBackend(name, found.url);
      continue;
    }
    const reason = found.reason ?? 'not found';
    publishSkip(name, reason);
    process.stderr.write(`\n[backends] SKIPPING ${name} tests: ${reason}\n`);
    if (required.has(name)) missing.push(`${name} (${reason})`);
  }
  if (missing.length > 0) {
    throw new Error(`REQUIRE_BACKENDS names backends that could not be found: ${missing.join('; ')}`);
  }
}
