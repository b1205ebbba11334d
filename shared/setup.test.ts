import { SharedAttempt } from './setup';

class Final extends Error {}

/** An attempt whose outcomes are given in order; `runs` counts how often it was started. */
function scripted(outcomes: Array<'ok' | 'transient' | 'final'>) {
  const counter = { runs: 0 };
  const run = async () => {
    const outcome = outcomes[counter.runs++] ?? 'ok';
    await new Promise((resolve) => setImmediate(resolve));
    if (outcome === 'transient') throw new Error('network');
    if (outcome === 'final') throw new Final('refused');
  };
  return { counter, attempt: new SharedAttempt(run, (error) => error instanceof Final) };
}

describe('SharedAttempt', () => {
  it('gives concurrent callers one shared attempt', async () => {
    const { counter, attempt } = scripted(['ok']);
    await Promise.all([attempt.ready(), attempt.ready(), attempt.ready()]);
    expect(counter.runs).toBe(1);
  });

  it('keeps a success: later callers do not run it again, and isDone says so', async () => {
    const { counter, attempt } = scripted(['ok']);
    expect(attempt.isDone).toBe(false);
    await attempt.ready();
    expect(attempt.isDone).toBe(true);
    await attempt.ready();
    expect(counter.runs).toBe(1);
  });

  it('lets the next caller try again after a failure that is not final', async () => {
    const { counter, attempt } = scripted(['transient', 'ok']);
    await expect(attempt.ready()).rejects.toThrow('network');
    await expect(attempt.ready()).resolves.toBeUndefined();
    expect(counter.runs).toBe(2);
  });

  it('returns a final failure to every later caller without trying again', async () => {
    const { counter, attempt } = scripted(['final', 'ok']);
    await expect(attempt.ready()).rejects.toThrow(Final);
    await expect(attempt.ready()).rejects.toThrow(Final);
    expect(counter.runs).toBe(1);
  });

  it('starts at once when asked, and a failure with no caller yet is not an unhandled rejection', async () => {
    const { counter, attempt } = scripted(['transient', 'ok']);
    attempt.start();
    expect(counter.runs).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 10));
    await expect(attempt.ready()).resolves.toBeUndefined();
    expect(counter.runs).toBe(2);
  });
});
