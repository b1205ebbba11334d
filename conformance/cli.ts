#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Store } from 'express-session';
import { withDeadline } from './deadline';
import { describeError } from './describe-error';
import { callMaybeCallback, closeStore, isThenable, methodsOf } from './store-calls';
import { FRAMEWORKS, frameworksOf, listed, missingText, optionalIn } from './cases/http-frameworks';
import { breaksRun, frameworkOf, runCases, selectCases } from './core';
import { watchRun, type ProcessCrash } from './process-watch';
import { jsonReport, markdownReport, summaryLine, tableHeader, tableRow, tally, type RunInfo } from './format';
import type { CaseResult, ConformanceCase, ConformanceConfig, HttpFramework, StoreFactory, StoreFactoryOptions, StoreMethod, StoreSupport } from './types';

const USAGE = `Usage: session-stores-conformance <store-module> [options]

Runs the session-stores conformance suite against the store made by <store-module>, prints a
pass / fail / skip table and exits 1 when any case fails.

<store-module> exports, as default or as \`createStore\`, an async function (options) => store,
where options may carry { namespace, ttl, touchAfter, disableTouch, now }. Optional named exports:
  teardown       async () => void, run once at the end (close shared clients, drop tables)
  supports       the options the factory honours, each declared on its own (none implies
                 another); a case needing one that is not declared is skipped:
                   namespaces    options.namespace keeps one store's sessions apart from another's
                   ttl           options.ttl, a number of ms, is the lifetime of a session whose
                                 cookie has no expires
                   ttlFunction   options.ttl may also be a function (session, sid) => ms, which
                                 wins over cookie.expires
                   touchAfter    options.touchAfter (ms) skips the touch of a session extended
                                 less than that long ago
                   disableTouch  options.disableTouch makes touch() a no-op
  name           the store's name in the reports
  clock          'injectable' when the factory passes options.now to the store (default 'real')
  writeRaw       async (store, sid, text) => void: stores raw text as a session (corrupt-data cases)
  readRaw        async (store, sid) => { payload, expiresAt } | null: what the backend holds for
                 sid, expired or not (the stored-record cases)
  disposeStore   async (store) => void: releases a store (default: its close(), when it has one)
  knownFailures  { [caseId]: reason }: failures that are reported but do not fail the run

What it writes, reads and deletes: every case writes sessions under ids of its own (random, never
an id it did not make) through stores the factory makes, in namespaces of its own when the factory
honours options.namespace. At the start it makes stores in two fresh namespaces and checks, with
length(), ids() or all(), that the first holds nothing and that a session written in it is not seen
from the second (that session is then destroyed). Only when both hold are the cases that call
clear() run (clear() deletes every session of a namespace), and the case that loads the module in a
child process. At the end it destroys every id it wrote or destroyed, through a store made with
tombstoneTtl: 0, so a store that honours it keeps no tombstone of the run. Ids and sessions that all() or ids() return
and that it did not write are never printed nor written to a report: they show as
<not written by this run: abcdef…> (the first 6 characters).

Options:
  --allow-clear       run the cases that call clear() even when the check above fails: clear()
                      then deletes EVERY session of the namespace the factory gives the store,
                      sessions this run did not write included. Use it only on a database that
                      holds nothing you need
  --json <file>       also write the results as JSON
  --markdown <file>   also write the results as a Markdown page
  --filter <pattern>  run only the cases whose id contains <pattern>, or matches it as a glob
                      (* and ?); repeat it or separate patterns with commas
  --http              include the HTTP cases: real apps on express with express-session, which
                      need express and supertest installed next to session-stores, and on
                      fastify with @fastify/session where fastify, @fastify/cookie and
                      @fastify/session are installed (their cases are reported skipped, saying
                      so, where they are not)
  --framework <name>  run the HTTP cases through this framework only, express or fastify (its
                      packages then required); repeat it or separate names with commas. Implies --http
  --strict            count a broken recommended rule (a warning) as a failure
  --keep-going        run on after the store crashes the process (an uncaught exception or
                      unhandled rejection); by default the remaining cases are reported not run,
                      since a real app would have stopped there
  --list              print the cases (id, level, rule) and exit
  --no-color          plain output (also when NO_COLOR is set or stdout is not a terminal)
  -h, --help          print this help

A module in TypeScript (.ts) needs tsx installed, or run the CLI as: node --import tsx <cli> <module>
Exit status: 0 when every case passes, is skipped or warns; 1 when a case fails; 2 on a usage error
or when the HTTP cases cannot load the packages of a framework they need (express and supertest
with --http, those of each --framework); 141 when the output's reader goes away.`;

const TEARDOWN_DEADLINE_MS = 15_000;
const NAMESPACE_CHECK_DEADLINE_MS = 15_000;
const CLEANUP_DEADLINE_MS = 30_000;

/** What a shell reports for a writer killed by SIGPIPE (128 + 13), the usual end once a pipe's reader is gone. */
const CLOSED_PIPE_STATUS = 141;

/** What a store module may export; see USAGE. */
export interface StoreModule {
  default?: unknown;
  createStore?: StoreFactory;
  makeStore?: StoreFactory;
  teardown?: () => unknown;
  supports?: StoreSupport;
  name?: string;
  clock?: 'real' | 'injectable';
  writeRaw?: ConformanceConfig['writeRaw'];
  readRaw?: ConformanceConfig['readRaw'];
  disposeStore?: ConformanceConfig['disposeStore'];
  knownFailures?: Record<string, string>;
  methods?: StoreMethod[];
}

export interface CliOptions {
  modulePath: string;
  json?: string;
  markdown?: string;
  filters: string[];
  /** Whether to run the HTTP cases, or the frameworks to run them through. */
  http: boolean | HttpFramework[];
  strict: boolean;
  keepGoing: boolean;
  list: boolean;
  color: boolean;
  allowClear: boolean;
}

class UsageError extends Error {}

/** The environment cannot run what was asked; reported in one line, without the usage. */
class SetupError extends Error {}

export function parseCli(argv: string[]): CliOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: 'string' },
        markdown: { type: 'string' },
        filter: { type: 'string', multiple: true },
        http: { type: 'boolean', default: false },
        framework: { type: 'string', multiple: true },
        strict: { type: 'boolean', default: false },
        'keep-going': { type: 'boolean', default: false },
        'allow-clear': { type: 'boolean', default: false },
        list: { type: 'boolean', default: false },
        'no-color': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length !== 1 && !(values.list && positionals.length === 0)) {
    throw new UsageError(positionals.length === 0 ? 'give the path of a store module' : `give one store module, got ${positionals.length}`);
  }
  const filters = (values.filter ?? []).flatMap((f) => f.split(',')).map((f) => f.trim()).filter(Boolean);
  const frameworks = (values.framework ?? []).flatMap((f) => f.split(',')).map((f) => f.trim()).filter(Boolean);
  const unknown = frameworks.find((name) => !(name in FRAMEWORKS));
  if (unknown !== undefined) throw new UsageError(`no framework ${unknown}: --framework takes ${listed(Object.keys(FRAMEWORKS))}`);
  return {
    modulePath: positionals[0] ?? '',
    json: values.json,
    markdown: values.markdown,
    filters,
    http: frameworks.length > 0 ? [...new Set(frameworks as HttpFramework[])] : values.http,
    strict: values.strict,
    keepGoing: values['keep-going'],
    allowClear: values['allow-clear'],
    list: values.list,
    color: !values['no-color'] && !process.env.NO_COLOR && process.stdout.isTTY === true,
  };
}

/** A predicate on case ids: substring match, or a whole-id glob when the pattern has `*` or `?`. */
export function caseFilter(patterns: readonly string[]): ((id: string) => boolean) | undefined {
  if (patterns.length === 0) return undefined;
  const tests = patterns.map((pattern) => {
    if (!/[*?]/.test(pattern)) return (id: string) => id.includes(pattern);
    const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    const regex = new RegExp(`^${source}$`);
    return (id: string) => regex.test(id);
  });
  return (id) => tests.some((test) => test(id));
}

/** Loads a store module: CommonJS and TypeScript through require, ES modules through import. */
export async function loadStoreModule(modulePath: string): Promise<StoreModule> {
  const file = path.resolve(modulePath);
  if (/\.[cm]?ts$/.test(file) && !require.extensions['.ts']) registerTypeScript();
  if (file.endsWith('.mjs')) return (await importEsm(pathToFileURL(file).href)) as StoreModule;
  try {
    return require(file) as StoreModule;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_REQUIRE_ESM' || code === 'ERR_REQUIRE_ASYNC_MODULE') return (await importEsm(pathToFileURL(file).href)) as StoreModule;
    throw error;
  }
}

/** The factory of a module: `createStore`, `makeStore`, or the default export (itself or its `createStore`). */
export function factoryOf(mod: StoreModule): StoreFactory | undefined {
  const candidates: unknown[] = [mod.createStore, mod.makeStore, mod.default];
  const inner = mod.default as StoreModule | undefined;
  if (inner && typeof inner === 'object') candidates.push(inner.createStore, inner.makeStore, inner.default);
  if (typeof mod === 'function') candidates.push(mod);
  return candidates.find((c): c is StoreFactory => typeof c === 'function');
}

/** Named exports, also when an ES module's CommonJS default carries them. */
function exportsOf(mod: StoreModule): StoreModule {
  const inner = mod.default;
  return inner && typeof inner === 'object' ? { ...(inner as StoreModule), ...mod } : mod;
}

// tsc turns import() into require() under CommonJS; an ES module needs the real import().
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

function registerTypeScript(): void {
  try {
    (require('tsx/cjs/api') as { register(): void }).register();
  } catch {
    throw new UsageError('a TypeScript store module needs tsx: install it, or run node --import tsx <cli> <module>');
  }
}

export interface CliRun {
  results: CaseResult[];
  ok: boolean;
  info: RunInfo;
}

/** Runs the suite for one store module, printing as it goes; resolves to the outcome. */
export async function runCli(options: CliOptions, out: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Promise<CliRun> {
  const filter = caseFilter(options.filters);
  const http = { http: options.http };
  const frameworks = [...new Set(selectCases({ name: 'check', makeStore: () => undefined as unknown as Store, ...http, filter }).map(frameworkOf))];
  // Checked before the store module loads: without them every case through a required framework would fail as if the store had.
  const required = frameworks.filter((framework): framework is HttpFramework => framework !== undefined && !optionalIn(http, framework));
  const missing = missingText(required);
  if (missing) {
    throw new SetupError(`${missing}, or leave out ${Array.isArray(options.http) ? `--framework ${required.join(',')}` : '--http'}`);
  }
  const loaded = await loadStoreModule(options.modulePath);
  const mod = exportsOf(loaded);
  const makeStore = factoryOf(mod);
  if (!makeStore) {
    throw new UsageError(`${options.modulePath} exports no store factory (a default export or createStore)`);
  }
  // A module that is itself the factory function has the function's name as `name`.
  const declaredName = typeof loaded === 'function' ? undefined : mod.name;
  const store = typeof declaredName === 'string' && declaredName ? declaredName : path.basename(options.modulePath).replace(/\.[^.]+$/, '');
  const clock = mod.clock === 'injectable' ? 'injectable' : 'real';
  const supports = mod.supports ?? {};
  const dispose = (made: Store) => (mod.disposeStore ? mod.disposeStore(made) : closeIfClosable(made));
  // With tombstones off, the clean-up's destroy() leaves none behind where the run destroyed or wrote a session.
  const ledger = new Ledger(makeStore, { tombstoneTtl: 0 });
  const config: ConformanceConfig = {
    name: store,
    makeStore: ledger.factory,
    clock,
    supports,
    http: options.http,
    strict: options.strict,
    filter,
    factoryModule: path.resolve(options.modulePath),
    ...(mod.writeRaw && { writeRaw: ledger.rawWriter(mod.writeRaw) }),
    ...(mod.readRaw && { readRaw: mod.readRaw }),
    ...(mod.disposeStore && { disposeStore: mod.disposeStore }),
    ...(mod.knownFailures && { knownFailures: mod.knownFailures }),
  };
  const selected = selectCases(config);
  if (selected.length === 0) throw new UsageError(`no case matches --filter ${options.filters.join(',')}`);
  const idWidth = Math.max(4, ...selected.map((c) => c.id.length));

  const check = await checkNamespacesOf(ledger, dispose);
  const withheld = check.safe || options.allowClear ? undefined : `not run: ${check.finding}, so clear() could delete sessions this run did not write (--allow-clear runs it)`;
  const known = mod.methods ?? (check.methods && [...check.methods]);
  // Without clear() among its methods the suite neither calls it nor counts on it to empty a namespace.
  if (known) config.methods = withheld ? known.filter((method) => method !== 'clear') : known;
  if (withheld) {
    delete config.factoryModule;
    ledger.refuseClear();
  }
  const withheldFrom = (c: ConformanceCase) => withheld !== undefined && (c.needs.includes('clear') || c.needs.includes('factoryModule'));

  const processErrors: string[] = [];
  const crashes: string[] = [];
  const onCrash = (crash: ProcessCrash) => {
    crashes.push(crash.description);
    // One a running case was charged with is in that case's result; only the rest is ours to report.
    if (!crash.duringCase) processErrors.push(crash.description);
  };

  const through = frameworksOf(http).filter((framework) => selected.some((c) => frameworkOf(c) === framework));
  const labels = through.map((framework) => FRAMEWORKS[framework].label);
  out(`session-stores conformance: ${store} (${selected.length} cases, ${clock} clock${through.length > 0 ? `, HTTP cases through ${listed(labels)}` : ''})`);
  out(`namespace check: ${check.finding}; ${withheld ? 'the cases that call clear() are not run' : check.safe ? 'every case runs' : 'every case runs (--allow-clear)'}`);
  out('');
  out(tableHeader(idWidth));
  const startedAt = new Date();
  const started = performance.now();
  const results: CaseResult[] = [];
  // A factory that never settles and holds no handle (making the store is not under a deadline) would
  // otherwise let the process end mid-run, silently and with status 0.
  const keepAlive = setInterval(() => undefined, 60_000);
  const onResult = (reported: CaseResult) => {
    const withheldCase = selected.find((c) => c.id === reported.id && withheldFrom(c));
    const result = withheldCase && reported.status === 'skip' && !reported.notRun ? { ...reported, reason: withheld } : reported;
    results.push(result);
    out(tableRow(result, idWidth, options.color));
  };
  try {
    await runCases(config, { onResult, onCrash, stopAtCrash: !options.keepGoing });
  } finally {
    clearInterval(keepAlive);
    // The cases are over: what crashes the process now is outside any case.
    const afterCases = watchRun(onCrash);
    try {
      const left = await withDeadline(ledger.removeWritten(dispose), CLEANUP_DEADLINE_MS, 'destroying the sessions this run wrote');
      if (left > 0) processErrors.push(`cleanup: ${left} sessions this run wrote could not be destroyed`);
    } catch (error) {
      processErrors.push(`cleanup: ${(error as Error).message}`);
    }
    try {
      await withDeadline(Promise.resolve().then(() => mod.teardown?.()), TEARDOWN_DEADLINE_MS, 'teardown()');
    } catch (error) {
      processErrors.push(`teardown: ${(error as Error).message}`);
    } finally {
      afterCases.stop();
    }
  }
  const durationMs = Math.round(performance.now() - started);
  const ok = !results.some(breaksRun) && crashes.length === 0;

  out('');
  for (const error of processErrors) out(`outside any case: ${error}`);
  if (crashes.length > 0) out(`the store crashed the process: ${crashes[0]} (a live app would have exited)`);
  out(summaryLine(tally(results)));
  out(`${ok ? 'conforms' : 'does not conform'} (${(durationMs / 1000).toFixed(1)} s)`);

  const info: RunInfo = {
    store,
    module: options.modulePath,
    clock,
    http: through.length > 0,
    frameworks: through,
    supports,
    startedAt: startedAt.toISOString(),
    durationMs,
    processErrors,
    ...(crashes.length > 0 && { crash: crashes[0] }),
  };
  if (options.json) writeReport(options.json, `${JSON.stringify(jsonReport(info, results, ok, packageVersion()), null, 2)}\n`);
  if (options.markdown) writeReport(options.markdown, markdownReport(info, results, ok));
  return { results, ok, info };
}

/** What the namespace check found before any case ran. */
interface NamespaceCheck {
  /** A fresh namespace was empty and kept apart from another: everything the run finds in it is its own. */
  safe: boolean;
  /** One sentence, without any id. */
  finding: string;
  /** The store's optional methods, when the check could make a store; otherwise the suite probes them itself. */
  methods?: Set<StoreMethod>;
}

/** The namespace check, bounded in time; a factory or store that fails it, or crashes the process meanwhile, makes the run unsafe. */
async function checkNamespacesOf(ledger: Ledger, dispose: (made: Store) => unknown): Promise<NamespaceCheck> {
  const watch = watchRun();
  try {
    const check = await withDeadline(ledger.checkNamespaces(dispose), NAMESPACE_CHECK_DEADLINE_MS, 'the namespace check');
    if (watch.first === undefined) return check;
    return { safe: false, finding: `the store crashed the process during the namespace check (${describeError(watch.first.error)})`, methods: check.methods };
  } catch (error) {
    return { safe: false, finding: `the namespace check failed (${describeError(watch.first ? watch.first.error : error)})` };
  } finally {
    watch.stop();
  }
}

/**
 * Every store the run makes passes through here: it notes each id written (by set() or writeRaw)
 * or destroyed (which may leave a tombstone) per namespace, so the run can destroy them at the end; it shows ids that all() and ids() return
 * and that the run did not write only by a short prefix, with no session data; and it can refuse clear().
 */
class Ledger {
  private readonly written = new Map<string | undefined, Set<string>>();
  /** The written ids whose set() or writeRaw succeeded. */
  private readonly accepted = new Set<string>();
  /** The JSON of each session the run passed to set(): what tells its own entries of an all() array that carry no id. */
  private readonly writtenSessions = new Set<string>();
  private readonly namespaces = new WeakMap<Store, string | undefined>();
  private clearRefused = false;

  constructor(
    private readonly makeStore: StoreFactory,
    /** What the store that destroys the run's ids at the end is made with, besides its namespace. */
    private readonly cleanupOptions: StoreFactoryOptions = {},
  ) {}

  readonly factory: StoreFactory = async (options: StoreFactoryOptions) => {
    const made = await this.makeStore(options);
    this.watch(made, options.namespace);
    return made;
  };

  rawWriter(writeRaw: NonNullable<ConformanceConfig['writeRaw']>): NonNullable<ConformanceConfig['writeRaw']> {
    return (made, sid, text) => this.noteWrite(this.namespaces.get(made), sid, () => writeRaw(made, sid, text), []) as void | Promise<void>;
  }

  refuseClear(): void {
    this.clearRefused = true;
  }

  /**
   * Makes stores in two fresh namespaces: the first must hold nothing, and a session written in it
   * must not be seen from the second. That session is destroyed again.
   */
  async checkNamespaces(dispose: (made: Store) => unknown): Promise<NamespaceCheck> {
    const tag = randomBytes(4).toString('hex');
    const first = await this.factory({ namespace: `cli_${tag}_a` });
    const second = await this.factory({ namespace: `cli_${tag}_b` });
    try {
      const methods = methodsOf(first);
      const before = await sessionCount(first);
      if (before === undefined) return { safe: false, finding: 'the store has none of length(), ids() and all() to check that its namespace is empty', methods };
      if (before > 0) return { safe: false, finding: `a store in a fresh namespace already holds ${before} sessions this run did not write`, methods };
      const sid = `cli-namespace-check-${tag}-${randomBytes(8).toString('hex')}`;
      await callMaybeCallback(first, 'set', sid, checkSession());
      try {
        const seen = (await callMaybeCallback(second, 'get', sid)) != null || ((await sessionCount(second)) ?? 0) > 0;
        if (seen) return { safe: false, finding: 'a session written in one namespace is seen from another, so the factory does not keep namespaces apart', methods };
      } finally {
        await callMaybeCallback(first, 'destroy', sid);
      }
      return { safe: true, finding: 'fresh namespaces are empty and kept apart', methods };
    } finally {
      await Promise.all([first, second].map((made) => Promise.resolve().then(() => dispose(made)).catch(() => undefined)));
    }
  }

  /**
   * Destroys every id the run tried to write, through a store of the namespace it was written in;
   * resolves to how many of those the store had accepted could not be destroyed.
   */
  async removeWritten(dispose: (made: Store) => unknown): Promise<number> {
    let failed = 0;
    for (const [namespace, sids] of this.written) {
      const made = await this.makeStore({ ...this.cleanupOptions, ...(namespace !== undefined && { namespace }) });
      try {
        for (const sid of sids) {
          // An id the store refused at set() (the id cases try invalid ones) is refused here too, and was never written.
          await callMaybeCallback(made, 'destroy', sid).catch(() => (failed += this.accepted.has(sid) ? 1 : 0));
        }
      } finally {
        await dispose(made);
      }
    }
    this.written.clear();
    return failed;
  }

  private note(namespace: string | undefined, sid: unknown): void {
    if (typeof sid !== 'string') return;
    let sids = this.written.get(namespace);
    if (!sids) this.written.set(namespace, (sids = new Set()));
    sids.add(sid);
  }

  /** Notes `sid`, and marks it accepted once `write` succeeds, in whichever form the caller used. */
  private noteWrite(namespace: string | undefined, sid: unknown, write: (args: unknown[]) => unknown, args: unknown[]): unknown {
    this.note(namespace, sid);
    const accept = () => typeof sid === 'string' && this.accepted.add(sid);
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      return write([
        ...args.slice(0, -1),
        (error: unknown, ...rest: unknown[]) => {
          if (!error) accept();
          return (last as (...results: unknown[]) => unknown)(error, ...rest);
        },
      ]);
    }
    const returned = write(args);
    if (isThenable(returned)) returned.then(accept, () => undefined);
    return returned;
  }

  private wrote(sid: string): boolean {
    for (const sids of this.written.values()) if (sids.has(sid)) return true;
    return false;
  }

  private masked(sid: string): string {
    return `<not written by this run: ${sid.slice(0, 6)}…>`;
  }

  /** Replaces the store's methods on the instance with ones that note, mask or refuse, calling the originals as they are. */
  private watch(made: Store, namespace: string | undefined): void {
    if (made === null || typeof made !== 'object') return;
    this.namespaces.set(made, namespace);
    const methods = made as unknown as Record<string, unknown>;
    const wrap = (name: string, around: (original: (...args: unknown[]) => unknown, args: unknown[]) => unknown) => {
      const original = methods[name];
      if (typeof original !== 'function') return;
      methods[name] = (...args: unknown[]) => around((...passed: unknown[]) => original.apply(made, passed), args);
    };
    wrap('set', (original, args) => {
      this.noteSession(args[1]);
      return this.noteWrite(namespace, args[0], (passed) => original(...passed), args);
    });
    wrap('destroy', (original, args) => {
      this.note(namespace, args[0]);
      return original(...args);
    });
    wrap('clear', (original, args) => {
      if (!this.clearRefused) return original(...args);
      const refused = new Error('the conformance CLI refuses clear() here: its namespace holds sessions the run did not write');
      const callback = args.find((arg) => typeof arg === 'function') as ((error: unknown) => void) | undefined;
      if (!callback) return Promise.reject(refused);
      process.nextTick(callback, refused);
      return undefined;
    });
    for (const name of ['all', 'ids']) wrap(name, (original, args) => this.maskResult(original, args, name === 'ids' ? this.maskIds : this.maskSessions));
    wrap('sessions', (original, args) => this.maskStream(original(...args)));
  }

  /** The entries of a sessions() iterator, `{ id, session }` each, with the run's own passed through as they are. */
  private async *maskStream(stream: unknown): AsyncGenerator<unknown> {
    for await (const entry of stream as AsyncIterable<{ id?: unknown }>) {
      const id = entry?.id;
      yield typeof id !== 'string' || this.wrote(id) ? entry : { id: this.masked(id), session: FOREIGN_SESSION };
    }
  }

  /** Calls a reading method in whichever form the caller used, masking what it hands back. */
  private maskResult(original: (...args: unknown[]) => unknown, args: unknown[], mask: (value: unknown) => unknown): unknown {
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      return original(...args.slice(0, -1), (error: unknown, value: unknown, ...rest: unknown[]) =>
        (last as (...results: unknown[]) => unknown)(error, error ? value : mask(value), ...rest),
      );
    }
    const returned = original(...args);
    return isThenable(returned) ? returned.then(mask) : returned;
  }

  private readonly maskIds = (value: unknown): unknown =>
    Array.isArray(value) ? value.map((sid) => (typeof sid !== 'string' || this.wrote(sid) ? sid : this.masked(sid))) : value;

  /** A copy of all()'s object (never the store's own, which may be its live data) without the sessions the run did not write. */
  private readonly maskSessions = (value: unknown): unknown => {
    if (value === null || typeof value !== 'object' || value instanceof Map) return value;
    if (Array.isArray(value)) return value.map((entry) => (this.ownEntry(entry) ? entry : FOREIGN_SESSION));
    const copy = Object.create(Object.getPrototypeOf(value)) as Record<string, unknown>;
    for (const [sid, entry] of Object.entries(value)) {
      if (this.wrote(sid)) copy[sid] = entry;
      else copy[this.masked(sid)] = FOREIGN_SESSION;
    }
    return copy;
  };

  /** An entry of an all() array is the run's when it names, as id, sid or _id, an id the run wrote, or is, to the byte, a session the run wrote. */
  private ownEntry(entry: unknown): boolean {
    if (entry === null || typeof entry !== 'object') return false;
    const { id, sid, _id } = entry as Record<string, unknown>;
    if ([id, sid, _id].some((candidate) => typeof candidate === 'string' && this.wrote(candidate))) return true;
    // Stores that list bare sessions (connect-session-knex, connect-sqlite3): the run's own are the ones it wrote, to the byte.
    return this.writtenSessions.has(jsonOf(entry) ?? '');
  }

  private noteSession(session: unknown): void {
    const text = jsonOf(session);
    if (text !== undefined) this.writtenSessions.add(text);
  }
}

/** `JSON.stringify(value)`, or undefined for a value JSON cannot hold (a circular or BigInt session a case passes on purpose). */
function jsonOf(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

/** What stands in, in all()'s result, for a session the run did not write. */
const FOREIGN_SESSION = Object.freeze({ notWrittenByThisRun: true });

/** How many sessions a store holds, by length(), ids() or all(); undefined when it has none of them. */
async function sessionCount(made: Store): Promise<number | undefined> {
  const methods = methodsOf(made);
  if (methods.has('length')) return Number(await callMaybeCallback(made, 'length'));
  if (methods.has('ids')) return ((await callMaybeCallback(made, 'ids')) as unknown[]).length;
  if (methods.has('all')) {
    const all = await callMaybeCallback(made, 'all');
    return Array.isArray(all) ? all.length : Object.keys(all as object).length;
  }
  return undefined;
}

function checkSession(): Record<string, unknown> {
  const expires = new Date(Date.now() + 60_000);
  return { cookie: { originalMaxAge: 60_000, expires, httpOnly: true, path: '/' }, namespaceCheck: true };
}

async function closeIfClosable(made: Store): Promise<void> {
  if (typeof (made as { close?: unknown }).close === 'function') await closeStore(made);
}

function writeReport(file: string, text: string): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileSync(file, text);
}

function packageVersion(): string {
  // The source and the built file sit at different depths under the package root.
  for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'session-stores' && manifest.version) return manifest.version;
    } catch {
      // No package.json here: keep walking up.
    }
  }
  return 'unknown';
}

function listCases(out: (line: string) => void): void {
  const cases = selectCases({ name: 'list', makeStore: () => undefined as unknown as Store, http: true });
  const idWidth = Math.max(...cases.map((c) => c.id.length));
  for (const c of cases) out(`${c.id.padEnd(idWidth)}  ${c.level.padEnd(11)}  ${c.rule}`);
}

export async function main(argv: string[]): Promise<number> {
  try {
    const options = parseCli(argv);
    if (options === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (options.list) {
      listCases((line) => process.stdout.write(`${line}\n`));
      return 0;
    }
    const { ok } = await runCli(options);
    return ok ? 0 : 1;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`session-stores-conformance: ${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    if (error instanceof SetupError) {
      process.stderr.write(`session-stores-conformance: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(`session-stores-conformance: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 2;
  }
}

if (require.main === module) {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      // Nobody reads the output any more (`| head`): stop as a Unix tool stops, not with a stack trace.
      if (error.code === 'EPIPE') process.exit(CLOSED_PIPE_STATUS);
      if (stream === process.stdout) process.stderr.write(`session-stores-conformance: cannot write the output: ${error.message}\n`);
      process.exit(2);
    });
  }
  // A store that leaves a timer or socket open must not keep the CLI alive once the results are out.
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
    // setImmediate lets a pending EPIPE from the last writes end the CLI with its own status first.
    process.stdout.write('', () => setImmediate(() => process.exit(code)));
  });
}
