import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import express from 'express';
import session from 'express-session';
import { MongoClient } from 'mongodb';
import request from 'supertest';
import { MongoStore } from '.';
import { SessionStoreError } from '../../shared';

// Every case here talks to a real driver pointed at a loopback port nobody listens on: the
// server-down path runs for real on machines without MongoDB. Jest fails a case on an unhandled
// rejection; the child-process case checks it under Node's own default as well.

const cookie = () => ({ originalMaxAge: null, path: '/', httpOnly: true });

function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** express-session's signed cookie value (`s:` + cookie-signature). */
function signedSid(sid: string, secret: string): string {
  const mac = createHmac('sha256', secret).update(sid).digest('base64').replace(/=+$/, '');
  return `s:${sid}.${mac}`;
}

async function elapsed<T>(work: () => Promise<T>): Promise<{ ms: number; result?: T; error?: unknown }> {
  const started = Date.now();
  try {
    const result = await work();
    return { ms: Date.now() - started, result };
  } catch (error) {
    return { ms: Date.now() - started, error };
  }
}

describe('MongoStore with the server down', () => {
  let url: string;

  beforeAll(async () => {
    url = `mongodb://127.0.0.1:${await closedPort()}`;
  });

  describe('with a client the caller owns (default driver settings: 30 s server selection)', () => {
    let client: MongoClient;

    beforeEach(() => {
      client = new MongoClient(url);
    });

    afterEach(async () => {
      await client.close();
    });

    it('calls back get with ERR_SESSION_TIMEOUT within the default operation timeout, well within 5 s', async () => {
      const store = new MongoStore({ client });
      const started = Date.now();
      const outcome = await new Promise<{ error: unknown; ms: number }>((resolve) => {
        store.get('sid-down', (error) => resolve({ error, ms: Date.now() - started }));
      });
      expect(outcome.error).toBeInstanceOf(SessionStoreError);
      expect((outcome.error as SessionStoreError).code).toBe('ERR_SESSION_TIMEOUT');
      expect(outcome.ms).toBeGreaterThanOrEqual(2900);
      expect(outcome.ms).toBeLessThan(4000);
      await store.close();
    });

    it('fails every primitive within its operation timeout', async () => {
      // A store of its own per primitive: once one call has timed out, the next fail at once (ERR_SESSION_UNAVAILABLE).
      const calls: Array<(store: MongoStore) => Promise<unknown>> = [
        (store) => store.set('sid-down', { cookie: cookie() } as never),
        (store) => store.touch('sid-down', { cookie: cookie() } as never),
        (store) => store.destroy('sid-down'),
        (store) => store.all(),
        (store) => store.ids(),
        (store) => store.length(),
        (store) => store.clear(),
      ];
      for (const call of calls) {
        const store = new MongoStore({ client, operationTimeout: 300 });
        const { ms, error } = await elapsed(() => call(store));
        expect((error as SessionStoreError).code).toBe('ERR_SESSION_TIMEOUT');
        expect(ms).toBeLessThan(1000);
        const after = await elapsed(() => call(store));
        expect((after.error as SessionStoreError).code).toBe('ERR_SESSION_UNAVAILABLE');
        await store.close();
      }
    });

    it('emits disconnect once the backend stops answering', async () => {
      const store = new MongoStore({ client, operationTimeout: 300 });
      const disconnected = new Promise<void>((resolve) => store.once('disconnect', resolve));
      await expect(store.get('sid-down')).rejects.toThrow(SessionStoreError);
      await disconnected;
      expect(store.isAvailable).toBe(false);
      await store.close();
    });

    it('closes at once and leaves the caller\'s client to the caller', async () => {
      const store = new MongoStore({ client, operationTimeout: 300 });
      await expect(store.get('sid-down')).rejects.toThrow(SessionStoreError);
      const { ms, error } = await elapsed(() => store.close());
      expect(error).toBeUndefined();
      expect(ms).toBeLessThan(100);
      await expect(store.get('sid-down')).rejects.toMatchObject({ code: 'ERR_SESSION_CLOSED' });
    });
  });

  describe('with a url (the store opens and closes its own client)', () => {
    it('constructs without throwing or connecting synchronously', async () => {
      let store: MongoStore | undefined;
      expect(() => {
        store = new MongoStore({ url, operationTimeout: 300 });
      }).not.toThrow();
      await store!.close();
    });

    it('fails calls within the operation timeout', async () => {
      const store = new MongoStore({ url, operationTimeout: 300 });
      const { ms, error } = await elapsed(() => store.get('sid-down'));
      expect((error as SessionStoreError).code).toBe('ERR_SESSION_TIMEOUT');
      expect(ms).toBeLessThan(1000);
      await store.close();
    });

    it('closes its own client without hanging while the server is down', async () => {
      const store = new MongoStore({ url, operationTimeout: 300 });
      await expect(store.set('sid-down', { cookie: cookie() } as never)).rejects.toThrow(SessionStoreError);
      const { ms, error } = await elapsed(() => store.close());
      expect(error).toBeUndefined();
      expect(ms).toBeLessThan(1000);
    });
  });

  describe('under express-session', () => {
    it('answers every request while the server is unreachable', async () => {
      const secret = 'mongo-fault-secret';
      const store = new MongoStore({ url, operationTimeout: 500 });
      const app = express();
      app.use(session({ store, secret, resave: false, saveUninitialized: false }));
      app.get('/', (req, res) => {
        res.json({ hasSession: req.session !== undefined });
      });
      const cookieHeader = `connect.sid=${encodeURIComponent(signedSid('sid-of-a-returning-user', secret))}`;

      const first = await elapsed(() => request(app).get('/').set('Cookie', cookieHeader));
      expect(first.ms).toBeLessThan(5000);
      expect(first.result?.status).toBe(500);

      // After the store's disconnect event, express-session serves requests without a session at once.
      const second = await elapsed(() => request(app).get('/').set('Cookie', cookieHeader));
      expect(second.ms).toBeLessThan(1000);
      expect(second.result?.status).toBe(200);
      expect(second.result?.body).toEqual({ hasSession: false });

      await store.close();
    });
  });

  describe('in a process of its own', () => {
    it('fails calls in time, has no unhandled rejection and exits by itself once everything is closed', async () => {
      const script = path.join(__dirname, 'fixtures', 'server-down.ts');
      const child = spawn(process.execPath, ['-r', 'esbuild-register', script, url], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
      const hung = setTimeout(() => child.kill(), 15_000);
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      clearTimeout(hung);
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      const seen = JSON.parse(stdout) as { getCode: string; getMs: number; setCode: string };
      expect(seen.getCode).toBe('ERR_SESSION_TIMEOUT');
      expect(seen.getMs).toBeLessThan(5000);
      expect(seen.setCode).toBe('ERR_SESSION_TIMEOUT');
    });
  });
});
