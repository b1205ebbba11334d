import { describeError } from './describe-error';

export type CrashKind = 'uncaughtException' | 'unhandledRejection';

/** An uncaught exception or unhandled rejection the process saw while a run watched it. */
export interface ProcessCrash {
  kind: CrashKind;
  error: unknown;
  /** `an uncaught exception (Error: …)`: one phrase, for reports. */
  description: string;
  /** A case was running, and was charged with it. */
  duringCase: boolean;
}

/** What each running case has seen. */
const caseWatchers = new Set<string[]>();
/** Who watches a whole run, cases and the time between them. */
const runWatchers = new Set<(crash: ProcessCrash) => void>();

const listener = (kind: CrashKind) => (error: unknown) => {
  const duringCase = caseWatchers.size > 0;
  for (const seen of caseWatchers) seen.push(`an ${kind}: ${describeError(error)}`);
  const crash: ProcessCrash = { kind, error, description: describeCrash(kind, error), duringCase };
  for (const watcher of runWatchers) watcher(crash);
};
const onRejection = listener('unhandledRejection');
const onException = listener('uncaughtException');

export function describeCrash(kind: CrashKind, error: unknown): string {
  const what = kind === 'uncaughtException' ? 'an uncaught exception' : 'an unhandled rejection';
  return `${what} (${error instanceof Error ? `${error.name}: ${error.message}` : String(error)})`;
}

/** One pair of process listeners serves every watcher at once, there while any watcher is. */
function listening(): void {
  if (caseWatchers.size + runWatchers.size === 1) {
    process.on('unhandledRejection', onRejection);
    process.on('uncaughtException', onException);
  }
}

function unlistening(): void {
  if (caseWatchers.size + runWatchers.size === 0) {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  }
}

/**
 * Watches for unhandled rejections and uncaught exceptions while a case runs. Under jest the
 * sandbox's process never sees them; jest itself then fails the running test.
 */
export function watchCase(): { stop(): string[] } {
  const seen: string[] = [];
  caseWatchers.add(seen);
  listening();
  return {
    stop() {
      caseWatchers.delete(seen);
      unlistening();
      return seen;
    },
  };
}

/** Watches the process from now until `stop()`, passing each crash to `onCrash`; `first` is the first one seen. */
export function watchRun(onCrash: (crash: ProcessCrash) => void = () => undefined): { readonly first: ProcessCrash | undefined; stop(): void } {
  let first: ProcessCrash | undefined;
  const watcher = (crash: ProcessCrash) => {
    first ??= crash;
    onCrash(crash);
  };
  runWatchers.add(watcher);
  listening();
  return {
    get first() {
      return first;
    },
    stop() {
      runWatchers.delete(watcher);
      unlistening();
    },
  };
}
