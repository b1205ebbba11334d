import { randomBytes } from 'node:crypto';
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import { describeBackend } from '../../test/support/backends';
import { aSession } from '../../test/support/sessions';
import { RedisStore } from './index';
import { NODE_REDIS_MAJORS, type CreateNodeRedisClient } from './fixtures/factory';

for (const { major, packageName, load } of NODE_REDIS_MAJORS) describeBackend('redis', `RedisStore on a node-redis v${major} client`, (url) => {
  let createClient: CreateNodeRedisClient;
  let client: ReturnType<CreateNodeRedisClient>;
  const prefix = `test:node-redis${major}:${randomBytes(6).toString('hex')}:`;

  beforeAll(async () => {
    createClient = await load();
    client = createClient({ url });
    await client.connect();
  });

  afterAll(async () => {
    const sweeper = new RedisStore({ client, prefix });
    await sweeper.clear();
    await sweeper.close();
    client.destroy();
  });

  it(`runs on the node-redis major its title names (${packageName})`, () => {
    expect((require(`${packageName}/package.json`) as { version: string }).version.split('.')[0]).toBe(String(major));
  });

  it('writes the session under its key, after its creation instant, with a millisecond expiry', async () => {
    const store = new RedisStore({ client, prefix });
    const session = aSession({ user: 'ada' });
    await store.set('abc', session);
    const value = (await client.get(`${prefix}abc`)) as string;
    expect(value.replace(/^\x01\d+\x01/, '')).toBe(JSON.stringify(session));
    expect(value).not.toBe(JSON.stringify(session));
    expect(await client.pExpireTime(`${prefix}abc`)).toBe(Date.parse(session.cookie.expires as unknown as string));
    await store.close();
  });

  it('listens for errors while in use, so a socket error cannot crash the process', async () => {
    const before = client.listenerCount('error');
    const store = new RedisStore({ client, prefix });
    expect(client.listenerCount('error')).toBe(before + 1);
    await store.close();
    expect(client.listenerCount('error')).toBe(before);
  });

  it('close() leaves a client passed in open and removes its listeners', async () => {
    const events = ['ready', 'end', 'reconnecting', 'error'] as const;
    const before = events.map((event) => client.listenerCount(event));
    const store = new RedisStore({ client, prefix });
    await store.close();
    expect(events.map((event) => client.listenerCount(event))).toEqual(before);
    expect(client.isOpen).toBe(true);
    expect(await client.ping()).toBe('PONG');
  });

  it("shares one node-redis client with connect-redis, with compat 'connect-redis' each reading what the other wrote", async () => {
    const ours = new RedisStore({ client, prefix, compat: 'connect-redis' });
    const theirs = new ConnectRedisStore({ client, prefix });
    const session = aSession({ user: 'ada', cart: [1, 2] });
    await theirs.set('from-theirs', session);
    await ours.set('from-ours', session);
    expect(await ours.get('from-theirs')).toEqual(session);
    expect(await theirs.get('from-ours')).toEqual(session);
    expect(await client.get(`${prefix}from-ours`)).toBe(await client.get(`${prefix}from-theirs`));
    await ours.close();
  });

  it('fails a call on a client that is not connected with a SessionStoreError, never a crash', async () => {
    const idle = createClient({ url });
    const store = new RedisStore({ client: idle, prefix });
    await expect(store.get('abc')).rejects.toMatchObject({ code: 'ERR_SESSION_BACKEND' });
    await store.close();
  });

  it('rejects objects that are no Redis client', () => {
    for (const client of [{}, { sendCommand: () => undefined }, { status: 'ready' }]) {
      expect(() => new RedisStore({ client: client as never })).toThrow(expect.objectContaining({ code: 'ERR_SESSION_OPTIONS' }));
    }
  });
});
