import type { CaseResult, CaseStatus, HttpFramework, StoreSupport } from './types';

export interface Tally {
  passed: number;
  failed: number;
  skipped: number;
  warned: number;
  /** Cases the run stopped before (the store crashed the process); not among `skipped`. */
  notRun: number;
  /** Failures listed in the config's `knownFailures`: counted in `failed`, they do not fail the run. */
  known: number;
}

/** What a report says about the run besides the results. */
export interface RunInfo {
  store: string;
  /** The module the factory came from, as given on the command line. */
  module?: string;
  clock: 'real' | 'injectable';
  /** Whether HTTP cases ran, and through which frameworks. */
  http: boolean;
  frameworks: HttpFramework[];
  supports: StoreSupport;
  startedAt: string;
  durationMs: number;
  /** Errors the process saw outside any case (a store's timer throwing, say). */
  processErrors: string[];
  /** The first uncaught exception or unhandled rejection: it fails the run whatever the case's level. */
  crash?: string;
}

/** The JSON report's shape (`--json`). */
export interface JsonReport extends RunInfo {
  tool: 'session-stores-conformance';
  version: string;
  ok: boolean;
  summary: Tally;
  results: CaseResult[];
}

export function tally(results: readonly CaseResult[]): Tally {
  const counts: Tally = { passed: 0, failed: 0, skipped: 0, warned: 0, notRun: 0, known: 0 };
  for (const result of results) {
    if (result.notRun) counts.notRun++;
    else if (result.status === 'pass') counts.passed++;
    else if (result.status === 'fail') counts.failed++;
    else if (result.status === 'skip') counts.skipped++;
    else counts.warned++;
    if (result.status === 'fail' && result.knownFailure !== undefined) counts.known++;
  }
  return counts;
}

/** `12 passed, 1 failed, 3 skipped, 2 warnings, 4 not run`: one line, the form CI logs are searched for. */
export function summaryLine(counts: Tally): string {
  const parts = [`${counts.passed} passed`, `${counts.failed} failed`, `${counts.skipped} skipped`];
  if (counts.warned > 0) parts.push(`${counts.warned} ${counts.warned === 1 ? 'warning' : 'warnings'}`);
  if (counts.notRun > 0) parts.push(`${counts.notRun} not run`);
  if (counts.known > 0) parts.push(`(${counts.known} of the failures known)`);
  return parts.join(', ');
}

const STATUS_LABEL: Record<CaseStatus, string> = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP', warn: 'WARN' };
const STATUS_COLOR: Record<CaseStatus, number> = { pass: 32, fail: 31, skip: 90, warn: 33 };

/** The status cell: `FAIL*` marks a known failure. */
export function statusLabel(result: CaseResult, color: boolean): string {
  const label = `${STATUS_LABEL[result.status]}${result.knownFailure !== undefined ? '*' : ' '}`;
  return color ? `\u001b[${STATUS_COLOR[result.status]}m${label}\u001b[0m` : label;
}

/** One line of reason: the failure's, else the rule for a pass. */
export function reasonOf(result: CaseResult): string {
  const reason = result.status === 'pass' ? '' : (result.reason ?? '');
  const known = result.knownFailure !== undefined ? ` [known: ${result.knownFailure}]` : '';
  return oneLine(`${reason}${known}`);
}

/** A table row: id padded to `idWidth`, status, time, and one line of reason. */
export function tableRow(result: CaseResult, idWidth: number, color: boolean, reasonWidth = 160): string {
  const time = `${result.ms}ms`.padStart(7);
  return `${result.id.padEnd(idWidth)}  ${statusLabel(result, color)} ${time}  ${truncate(reasonOf(result), reasonWidth)}`.trimEnd();
}

export function tableHeader(idWidth: number): string {
  return `${'case'.padEnd(idWidth)}  status     time  reason`;
}

export function jsonReport(info: RunInfo, results: CaseResult[], ok: boolean, version: string): JsonReport {
  return { tool: 'session-stores-conformance', version, ...info, ok, summary: tally(results), results };
}

/** A Markdown page for one store: summary, then every case with its rule and outcome. */
export function markdownReport(info: RunInfo, results: readonly CaseResult[], ok: boolean): string {
  const lines = [
    `# Conformance of ${info.store}`,
    '',
    `**${ok ? 'Conforms' : 'Does not conform'}**: ${summaryLine(tally(results))}.`,
    '',
    `Run ${info.startedAt} in ${(info.durationMs / 1000).toFixed(1)} s, ${info.clock} clock, HTTP cases ${info.http ? `through ${info.frameworks.join(' and ')}` : 'not run'}; ` +
      `options honoured: ${supportsText(info.supports)}.`,
    '',
    '| Case | Level | Status | Rule | Reason |',
    '| --- | --- | --- | --- | --- |',
    ...results.map(
      (r) =>
        `| \`${r.id}\` | ${r.level} | ${r.notRun ? 'not run' : STATUS_LABEL[r.status]}${r.knownFailure !== undefined ? ' (known)' : ''} | ${cell(r.rule)} | ${cell(reasonOf(r))} |`,
    ),
  ];
  if (info.crash) lines.push('', `The store crashed the process: ${cell(info.crash)}; a live app would have exited there.`);
  if (info.processErrors.length > 0) {
    lines.push('', 'Errors the process saw outside any case:', '', ...info.processErrors.map((e) => `- ${cell(e)}`));
  }
  return `${lines.join('\n')}\n`;
}

export function supportsText(supports: StoreSupport): string {
  const names = Object.entries(supports)
    .filter(([, on]) => on)
    .map(([name]) => name);
  return names.length > 0 ? names.join(', ') : 'none declared';
}

/** Text made safe for one Markdown table cell. */
export function cell(text: string): string {
  return oneLine(text).replace(/\\/g, '\\\\').replace(/\|/g, '\\|');
}

export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function truncate(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}
