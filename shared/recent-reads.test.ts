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
    const reads = new RecentReads(2000, 4);
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    for (const key of keys) {
      reads.remember(key, 5000, 0);
      expect(reads.size).toBeLessThanOrEqual(4);
    }
    expect(reads.recall('k0', 0)).toBeUndefined();
    expect(reads.recall('k15', 0)).toBeUndefined();
    expect(reads.recall('k18', 0)?.expiresAt).toBe(5000);
    expect(reads.recall('k19', 0)?.expiresAt).toBe(5000);
  });

  it('still recalls the reads of the generation before, and a read taken again there is the latest', () => {
    const reads = new RecentReads(2000, 4);
    reads.remember('a', 5000, 0);
    reads.remember('b', 5000, 10);
    // The generation is full: c starts the next one.
    reads.remember('c', 5000, 20);
    reads.remember('a', 6000, 30);
    expect(reads.recall('b', 30)?.expiresAt).toBe(5000);
    expect(reads.recall('a', 30)?.expiresAt).toBe(6000);
    reads.forget('a');
    expect(reads.recall('a', 30)).toBeUndefined();
  });

  it('after a lifetime keeps the reads of the ending generation that are still within one, and drops the older ones', () => {
    const reads = new RecentReads(2000, 100);
    reads.remember('early', 5000, 0);
    reads.remember('late', 5000, 1500);
    reads.remember('new', 5000, 2001);
    expect(reads.recall('early', 2001)).toBeUndefined();
    expect(reads.recall('late', 2001)?.expiresAt).toBe(5000);
    // Every read before this one is more than a lifetime old: both generations go.
    reads.remember('newer', 5000, 4002);
    expect(reads.size).toBe(1);
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
