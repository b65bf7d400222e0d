/**
 * A folder of traces as a list: what "Open Folder of Traces…" shows. No `vscode` import:
 * tracesView.ts turns a FolderScan into tree items.
 *
 * Every verdict and number here is read from the trace's analysis (the stored one, else the
 * core's analyze(), as `shutdown-trace show` does); the order of verdicts is collect's
 * (WORST_FIRST); who it happened to is the core's resourceOf(). Nothing is recomputed here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseTrace } from '../shared/trace-file';
import type { ExitReason, Trace } from '../shared/trace';
import { analyze } from '../core/analysis';
import { resourceOf, wallAtZero } from '../core/resource';
import { severityRank, WORST_FIRST } from '../core/collect-dir';
import { SPOOL_SUFFIX, TRACE_SUFFIX, isSpoolHeader, type StandaloneTrace } from '../core/spool-format';
import { formatDuration } from '../shared/duration';
import { resultPhrase } from './results';
import { shortLabel } from './commandLine';

/** Bounds: how deep and how many files a folder is read (a `kubectl cp` of many pods fits). */
export const MAX_DEPTH = 6;
export const MAX_FILES = 2000;
/** Larger traces are listed without a verdict (reading them would stall the window); they still open. */
export const MAX_SUMMARY_BYTES = 64 * 1024 * 1024;
/** Folders never descended into. */
const SKIP_DIRS = new Set(['node_modules', '.git']);

export type Tone = 'ok' | 'warn' | 'bad';

export interface TraceRow {
  kind: 'trace';
  file: string;
  /** Relative to the opened folder. */
  rel: string;
  exitReason: ExitReason;
  /** The viewer's short headline: "killed at 3 s deadline: 1 leak". */
  headline: string;
  tone: Tone;
  /** The analysis' whole verdict. */
  verdict: string;
  /** "api · shop/api-7d9f-x2k" (service, namespace/pod or host) or the command when none is known. */
  who: string;
  pid?: number;
  signalToExitMs?: number;
  leakedHandles: number;
  /** Wall-clock ms of the first signal (else of the start). */
  at?: number;
  /** Written by collect (or a preload's own trace): spools it stands for. */
  sources: string[];
  collected: boolean;
  incomplete?: string;
}

export interface SpoolRow {
  kind: 'spool';
  file: string;
  rel: string;
  /** "shop/api-7d9f-x2k pid 17800" from the header, when it can be read. */
  who: string;
  at?: number;
}

export interface BadRow {
  kind: 'bad';
  file: string;
  rel: string;
  /** One line: what is wrong. */
  problem: string;
  /** A trace file the viewer can still try (too large to summarise). */
  openable: boolean;
}

export type Row = TraceRow | SpoolRow | BadRow;

export interface FolderScan {
  dir: string;
  traces: TraceRow[];
  /** Spools no collected trace in the folder stands for. */
  spools: SpoolRow[];
  bad: BadRow[];
  /** Files past MAX_FILES (or MAX_DEPTH) that were not read. */
  truncated: boolean;
}

/** Group titles, in WORST_FIRST order. */
export const REASON_TITLES: Record<ExitReason, string> = {
  crashed: 'Crashed',
  'killed-at-deadline': 'Killed at the deadline',
  'killed-by-signal': 'Killed by a signal',
  'forced-exit': 'Forced exit (process.exit)',
  'still-running': 'Still running (stopped early)',
  unknown: 'No shutdown observed',
  'exited-before-signal': 'Exited before the signal',
  graceful: 'Graceful',
};

/** Worst first, then newest first, then by file name. */
export function byVerdict(a: TraceRow, b: TraceRow): number {
  return severityRank(a.exitReason) - severityRank(b.exitReason) || (b.at ?? 0) - (a.at ?? 0) || a.rel.localeCompare(b.rel);
}

/** Newest first. */
export function byTime(a: TraceRow, b: TraceRow): number {
  return (b.at ?? 0) - (a.at ?? 0) || byVerdict(a, b);
}

/** The groups of a scan, worst first, each sorted by verdict then time; empty groups left out. */
export function groupsOf(scan: FolderScan): { reason: ExitReason; title: string; rows: TraceRow[] }[] {
  return WORST_FIRST.map((reason) => ({ reason, title: REASON_TITLES[reason], rows: scan.traces.filter((r) => r.exitReason === reason).sort(byVerdict) })).filter((g) => g.rows.length > 0);
}

/** "2026-11-30 16:02:13" in local time. */
export function formatWhen(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0) return '';
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** What an item's description says after its label: "killed at 1.5 s deadline: 1 leak · signal → exit 1.50 s · 1 leaked handle · 2026-11-30 16:02:13". */
export function describeRow(r: TraceRow): string {
  const parts = [r.headline];
  if (r.signalToExitMs !== undefined) parts.push(`signal → exit ${formatDuration(r.signalToExitMs)}`);
  parts.push(`${r.leakedHandles} leaked handle${r.leakedHandles === 1 ? '' : 's'}`);
  const when = formatWhen(r.at);
  if (when) parts.push(when);
  return parts.join(' · ');
}

/** The item's label: who it happened to, and the pid. */
export function labelOf(r: TraceRow | SpoolRow): string {
  if (r.kind === 'spool') return r.who;
  return [r.who, r.pid !== undefined ? `pid ${r.pid}` : ''].filter(Boolean).join(' · ');
}

/** Who a trace is about, from its resource: service name, namespace/pod (else host); the command when none is named. */
export function whoOf(trace: Trace): { who: string; pid?: number } {
  const res = resourceOf(trace);
  const str = (k: string) => (typeof res[k] === 'string' && res[k] ? (res[k] as string) : undefined);
  const service = str('service.name');
  const pod = str('k8s.pod.name');
  const ns = str('k8s.namespace.name');
  const place = pod ? (ns ? `${ns}/${pod}` : pod) : str('host.name');
  const parts = [service && !service.startsWith('unknown_service') ? service : undefined, place].filter((x): x is string => !!x);
  const who = parts.length ? parts.join(' · ') : trace.meta.command?.length ? shortLabel(trace.meta.command) : 'unknown process';
  const pid = trace.analysis?.servicePid ?? trace.meta.mainPid;
  return { who, pid };
}

/** One trace file → its row: the stored analysis, else the core's analysis (as `show` does). */
export function rowOf(trace: Trace, file: string, rel: string): TraceRow {
  trace.analysis ??= analyze(trace);
  const a = trace.analysis;
  const sa = (trace as StandaloneTrace).meta.standalone;
  const firstSignal = trace.events.find((e) => e.kind === 'signal-sent' || e.kind === 'signal');
  const zero = wallAtZero(trace);
  const phrase = resultPhrase(trace);
  const { who, pid } = whoOf(trace);
  return {
    kind: 'trace',
    file,
    rel,
    exitReason: a.exitReason,
    headline: phrase.text,
    tone: phrase.tone,
    verdict: a.verdict,
    who,
    pid,
    signalToExitMs: a.signalToExitMs,
    leakedHandles: a.leakedHandleCount,
    at: zero ? zero + (firstSignal?.t ?? 0) : undefined,
    sources: sa?.sources ?? [],
    collected: !!sa?.collected,
    incomplete: trace.meta.complete ? undefined : (trace.meta.incompleteReason ?? 'incomplete'),
  };
}

/** The first line of an error, without the file's name in front (the item shows it): "is truncated: the JSON ends early…". */
export function oneLine(e: unknown, name?: string): string {
  let msg = (e instanceof Error ? e.message : String(e)).split('\n')[0].trim();
  if (name && msg.startsWith(`${name} `)) msg = msg.slice(name.length + 1);
  else if (name && msg.startsWith(`${name}: `)) msg = msg.slice(name.length + 2);
  return msg.slice(0, 300) || 'unreadable';
}

interface Cached {
  mtimeMs: number;
  size: number;
  row: Row;
}

/**
 * Reads a folder; keeps each file's row until the file changes (a watcher refresh reads only
 * what changed). One reader per opened folder.
 */
export class FolderReader {
  private cache = new Map<string, Cached>();

  constructor(readonly dir: string) {}

  async scan(): Promise<FolderScan> {
    const { files, truncated } = await listFiles(this.dir);
    const seen = new Set<string>();
    const rows: Row[] = [];
    for (const file of files) {
      seen.add(file);
      rows.push(await this.read(file));
    }
    for (const k of [...this.cache.keys()]) if (!seen.has(k)) this.cache.delete(k);
    return assemble(this.dir, rows, truncated);
  }

  private async read(file: string): Promise<Row> {
    const rel = path.relative(this.dir, file) || path.basename(file);
    let st: fs.Stats;
    try {
      st = await fs.promises.lstat(file);
    } catch (e) {
      return { kind: 'bad', file, rel, problem: `cannot be read: ${oneLine(e)}`, openable: false };
    }
    const hit = this.cache.get(file);
    if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.row;
    const row = await readRow(file, rel, st);
    this.cache.set(file, { mtimeMs: st.mtimeMs, size: st.size, row });
    return row;
  }
}

async function readRow(file: string, rel: string, st: fs.Stats): Promise<Row> {
  if (!st.isFile()) return { kind: 'bad', file, rel, problem: 'not a regular file (a link or a device): not read', openable: false };
  if (file.endsWith(SPOOL_SUFFIX)) return readSpoolRow(file, rel, st);
  if (st.size > MAX_SUMMARY_BYTES) return { kind: 'bad', file, rel, problem: `${Math.round(st.size / 1048576)} MiB: too large to list its verdict; open it to see it`, openable: true };
  try {
    const text = await fs.promises.readFile(file, 'utf8');
    return rowOf(parseTrace(text, rel), file, rel);
  } catch (e) {
    return { kind: 'bad', file, rel, problem: oneLine(e, rel), openable: false };
  }
}

/** A spool's header line only: who and when (the events are read by Collect). */
async function readSpoolRow(file: string, rel: string, st: fs.Stats): Promise<SpoolRow | BadRow> {
  let head: string;
  try {
    const fh = await fs.promises.open(file, 'r');
    try {
      const buf = Buffer.alloc(Math.min(st.size, 64 * 1024));
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      head = buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch (e) {
    return { kind: 'bad', file, rel, problem: `cannot be read: ${oneLine(e)}`, openable: false };
  }
  const nl = head.indexOf('\n');
  let header: unknown;
  try {
    header = JSON.parse(nl >= 0 ? head.slice(0, nl) : head);
  } catch {
    header = undefined;
  }
  if (!isSpoolHeader(header)) return { kind: 'bad', file, rel, problem: 'a spool without a readable header (empty, or cut short by a full disk)', openable: false };
  const env = header.env ?? {};
  const pod = env.POD_NAME || env.K8S_POD_NAME || env.OTEL_RESOURCE_ATTRIBUTES_POD_NAME;
  const ns = env.POD_NAMESPACE || env.K8S_NAMESPACE_NAME;
  const place = pod ? (ns ? `${ns}/${pod}` : pod) : header.host;
  const who = [env.OTEL_SERVICE_NAME, place].filter(Boolean).join(' · ');
  return { kind: 'spool', file, rel, who: `${who || 'process'} · pid ${header.hello.pid}`, at: header.wallMs };
}

/** Trace and spool files under dir, bounded by MAX_DEPTH and MAX_FILES; sorted by path. */
async function listFiles(dir: string): Promise<{ files: string[]; truncated: boolean }> {
  const files: string[] = [];
  let truncated = false;
  const walk = async (d: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) {
      truncated = true;
      return;
    }
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (files.length >= MAX_FILES) {
        truncated = true;
        return;
      }
      const full = path.join(d, e.name);
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) await walk(full, depth + 1);
      } else if (e.name.endsWith(TRACE_SUFFIX) || e.name.endsWith(SPOOL_SUFFIX)) files.push(full);
    }
  };
  await walk(dir, 0);
  return { files, truncated };
}

/**
 * Rows → the scan: a spool (or a preload's own trace) that a collected trace stands for is not
 * listed again; collect names its sources relative to the folder it read, where it also writes.
 */
export function assemble(dir: string, rows: Row[], truncated: boolean): FolderScan {
  const covered = new Set<string>();
  for (const r of rows) if (r.kind === 'trace' && r.collected) for (const s of r.sources) covered.add(path.resolve(path.dirname(r.file), s));
  const traces: TraceRow[] = [];
  const spools: SpoolRow[] = [];
  const bad: BadRow[] = [];
  for (const r of rows) {
    if (r.kind === 'bad') bad.push(r);
    else if (covered.has(path.resolve(r.file)) && !(r.kind === 'trace' && r.collected)) continue;
    else if (r.kind === 'spool') spools.push(r);
    else traces.push(r);
  }
  traces.sort(byVerdict);
  return { dir, traces, spools, bad, truncated };
}
