import { DeadlineQueue } from './deadlines';

describe('DeadlineQueue', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('expires each call that has not finished at its own deadline, in the order they started', () => {
    const queue = new DeadlineQueue(100);
    const expired: string[] = [];
    queue.start(() => expired.push('a'));
    jest.advanceTimersByTime(40);
    queue.start(() => expired.push('b'));
    jest.advanceTimersByTime(59);
    expect(expired).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(expired).toEqual(['a']);
    jest.advanceTimersByTime(39);
    expect(expired).toEqual(['a']);
    jest.advanceTimersByTime(1);
    expect(expired).toEqual(['a', 'b']);
    expect(queue.idle).toBe(true);
  });

  it('never expires a finished call, and still bounds the calls started after it', () => {
    const queue = new DeadlineQueue(100);
    const expired: string[] = [];
    const first = queue.start(() => expired.push('first'));
    jest.advanceTimersByTime(50);
    const middle = queue.start(() => expired.push('middle'));
    queue.start(() => expired.push('last'));
    queue.finish(first);
    queue.finish(middle);
    // The timer armed for the first call fires, finds nothing due, and re-arms for the last one.
    jest.advanceTimersByTime(50);
    expect(expired).toEqual([]);
    jest.advanceTimersByTime(50);
    expect(expired).toEqual(['last']);
  });

  it('ignores a second finish and a finish after expiry', () => {
    const queue = new DeadlineQueue(10);
    const expire = jest.fn();
    const late = queue.start(expire);
    jest.advanceTimersByTime(10);
    expect(expire).toHaveBeenCalledTimes(1);
    queue.finish(late);
    const other = queue.start(expire);
    queue.finish(other);
    queue.finish(other);
    expect(queue.idle).toBe(true);
    jest.advanceTimersByTime(100);
    expect(expire).toHaveBeenCalledTimes(1);
  });

  it('keeps bounding the calls behind an expire callback that throws', () => {
    const queue = new DeadlineQueue(100);
    const expired: string[] = [];
    queue.start(() => {
      throw new Error('listener failed');
    });
    jest.advanceTimersByTime(50);
    queue.start(() => expired.push('behind'));
    expect(() => jest.advanceTimersByTime(50)).toThrow('listener failed');
    jest.advanceTimersByTime(50);
    expect(expired).toEqual(['behind']);
  });

  it('sets each deadline one bound after its call starts, on the monotonic clock', () => {
    const queue = new DeadlineQueue(100);
    const deadline = queue.start(() => undefined);
    expect(deadline.at).toBe(performance.now() + 100);
    queue.finish(deadline);
  });

  it('holds no timer once every call has finished', () => {
    const queue = new DeadlineQueue(100);
    const deadline = queue.start(() => undefined);
    expect(jest.getTimerCount()).toBe(1);
    queue.finish(deadline);
    jest.advanceTimersByTime(100);
    expect(jest.getTimerCount()).toBe(0);
  });
});
