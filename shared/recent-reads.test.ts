import { RecentReads } from './recent-reads';

describe('RecentReads', () => {
  it('recalls the end of the session lifetime read with the expiry, and Infinity where none was read', () => {
    const reads = new RecentReads();
    reads.remember('a', 5000, 100, 9000);
    reads.remember('b', 5000, 100);
    expect(reads.recall('a', 150)).toMatchObject({ expiresAt: 5000, lifetimeEndsAt: 9000 });
    expect(reads.recall('b', 150)).toMatchObject({ expiresAt: 5000, lifetimeEndsAt: Infinity });
  });

  it('recalls the expiry read for a key as often as asked within its lifetime', () => {
    const reads = new RecentReads(2000, 10);
    reads.remember('a', 5000, 100);
    expect(reads.recall('a', 150)?.expiresAt).toBe(5000);
    expect(reads.recall('a', 150)?.expiresAt).toBe(5000);
    expect(reads.recall('b', 150)).toBeUndefined();
  });

  it('keeps the latest read of a key', () => {
    const reads = new RecentReads(2000, 10);
    reads.remember('a', 5000, 100);
    reads.remember('a', 7000, 200);
    expect(reads.size).toBe(1);
    expect(reads.recall('a', 200)?.expiresAt).toBe(7000);
  });

  it('hands out nothing for a read older than its lifetime', () => {
    const reads = new RecentReads(2000, 10);
    reads.remember('a', 5000, 100);
    expect(reads.recall('a', 2101)).toBeUndefined();
    reads.remember('b', 5000, 100);
    expect(reads.recall('b', 2100)?.expiresAt).toBe(5000);
  });

  it('drops reads older than its lifetime as new ones come, without a timer', () => {
    const reads = new RecentReads(2000, 100);
    for (let i = 0; i < 50; i++) reads.remember(`old${i}`, 5000, 0);
    reads.remember('new', 5000, 2001);
    expect(reads.size).toBe(1);
  });

  it('holds at most its capacity, dropping the oldest reads first', () => {
    const reads = new RecentReads(2000, 3);
    for (const key of ['a', 'b', 'c', 'd']) reads.remember(key, 5000, 0);
    expect(reads.size).toBe(3);
    expect(reads.recall('a', 0)).toBeUndefined();
    expect(reads.recall('d', 0)?.expiresAt).toBe(5000);
  });

  it('forgets a key on demand', () => {
    const reads = new RecentReads();
    reads.remember('a', 5000, 0);
    reads.forget('a');
    expect(reads.recall('a', 0)).toBeUndefined();
  });

  it('keeps nothing for an expiry the backend did not read (Infinity), and drops an earlier read of that key', () => {
    const reads = new RecentReads();
    reads.remember('a', 5000, 0);
    reads.remember('a', Infinity, 0);
    expect(reads.size).toBe(0);
  });
});
