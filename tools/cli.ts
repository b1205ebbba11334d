#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { SessionStoreError } from '../shared/errors';
import { cleanCause } from '../shared/causes';
import { copySessions, type CopyProgress, type CopyResult } from './copy';
import { openStore, UsageError, type LocationFlags, type OpenedStore } from './open-store';
import { pruneLocation, ToolError } from './prune';

const LOCATIONS = `A <location> is a URL, which picks this package's store for it with that store's default table,
prefix or collection:
  redis://… rediss://…        RedisStore, keys under --prefix (default sess:); with --compat
                              connect-redis, values as connect-redis reads and writes them
  postgres://… postgresql://… PostgresStore, --table (default express_sessions; session with
                              --compat connect-pg-simple, which reads and writes that layout)
  mysql://…                   MySqlStore, --table (default express_sessions; sessions with
                              --compat express-mysql-session, which reads and writes that layout)
  mongodb://… mongodb+srv://… MongoStore, --collection (default sessions); with --compat
                              connect-mongo, documents as connect-mongo reads and writes them
  sqlite:<file>               SqliteStore, --table (default sessions)
or the path of a factory module in the conformance CLI's shape: a default export or createStore,
an async function (options) => store; disposeStore is used to release it, teardown is never run.`;

const EXIT = `Exit status: 0 done; 1 the store failed or refused (nothing more was written or deleted than the
summary says); 2 usage error.`;

const MAIN_USAGE = `Usage: session-stores <command> [options]

Commands:
  prune <location> [--dry-run]        delete expired sessions in batches, then exit (for cron and
                                      serverless, where the stores' timers do not run)
  copy --from <location> --to <location>
                                      copy every live session, with its expiry, to another store

Run session-stores <command> --help for a command's options.

${LOCATIONS}

${EXIT}`;

const PRUNE_USAGE = `Usage: session-stores prune <location> [--dry-run] [--table <name> | --prefix <prefix> |
       --collection <name>] [--compat <layout>]

Deletes the expired sessions of one store through its prune(): in bounded batches, only sessions
of the store's own table, prefix or collection, after the store has checked that the table is a
session table in its layout. Creates no table, index or file. Redis expires sessions itself, so
there it deletes nothing. Prints how many sessions it deleted, or with --dry-run how many have
expired (a factory module must declare clock: 'injectable' for that).

Options:
  --dry-run           count the expired sessions, delete nothing
  --table, --prefix, --collection, --compat
                      which sessions of the URL's database (see below)
  --no-color          plain output (also when NO_COLOR is set or the output is not a terminal)
  -h, --help          print this help

${LOCATIONS}

${EXIT}`;

const COPY_USAGE = `Usage: session-stores copy --from <location> --to <location> [options]

Copies every live session of --from into --to with the expiry the source holds (cookie.expires
of each copy carries it), and never deletes or changes anything in --from. A session --to already
holds is left as it is (an earlier run copied it, or the application wrote it there since and it is
the newer), so a run that stopped is resumed by running it again and a second run copies nothing
twice. A store whose ttl option is a function computes its own expiry instead. Shows a progress
bar on a terminal (stderr) and prints one summary line.

Options:
  --from <location>   the store to copy from (read only)
  --to <location>     the store to copy into (its table or index is created when missing)
  --concurrency <n>   most sessions in flight at once (default 16)
  --from-table, --from-prefix, --from-collection, --from-compat
  --to-table, --to-prefix, --to-collection, --to-compat
                      which sessions of each URL's database (see below)
  --no-color          plain output (also when NO_COLOR is set or the output is not a terminal)
  -h, --help          print this help

${LOCATIONS}

${EXIT}`;

const FLAG_NAMES = ['table', 'prefix', 'collection', 'compat'] as const;
const PROGRESS_INTERVAL_MS = 100;
const BAR_WIDTH = 30;

export interface Output {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Whether stderr is a terminal: the progress bar is drawn only there. */
  errIsTty: boolean;
  color: boolean;
}

/** Colours only on a terminal, and never with NO_COLOR set (to anything but '') or --no-color. */
export function colorWanted(env: NodeJS.ProcessEnv, stdoutIsTty: boolean, noColorFlag: boolean): boolean {
  return stdoutIsTty && !noColorFlag && !env.NO_COLOR;
}

function defaultOutput(noColorFlag: boolean): Output {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    errIsTty: process.stderr.isTTY === true,
    color: colorWanted(process.env, process.stdout.isTTY === true, noColorFlag),
  };
}

export async function main(argv: string[], output?: Output): Promise<number> {
  const [command, ...rest] = argv;
  const io = output ?? defaultOutput(argv.includes('--no-color'));
  const usage = command === 'prune' ? PRUNE_USAGE : command === 'copy' ? COPY_USAGE : MAIN_USAGE;
  try {
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
      if (command === undefined) throw new UsageError('give a command: prune or copy');
      io.out(`${MAIN_USAGE}\n`);
      return 0;
    }
    if (command === 'prune') return await prune(rest, io);
    if (command === 'copy') return await copy(rest, io);
    throw new UsageError(`unknown command ${command}: use prune or copy`);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`session-stores${command === 'prune' || command === 'copy' ? ` ${command}` : ''}: ${error.message}\n\n${usage}\n`);
      return 2;
    }
    io.err(`session-stores ${command}: ${messageOf(error)}\n`);
    return 1;
  }
}

async function prune(argv: string[], io: Output): Promise<number> {
  const { values, positionals } = parse(argv, {
    'dry-run': { type: 'boolean' },
    ...Object.fromEntries(FLAG_NAMES.map((name) => [name, { type: 'string' as const }])),
  });
  if (values.help) {
    io.out(`${PRUNE_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'give the location of a store' : `give one location, got ${positionals.length}`);
  const flags = flagsOf(values, '');
  const dryRun = values['dry-run'] === true;
  const { label, count } = await pruneLocation(positionals[0]!, flags, dryRun);
  const sessions = `${count} expired session${count === 1 ? '' : 's'}`;
  io.out(`${paint(io, 'green', dryRun ? `${sessions} to prune` : `pruned ${sessions}`)} in ${label}${dryRun ? ' (dry run: nothing deleted)' : ''}\n`);
  return 0;
}

async function copy(argv: string[], io: Output): Promise<number> {
  const { values, positionals } = parse(argv, {
    from: { type: 'string' },
    to: { type: 'string' },
    concurrency: { type: 'string' },
    ...Object.fromEntries(FLAG_NAMES.flatMap((name) => [[`from-${name}`, { type: 'string' as const }], [`to-${name}`, { type: 'string' as const }]])),
  });
  if (values.help) {
    io.out(`${COPY_USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}: name the stores with --from and --to`);
  if (typeof values.from !== 'string' || typeof values.to !== 'string') throw new UsageError('give both --from and --to');
  if (values.from === values.to && FLAG_NAMES.every((name) => values[`from-${name}`] === values[`to-${name}`])) {
    throw new UsageError('--from and --to name the same sessions');
  }
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && (!Number.isSafeInteger(concurrency) || concurrency < 1)) {
    throw new UsageError(`--concurrency takes a positive integer, got ${String(values.concurrency)}`);
  }
  const opened: OpenedStore[] = [];
  try {
    const from = await openStore(values.from, flagsOf(values, 'from-'), 'read');
    opened.push(from);
    const to = await openStore(values.to, flagsOf(values, 'to-'), 'write');
    opened.push(to);
    const started = performance.now();
    const bar = io.errIsTty ? progressBar(io) : undefined;
    let result: CopyResult;
    try {
      result = await copySessions(from.store, to.store, { onProgress: bar?.update, ...(concurrency !== undefined && { concurrency }) });
    } finally {
      bar?.done();
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const ok = result.failed === 0;
    for (const failure of result.failures) io.err(`session-stores copy: ${failure}\n`);
    io.out(
      `${paint(io, ok ? 'green' : 'red', `copied ${result.copied} of ${result.read} live sessions`)} from ${from.label} to ${to.label}: ` +
        `${result.present} already in the target, ${result.gone} gone meanwhile (expired, destroyed or moved), ${result.failed} failed (${seconds} s)\n`,
    );
    return ok ? 0 : 1;
  } finally {
    for (const store of opened.reverse()) await store.close().catch(() => undefined);
  }
}

type OptionSpec = Record<string, { type: 'string' | 'boolean' }>;

function parse(argv: string[], options: OptionSpec) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { ...options, 'no-color': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }) as { values: Record<string, string | boolean | undefined>; positionals: string[] };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function flagsOf(values: Record<string, string | boolean | undefined>, side: '' | 'from-' | 'to-'): LocationFlags {
  const flags: LocationFlags = {};
  for (const name of FLAG_NAMES) {
    const value = values[`${side}${name}`];
    if (typeof value === 'string') flags[name] = value;
  }
  return flags;
}

/** A one-line bar on stderr, redrawn at most every PROGRESS_INTERVAL_MS and erased at the end. */
function progressBar(io: Output): { update: (progress: Readonly<CopyProgress>) => void; done: () => void } {
  let drawnAt = 0;
  let drawn = false;
  return {
    update(progress) {
      const at = performance.now();
      if (at - drawnAt < PROGRESS_INTERVAL_MS) return;
      drawnAt = at;
      drawn = true;
      const counts = `${progress.read}${progress.total === undefined ? '' : `/${progress.total}`} read, ${progress.copied} copied, ${progress.present} present`;
      if (progress.total === undefined || progress.total === 0) {
        io.err(`\r\x1b[K${counts}`);
        return;
      }
      const filled = Math.min(BAR_WIDTH, Math.round((progress.read / progress.total) * BAR_WIDTH));
      io.err(`\r\x1b[K${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)} ${counts}`);
    },
    done() {
      if (drawn) io.err('\r\x1b[K');
    },
  };
}

function paint(io: Output, colour: 'green' | 'red', text: string): string {
  if (!io.color) return text;
  return `\x1b[${colour === 'green' ? 32 : 31}m${text}\x1b[39m`;
}

function messageOf(error: unknown): string {
  if (error instanceof SessionStoreError || error instanceof ToolError) return error.message;
  const clean = cleanCause(error);
  return clean.message || clean.name;
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    // A factory module's shared client must not keep the process alive once the work is done.
    process.stdout.write('', () => process.exit(code));
  });
}
