/**
 * `collect`'s engine: reads a folder of spools and traces (from many processes, pods, nodes),
 * groups the processes of each shutdown, and turns each group into an analysed trace with the
 * same assembly the preload uses at exit (spool-format.ts) and the launcher's analysis.
 *
 * What a spool cannot tell, because no launcher was there, is said in the trace's notes: who
 * sent the signal, the grace deadline (unless given), the service's output, when a process
 * that was SIGKILLed died (its last record is a lower bound).
 */
import { formatOffset } from '../shared/duration';
import * as fs from 'fs';
import * as path from 'path';
import { readRegularFile } from './safe-read';
import { validEvents, validateHello } from '../shared/validate-wire';
import { redactArgv, redactText } from './redact';
import { analyze } from './analysis';
import { mapTraceSourcePositions } from './sourcemap';
import { attributeFromSource } from './source-owners';
import { parseTrace } from '../shared/trace-file';
import type { Trace, TraceEvent } from '../shared/trace';
import { SPOOL_SUFFIX, TRACE_SUFFIX, SPOOL_TOOL_VERSION, parseSpool, assembleTrace, unitFromTrace, type SpoolUnit, type StandaloneTrace } from './spool-format';

const MAX_SPOOL_READ = 256 * 1024 * 1024;
const MAX_TRACE_READ = 512 * 1024 * 1024;
const MAX_FILES = 10_000;
const MAX_DEPTH = 6;
/** Kubernetes' default terminationGracePeriodSeconds: the grace assumed when none is given. */
export const ASSUMED_GRACE_MS = 30_000;
/** During shutdown the preload writes a heartbeat at least once a second: a killed process died within this after its last record. */
const HEARTBEAT_MS = 1000;

export interface CollectInput {
  units: SpoolUnit[];
  /** Traces a launcher wrote (shutdown-trace run): taken as they are, re-analysed. */
  traces: { file: string; trace: Trace }[];
  /** One line per file that could not be used. */
  problems: string[];
}

/** Every spool and trace under `dir` (sub-folders too: `kubectl cp` of many pods), except under `skip`. */
export function readCollectDir(dir: string, skip?: string): CollectInput {
  const input: CollectInput = { units: [], traces: [], problems: [] };
  const files: string[] = [];
  const walk = (d: string, depth: number) => {
    if (depth > MAX_DEPTH || files.length >= MAX_FILES) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch (e) {
      input.problems.push(`${d}: ${(e as Error).message}`);
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(d, e.name);
      if (skip && path.resolve(full) === path.resolve(skip)) continue;
      if (e.isDirectory()) walk(full, depth + 1);
      else if (e.name.endsWith(SPOOL_SUFFIX) || e.name.endsWith(TRACE_SUFFIX)) files.push(full);
      if (files.length >= MAX_FILES) break;
    }
  };
  walk(dir, 0);
  for (const file of files) {
    const rel = path.relative(dir, file) || path.basename(file);
    try {
      if (file.endsWith(SPOOL_SUFFIX)) {
        const unit = readSpoolFile(file, rel);
        if (unit) input.units.push(unit);
        else input.problems.push(`${rel}: no spool header (empty, or cut short by a full disk)`);
        continue;
      }
      const trace = parseTrace(readRegularFile(file, MAX_TRACE_READ), rel) as StandaloneTrace;
      const sa = trace.meta.standalone;
      if (sa?.collected) continue; // a trace collect itself wrote: its spools are read instead
      if (sa && sa.headers?.length === 1) {
        const unit = unitFromTrace(trace, rel);
        if (unit) input.units.push(unit);
        else input.problems.push(`${rel}: a preload's trace whose spool header is damaged`);
      } else input.traces.push({ file: rel, trace });
    } catch (e) {
      input.problems.push(`${rel}: ${(e as Error).message}`);
    }
  }
  return input;
}

export function readSpoolFile(file: string, source = path.basename(file)): SpoolUnit | undefined {
  const text = readRegularFile(file, MAX_SPOOL_READ);
  const unit = parseSpool(text, source, (events, onBad) => validEvents(events, onBad));
  if (!unit) return undefined;
  unit.header.hello = validateHello(unit.header.hello);
  return unit;
}

const startOf = (u: SpoolUnit) => u.header.hello.t;
function lastOf(u: SpoolUnit): number {
  let t = u.end?.t ?? u.header.hello.t;
  for (const e of u.events) if (e.t > t) t = e.t;
  return t;
}

/**
 * The processes of one shutdown: same host, same boot, same session (the processes of one
 * container share it), alive at overlapping times, or parent and child. A container restarted
 * in the same pod is a new group: its processes start after the last one ended.
 */
export function groupUnits(units: SpoolUnit[]): SpoolUnit[][] {
  const byKey = new Map<string, SpoolUnit[]>();
  for (const u of units) {
    const h = u.header;
    const key = `${h.host}|${h.bootId ?? ''}|${h.sid ?? `pid${h.hello.pid}`}`;
    const l = byKey.get(key);
    if (l) l.push(u);
    else byKey.set(key, [u]);
  }
  const groups: SpoolUnit[][] = [];
  for (const list of byKey.values()) {
    list.sort((a, b) => startOf(a) - startOf(b));
    let cur: SpoolUnit[] = [];
    let curEnd = -Infinity;
    for (const u of list) {
      const parent = cur.some((c) => c.header.hello.pid === u.header.hello.ppid);
      if (cur.length && !parent && startOf(u) > curEnd) {
        groups.push(cur);
        cur = [];
        curEnd = -Infinity;
      }
      cur.push(u);
      curEnd = Math.max(curEnd, lastOf(u));
    }
    if (cur.length) groups.push(cur);
  }
  return groups;
}

export interface BuildOptions {
  /** The grace period the platform gave (terminationGracePeriodSeconds); undefined when not known. */
  graceMs?: number;
}

/** What cannot be known without the launcher, said once per trace. */
export function unknowns(graceGiven: boolean): string[] {
  return [
    'who sent the signal (a launcher sends it itself; a spool only sees it arrive)',
    graceGiven
      ? 'whether the platform really used the grace period given with --grace'
      : `the grace deadline (${ASSUMED_GRACE_MS / 1000} s assumed, Kubernetes' default; give the real one with --grace)`,
    "the service's stdout and stderr (not recorded without the launcher)",
    'when a process without an exit record died: it was killed by SIGKILL (a deadline, the OOM killer) or died in native code, after its last record',
  ];
}

/**
 * One group of processes → one analysed trace: the shared assembly, then what the spools imply
 * (a process that never wrote its exit record was killed), then source maps and the analysis.
 */
export function buildTrace(group: SpoolUnit[], o: BuildOptions = {}): StandaloneTrace {
  const graceMs = o.graceMs ?? ASSUMED_GRACE_MS;
  const trace = assembleTrace(group, { toolVersion: SPOOL_TOOL_VERSION, graceMs, redactArgv, redactText });
  const note = (t: number, text: string) => trace.events.push({ kind: 'note', t, text, pid: 0 } as TraceEvent);
  note(0, `Recorded without the launcher (${trace.meta.standalone!.sources.join(', ')}): not known are ${unknowns(o.graceMs !== undefined).join('; ')}.`);
  const firstArrival = trace.events.find((e) => e.kind === 'signal');
  for (const p of trace.processes) {
    if (p.exit) continue;
    const last = p.end ?? 0;
    const deadline = firstArrival && o.graceMs !== undefined ? firstArrival.t + o.graceMs : undefined;
    // Killed at the deadline when its last sign of life is within a heartbeat of it (the signal
    // arrived a little after it was sent, so the deadline may come a little before).
    const atDeadline = p.isMain && deadline !== undefined && last >= deadline - HEARTBEAT_MS - 500 && last <= deadline + 250;
    p.exit = { code: null, signal: 'SIGKILL' };
    if (atDeadline) {
      p.end = Math.max(last, deadline!);
      trace.events.push({ kind: 'deadline', t: deadline!, graceMs: o.graceMs!, pid: 0 } as TraceEvent);
      trace.events.push({ kind: 'kill-sent', t: deadline!, target: p.pid, pid: p.pid } as TraceEvent);
      note(
        deadline!,
        `pid ${p.pid} was still alive ${Math.round(last - firstArrival!.t)} ms after ${firstArrival!.signal}, within a heartbeat of the ${o.graceMs! / 1000} s grace deadline given with --grace, and never wrote its exit record: taken as killed by SIGKILL at that deadline.`,
      );
    } else {
      note(last, `pid ${p.pid} never wrote its exit record: it was killed by SIGKILL (a deadline, the OOM killer) or died in native code, after its last record at ${formatOffset(last)}.`);
    }
    trace.events.push({ kind: 'process-exit', t: p.end!, pid: p.pid, code: null, signal: 'SIGKILL' } as TraceEvent);
  }
  trace.meta.durationMs = Math.max(trace.meta.durationMs, ...trace.processes.map((p) => p.end ?? 0));
  trace.events.sort((a, b) => a.t - b.t);
  trace.meta.standalone!.collected = true;
  mapTraceSourcePositions(trace);
  attributeFromSource(trace);
  trace.analysis = analyze(trace);
  return trace;
}

/** A file name for a collected trace: the main process's spool name. */
export function collectedName(trace: StandaloneTrace): string {
  const src = trace.meta.standalone?.sources[0] ?? `trace-${trace.meta.mainPid}`;
  const base = path.basename(src).replace(/(\.spool\.ndjson|\.shutdown-trace\.json)$/, '');
  return `${base}.collected${TRACE_SUFFIX}`;
}
