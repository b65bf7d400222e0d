/**
 * The standalone spool: what the preload writes when no launcher runs it (a container, a pod),
 * and how spools become a trace. Shared by the preload (which writes a spool, and at a clean
 * exit turns it into its own trace) and `shutdown-trace collect` (which groups the spools and
 * traces of many processes and analyses them). No Node imports, so the preload can bundle it.
 *
 * A spool is NDJSON, one file per process, `<host>-<pid>-<wall ms>.spool.ndjson`:
 *  1. a header (`type: "spool"`): the process's hello, host, boot id, session, the wall clock
 *     beside the monotonic one, the environment variables named in RECORDED_ENV, and counters
 *     of fixed width that the preload rewrites in place (`dropped`, `ioErrors`), so the counts
 *     survive a SIGKILL;
 *  2. `{"type":"events","pid","seq","events":[…]}` records, the launcher's wire and spool format;
 *  3. at a clean exit, an `end` record (`type: "end"`). No end record: the process was killed
 *     (SIGKILL at a deadline, the OOM killer) or died in native code.
 */
import type { HelloMessage, PreloadEvent, HandleInfo } from '../shared/wire';
import type { Trace, TraceEvent, ProcessInfo } from '../shared/trace';

/** The preload's version in the traces it writes itself. */
export { TOOL_VERSION as SPOOL_TOOL_VERSION } from './version';
/** The one variable that turns the preload on without a launcher: the directory for spools. */
export const STANDALONE_ENV = 'SHUTDOWN_TRACE_DIR';
export const SPOOL_FORMAT = 'shutdown-trace-spool';
export const SPOOL_VERSION = 1;
export const SPOOL_SUFFIX = '.spool.ndjson';
export const TRACE_SUFFIX = '.shutdown-trace.json';
/** A spool never grows past this; half of it is kept for the shutdown (events from the first signal, exit or error on). */
export const SPOOL_MAX_BYTES = 8 * 1024 * 1024;
export const SPOOL_BEFORE_SHUTDOWN_BYTES = 4 * 1024 * 1024;
/** At exit the preload reads its spool back to write the trace only up to this size, so an exit is never slow. */
export const TRACE_AT_EXIT_MAX_BYTES = 2 * 1024 * 1024;
/** Width of each counter in the header, rewritten in place. */
export const COUNTER_WIDTH = 12;

/**
 * Environment variables the header records, by name and only these (values are capped at
 * 2,048 characters): the Kubernetes downward API as the README's recipe exposes it, the names
 * the OpenTelemetry Operator injects, and OpenTelemetry's own resource variables.
 */
export const RECORDED_ENV = [
  'POD_NAME',
  'POD_NAMESPACE',
  'POD_UID',
  'NODE_NAME',
  'CONTAINER_NAME',
  'K8S_POD_NAME',
  'K8S_NAMESPACE_NAME',
  'K8S_POD_UID',
  'K8S_NODE_NAME',
  'K8S_CONTAINER_NAME',
  'OTEL_RESOURCE_ATTRIBUTES_POD_NAME',
  'OTEL_RESOURCE_ATTRIBUTES_POD_UID',
  'OTEL_RESOURCE_ATTRIBUTES_NODE_NAME',
  'OTEL_SERVICE_NAME',
  'OTEL_RESOURCE_ATTRIBUTES',
] as const;

/** Preload messages that are never part of a trace (a write's first characters, for filing output by pid). */
export const NOT_IN_TRACE: ReadonlySet<string> = new Set(['output']);

export interface SpoolHeader {
  type: 'spool';
  format: typeof SPOOL_FORMAT;
  version: number;
  hello: HelloMessage;
  host: string;
  /** Linux boot id: monotonic clocks of two spools compare only within one boot. */
  bootId?: string;
  /** Session id: the processes of one container (or one shell's job) share it. */
  sid?: number;
  platform: string;
  /** Date.now() and the monotonic clock read together: wall time of any event. */
  wallMs: number;
  mono: number;
  env: Record<string, string>;
  maxBytes: number;
  counters: SpoolCounters;
}

export interface SpoolCounters {
  /** Events not in the file: over the size cap, or refused by the disk. */
  dropped: number;
  /** Writes the disk refused (full, read-only, I/O error). */
  ioErrors: number;
}

export interface SpoolEnd extends SpoolCounters {
  type: 'end';
  t: number;
}

/** One process's record, from a spool or from the trace a preload wrote at exit. */
export interface SpoolUnit {
  header: SpoolHeader;
  /** Preload events, times on the monotonic clock. */
  events: PreloadEvent[];
  end?: SpoolEnd;
  /** Lines that were not JSON or not a record: torn by a full disk, or damaged. */
  bad: number;
  source: string;
}

/** The counters as they sit in the header: fixed width, so the preload can rewrite them in place. */
export function fixedCounters(c: SpoolCounters): string {
  const n = (x: number) => String(Math.min(x, 999_999_999_999)).padStart(COUNTER_WIDTH);
  return `{"dropped":${n(c.dropped)},"ioErrors":${n(c.ioErrors)}}`;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isSpoolHeader(v: unknown): v is SpoolHeader {
  if (!isObj(v) || v.type !== 'spool' || v.format !== SPOOL_FORMAT || typeof v.version !== 'number') return false;
  const h = v.hello;
  return (
    isObj(h) && Number.isSafeInteger(h.pid) && typeof h.t === 'number' && typeof v.wallMs === 'number' && typeof v.mono === 'number' && typeof v.host === 'string' && isObj(v.env) && isObj(v.counters)
  );
}

/**
 * Parses a spool's text. `check` vets each record's events (collect validates them field by
 * field; the preload reads back only what it wrote itself). Undefined when there is no header.
 */
export function parseSpool(text: string, source: string, check?: (events: unknown, onBad: () => void) => PreloadEvent[]): SpoolUnit | undefined {
  const lines = text.split('\n');
  let header: SpoolHeader | undefined;
  let end: SpoolEnd | undefined;
  const events: PreloadEvent[] = [];
  const seen = new Set<number>();
  let bad = 0;
  for (const line of lines) {
    if (!line) continue;
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch {
      bad++;
      continue;
    }
    if (!header) {
      if (!isSpoolHeader(r)) return undefined;
      header = r;
      continue;
    }
    if (!isObj(r)) {
      bad++;
      continue;
    }
    if (r.type === 'events' && typeof r.seq === 'number' && !seen.has(r.seq)) {
      seen.add(r.seq);
      if (check) events.push(...check(r.events, () => bad++));
      else if (Array.isArray(r.events)) events.push(...(r.events as PreloadEvent[]));
    } else if (r.type === 'end' && typeof r.t === 'number') end = r as unknown as SpoolEnd;
    else if (r.type !== 'events') bad++;
  }
  if (!header) return undefined;
  return { header, events, end, bad, source };
}

export interface AssembleOptions {
  toolVersion: string;
  /** The grace period to hold the shutdown against: not known without the launcher. */
  graceMs: number;
  redactArgv: (argv: string[]) => string[];
  redactText: (s: string) => string;
}

/** What a trace built from spools carries beyond the format's fields (readers tolerate it). */
export interface StandaloneMeta {
  /** Every process's spool header, as written (its counters as last written). */
  headers: SpoolHeader[];
  /** Wall-clock ms (Unix epoch) of trace time 0. */
  wallAtZero: number;
  /** Where the spools and traces came from (file names). */
  sources: string[];
  /** Set by `collect` on the traces it writes (the preload's own trace has one process and no flag). */
  collected?: boolean;
}

export type StandaloneTrace = Trace & { meta: Trace['meta'] & { standalone?: StandaloneMeta } };

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * One trace from the spools of the processes of one shutdown (a container's processes, or one
 * process). Times are ms since the first process's preload started. Exits are what the spools
 * say (a process's own `exit` record); the caller adds what it infers (a process killed without
 * one) and the analysis.
 */
export function assembleTrace(units: SpoolUnit[], o: AssembleOptions): StandaloneTrace {
  const sorted = [...units].sort((a, b) => a.header.hello.t - b.header.hello.t);
  const pids = new Set(sorted.map((u) => u.header.hello.pid));
  const root = sorted.find((u) => !pids.has(u.header.hello.ppid)) ?? sorted[0];
  const t0 = Math.min(...sorted.map((u) => u.header.hello.t));
  const rel = (t: number) => round3(t - t0);
  const relHandle = (h: HandleInfo): HandleInfo => (typeof h?.createdAt === 'number' ? { ...h, createdAt: rel(h.createdAt) } : h);
  const events: TraceEvent[] = [];
  const processes: ProcessInfo[] = [];
  let dropped = 0;
  let bad = 0;
  let firstSignal: string | undefined;
  let firstSignalAt = Infinity;
  for (const u of sorted) {
    const { hello } = u.header;
    const pid = hello.pid;
    let lastT = hello.t;
    let exit: { t: number; code: number } | undefined;
    for (const e of u.events) {
      if (NOT_IN_TRACE.has(e.kind)) continue;
      const ev = { ...e, t: rel(e.t), pid } as TraceEvent;
      if (ev.kind === 'handle-open') ev.handle = relHandle(ev.handle);
      if (ev.kind === 'snapshot') ev.handles = ev.handles.map(relHandle);
      if (ev.kind === 'dropped') dropped += ev.count;
      if (ev.kind === 'error') ev.message = o.redactText(ev.message);
      if (ev.kind === 'spawn') ev.command = o.redactText(ev.command);
      if (ev.kind === 'signal' && e.t < firstSignalAt) {
        firstSignalAt = e.t;
        firstSignal = ev.signal;
      }
      if (ev.kind === 'exit' && !exit) exit = { t: e.t, code: ev.code };
      if (e.t > lastT) lastT = e.t;
      events.push(ev);
    }
    const c = u.end ?? u.header.counters;
    dropped += Math.max(c.dropped, u.header.counters.dropped);
    bad += u.bad;
    const p: ProcessInfo = {
      pid,
      ppid: hello.ppid,
      command: o.redactArgv(hello.argv.length ? hello.argv : ['node']).join(' '),
      traced: true,
      isMain: u === root,
      start: Math.max(0, rel(hello.t)),
      end: rel(exit?.t ?? lastT),
      node: hello.node,
    };
    if (exit) {
      p.exit = { code: exit.code, signal: null };
      events.push({ kind: 'process-exit', t: rel(exit.t), pid, code: exit.code, signal: null });
    }
    processes.push(p);
  }
  events.sort((a, b) => a.t - b.t);
  const h = root.header;
  const wallAtZero = h.wallMs - (h.mono - t0);
  const durationMs = Math.max(0, ...processes.map((p) => p.end ?? 0));
  return {
    format: 'shutdown-trace',
    version: 1,
    meta: {
      tool: 'shutdown-trace',
      toolVersion: o.toolVersion,
      createdAt: new Date(wallAtZero).toISOString(),
      command: o.redactArgv(h.hello.argv),
      cwd: h.hello.cwd,
      platform: h.platform,
      node: h.hello.node,
      plan: { signal: firstSignal ?? 'SIGTERM', when: { mode: 'never' }, graceMs: o.graceMs, delivery: 'main' },
      mainPid: root.header.hello.pid,
      complete: true,
      durationMs,
      counters: { droppedEvents: dropped, rejectedConnections: 0, malformedFrames: bad, outputLinesTruncated: 0 },
      standalone: { headers: sorted.map((u) => u.header), wallAtZero, sources: sorted.map((u) => u.source) },
    },
    processes,
    events,
    output: [],
  };
}

/** A trace the preload wrote at exit, back into the record it was made from (collect regroups processes). */
export function unitFromTrace(t: StandaloneTrace, source: string): SpoolUnit | undefined {
  const headers = t.meta.standalone?.headers;
  if (!Array.isArray(headers) || headers.length !== 1 || !isSpoolHeader(headers[0])) return undefined;
  const header = headers[0];
  const t0 = header.hello.t;
  const back = (x: number) => x + t0;
  const events: PreloadEvent[] = [];
  for (const e of t.events) {
    if (e.kind === 'process-exit') continue;
    const { pid: _pid, ...rest } = e as TraceEvent & Record<string, unknown>;
    void _pid;
    const ev = { ...rest, t: back(e.t) } as unknown as PreloadEvent;
    if (ev.kind === 'handle-open' && typeof ev.handle?.createdAt === 'number') ev.handle = { ...ev.handle, createdAt: back(ev.handle.createdAt) };
    if (ev.kind === 'snapshot') ev.handles = ev.handles.map((h) => (typeof h.createdAt === 'number' ? { ...h, createdAt: back(h.createdAt) } : h));
    events.push(ev);
  }
  const ended = events.find((e) => e.kind === 'exit');
  return { header, events, end: ended ? { type: 'end', t: ended.t, ...header.counters } : undefined, bad: t.meta.counters.malformedFrames, source };
}
