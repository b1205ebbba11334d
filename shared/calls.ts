import { type Callback, isPromiseLike } from './callbacks';
import { cleanCause } from './causes';
import { DeadlineQueue } from './deadlines';
import { SessionStoreError, sidPrefixOf } from './errors';
import { SharedAttempt } from './setup';

type MaybePromise<T> = T | Promise<T>;

const FIRST_PROBE_DELAY_MS = 50;

/** What the call runner needs from the store it runs calls for. */
export interface CallRunnerSettings {
  storeName: string;
  /** Bound of every call in milliseconds; Infinity turns it off. */
  operationTimeoutMs: number;
  /** Longest wait between reachability probes while the backend is down. */
  probeIntervalMs: number;
  /** Whether a driver error means the backend cannot be reached (as opposed to a bad query). */
  isUnavailableError(error: unknown): boolean;
  /** The cheapest round trip that proves the backend answers. */
  probe(): MaybePromise<unknown>;
  /** One-time setup (a table, an index) that every call but the probe waits for. */
  ready?: () => Promise<void>;
  /** Tells the store's listeners that the backend went away or came back. */
  announce(event: 'connect' | 'disconnect'): void;
}

/**
 * Runs a store's backend calls: one-time setup first, each call bounded by operationTimeout, driver
 * errors wrapped without secrets, and the availability state machine (a call that says the backend
 * is down starts probing, and every call but the probe fails at once until a probe answers).
 */
export class CallRunner {
  private reachable = true;
  /** Bumped at each disconnect, so a call that was already in flight cannot announce a reconnect. */
  private outages = 0;
  /** Bumped at each reconnect, so a call begun before it cannot report the backend down again. */
  private recoveries = 0;
  private probeTimer: NodeJS.Timeout | undefined;
  private nextProbeDelayMs = FIRST_PROBE_DELAY_MS;
  private stopped = false;
  /** The operationTimeout bounds of in-flight calls; none when the bound is Infinity. */
  private readonly deadlines: DeadlineQueue | undefined;
  /** A refusal of the setup (a SessionStoreError: a foreign table, a missing privilege) is kept; any other failure is retried by the next call. */
  private readonly setup: SharedAttempt | undefined;

  constructor(private readonly settings: CallRunnerSettings) {
    const boundMs = settings.operationTimeoutMs;
    this.deadlines = boundMs === Infinity ? undefined : new DeadlineQueue(boundMs);
    const { ready } = settings;
    if (ready) this.setup = new SharedAttempt(ready, (error) => error instanceof SessionStoreError);
  }

  get isAvailable(): boolean {
    return this.reachable;
  }

  /** Starts the one-time setup now, so it is under way before the first call; its failure is left to the calls. */
  beginSetup(): void {
    this.setup?.start();
  }

  /** After this no probe runs and no event is announced; calls still run (close() needs one). */
  stop(): void {
    this.stopped = true;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
  }

  markUnavailable(): void {
    if (!this.reachable || this.stopped) return;
    this.reachable = false;
    this.outages++;
    this.nextProbeDelayMs = FIRST_PROBE_DELAY_MS;
    this.settings.announce('disconnect');
    this.scheduleProbe();
  }

  markAvailable(): void {
    if (this.reachable || this.stopped) return;
    this.reachable = true;
    this.recoveries++;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    this.settings.announce('connect');
  }

  /**
   * Runs one backend primitive: after the setup, bounded by operationTimeout, its driver errors
   * wrapped in a SessionStoreError, its outcome recorded for the connect / disconnect events.
   * `settleWith` turns the primitive's result into the caller's, in the same step.
   */
  run<T>(operation: string, sid: string | undefined, primitive: () => MaybePromise<T>): Promise<T>;
  run<T, R>(operation: string, sid: string | undefined, primitive: () => MaybePromise<T>, settleWith: (value: T) => R): Promise<R>;
  run<T, R>(operation: string, sid: string | undefined, primitive: () => MaybePromise<T>, settleWith?: (value: T) => R): Promise<T | R> {
    const exempt = operation === 'ping' || operation === 'close';
    if (!this.reachable && !exempt) return Promise.reject(this.unavailable(operation, sid));
    let result: MaybePromise<T>;
    try {
      result = this.setup && !this.setup.isDone && !exempt ? this.setup.ready().then(primitive) : primitive();
    } catch (error) {
      return Promise.reject(this.failed(operation, sid, error));
    }
    if (!isPromiseLike<T>(result)) {
      if (!this.reachable) this.markAvailable();
      try {
        return Promise.resolve(settleWith ? settleWith(result) : result);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const outagesAtStart = this.outages;
    const recoveriesAtStart = this.recoveries;
    const deadlines = this.deadlines;
    return new Promise<T | R>((resolve, reject) => {
      const deadline = deadlines?.start(() => reject(this.failed(operation, sid, this.timedOut(operation, sid), recoveriesAtStart)));
      result.then(
        (value) => {
          if (deadline) deadlines!.finish(deadline);
          if (!this.reachable && this.outages === outagesAtStart) this.markAvailable();
          if (!settleWith) return resolve(value);
          // An error here (a corrupt record, say) is the store's own, not the backend's.
          let settled: R;
          try {
            settled = settleWith(value);
          } catch (error) {
            return reject(error);
          }
          resolve(settled);
        },
        (error: unknown) => {
          if (deadline) deadlines!.finish(deadline);
          reject(this.failed(operation, sid, error, recoveriesAtStart));
        },
      );
    });
  }

  /**
   * As `run`, with the outcome handed to `callback` rather than to a promise: the path of every
   * request, since express-session always passes one, and one promise fewer per call. The callback
   * runs exactly once, never before this returns: within the driver's promise reaction, or, for an
   * outcome known at once, in the check phase of this turn (a result) or on the next tick (an
   * error). An exception it throws is rethrown on a later tick, so it reaches the process as the
   * caller's own error. After a timeout the late answer is dropped.
   */
  runWith<T, R>(callback: Callback<R>, operation: string, sid: string | undefined, primitive: () => MaybePromise<T>, settleWith: (value: T) => R | Promise<R>): void {
    if (!this.reachable) return process.nextTick(callback, this.unavailable(operation, sid));
    let result: MaybePromise<T>;
    try {
      result = this.setup && !this.setup.isDone ? this.setup.ready().then(primitive) : primitive();
    } catch (error) {
      return process.nextTick(callback, this.failed(operation, sid, error));
    }
    if (!isPromiseLike<T>(result)) {
      let settled: R | Promise<R>;
      try {
        settled = settleWith(result);
      } catch (error) {
        return process.nextTick(callback, error);
      }
      if (isPromiseLike<R>(settled)) return deliverSettled(callback, settled);
      // The check phase of this turn, not the next tick: the requests that this turn's I/O brought
      // in then go on together, after all of them were read, which costs a synchronous backend
      // (memory, SQLite) about 15 µs less per HTTP request than going on one by one.
      setImmediate(callback, null, settled);
      return;
    }
    const outagesAtStart = this.outages;
    const recoveriesAtStart = this.recoveries;
    const deadlines = this.deadlines;
    let answered = false;
    const deadline = deadlines?.start(() => {
      answered = true;
      deliver(callback, this.failed(operation, sid, this.timedOut(operation, sid), recoveriesAtStart));
    });
    result.then(
      (value) => {
        if (deadline) deadlines!.finish(deadline);
        if (answered) return;
        answered = true;
        if (!this.reachable && this.outages === outagesAtStart) this.markAvailable();
        let settled: R | Promise<R>;
        try {
          settled = settleWith(value);
        } catch (error) {
          // An error here (a corrupt record, say) is the store's own, not the backend's.
          return deliver(callback, error);
        }
        if (isPromiseLike<R>(settled)) deliverSettled(callback, settled);
        else deliver(callback, null, settled);
      },
      (error: unknown) => {
        if (deadline) deadlines!.finish(deadline);
        if (answered) return;
        answered = true;
        deliver(callback, this.failed(operation, sid, error, recoveriesAtStart));
      },
    );
  }

  /** Refuses a call at once while the backend is known to be down, so no caller waits out a timeout. */
  unavailable(operation: string, sid: string | undefined): SessionStoreError {
    return new SessionStoreError('ERR_SESSION_UNAVAILABLE', `${operation} refused: the backend is unreachable, waiting for it to answer again`, {
      store: this.settings.storeName,
      sidPrefix: sidPrefixOf(sid),
    });
  }

  private timedOut(operation: string, sid: string | undefined): SessionStoreError {
    return new SessionStoreError('ERR_SESSION_TIMEOUT', `${operation} did not finish within ${this.settings.operationTimeoutMs} ms`, {
      store: this.settings.storeName,
      sidPrefix: sidPrefixOf(sid),
    });
  }

  /** `recoveriesAtStart`: a call that began before the latest reconnect fails without reporting the backend down. */
  private failed(operation: string, sid: string | undefined, error: unknown, recoveriesAtStart = this.recoveries): SessionStoreError {
    let wrapped: SessionStoreError;
    if (error instanceof SessionStoreError) {
      wrapped = error;
    } else {
      const cause = cleanCause(error, sid === undefined ? [] : [sid]);
      wrapped = new SessionStoreError('ERR_SESSION_BACKEND', `${operation} failed: ${cause.message || cause.name}`, {
        store: this.settings.storeName,
        sidPrefix: sidPrefixOf(sid),
        cause,
      });
    }
    const backendDown =
      wrapped.code === 'ERR_SESSION_TIMEOUT' || (wrapped.code === 'ERR_SESSION_BACKEND' && this.settings.isUnavailableError(error));
    if (backendDown && recoveriesAtStart === this.recoveries) this.markUnavailable();
    return wrapped;
  }

  private scheduleProbe(): void {
    if (this.probeTimer || this.stopped) return;
    const delayMs = this.nextProbeDelayMs;
    this.nextProbeDelayMs = Math.min(delayMs * 2, this.settings.probeIntervalMs);
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      this.run('ping', undefined, () => this.settings.probe()).then(
        () => this.markAvailable(),
        () => {
          if (!this.reachable) this.scheduleProbe();
        },
      );
    }, Math.min(delayMs, this.settings.probeIntervalMs));
    this.probeTimer.unref();
  }
}

/** Calls `callback`; what it throws is rethrown on the next tick, outside the promise reaction that called it. */
function deliver<R>(callback: Callback<R>, error: unknown, value?: R): void {
  try {
    callback(error, value);
  } catch (thrown) {
    process.nextTick(() => {
      throw thrown;
    });
  }
}

/** Hands the outcome of a settleWith that answered with a promise (a corrupt record being removed) to `callback`. */
function deliverSettled<R>(callback: Callback<R>, settled: PromiseLike<R>): void {
  settled.then(
    (value) => deliver(callback, null, value),
    (error: unknown) => deliver(callback, error),
  );
}
