/**
 * What a finished run says about the user's code, line by line: one problem per leak in
 * `analysis.leaks` (the one definition of a leak), one per process.exit() that masked a leak,
 * one per signal listener that threw. No `vscode` import: diagnostics.ts turns these into
 * Diagnostics, and the unit tests read them directly.
 */
import * as path from 'node:path';
import type { Frame } from '../shared/frames';
import type { Analysis, Leak, Trace, TraceEvent } from '../shared/trace';
import { formatFrame, isUserFile, userFrame } from '../shared/frames';
import { fmtShort, headline } from '../shared/headline';

export interface Place {
  /** Absolute path. */
  file: string;
  /** 1-based. */
  line: number;
  col: number;
}

export interface Problem extends Place {
  kind: 'leak' | 'masked-exit' | 'listener-threw';
  severity: 'error' | 'warning';
  message: string;
  /** Index into analysis.leaks (kind 'leak'), for "Show in timeline". */
  leak?: number;
  /** Index into trace.events of the event to select instead (exit call, error). */
  event?: number;
  related: (Place & { message: string })[];
}

type Ev<K extends TraceEvent['kind']> = Extract<TraceEvent, { kind: K }>;

function place(f: Frame | undefined, cwd: string): Place | undefined {
  if (!f || typeof f.file !== 'string' || !isUserFile(f.file)) return undefined;
  let file = f.file;
  if (file.startsWith('file://')) {
    try {
      file = new URL(file).pathname;
    } catch {
      return undefined;
    }
  }
  if (!path.isAbsolute(file)) file = path.resolve(cwd, file);
  return { file, line: Math.max(1, Math.floor(f.line) || 1), col: Math.max(1, Math.floor(f.col) || 1) };
}

function plural(n: number, one: string, many = one + 's'): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** How long the leak's handles had been alive when its process ended (or the trace did). */
export function leakAliveMs(trace: Trace, leak: Leak): number | undefined {
  const created = leak.handles.map((h) => h.createdAt).filter((t): t is number => typeof t === 'number');
  if (!created.length) return undefined;
  const proc = trace.processes.find((p) => p.pid === leak.pid);
  const end = proc?.end ?? trace.meta.durationMs;
  return Math.max(0, end - Math.min(...created));
}

/** What the leak did to the shutdown, from the verdict's facts: "kept the process alive 3 s past SIGTERM; SIGKILLed at the deadline". */
export function leakEffect(trace: Trace, a: Analysis, leak: Leak): string {
  const sig = trace.meta.plan?.signal ?? 'SIGTERM';
  const other = a.servicePid !== undefined && leak.pid !== a.servicePid ? ` (pid ${leak.pid})` : '';
  if (!trace.meta.complete) return `was still open${other} when the run was stopped`;
  switch (a.exitReason) {
    case 'killed-at-deadline':
      return `kept the process${other} alive ${fmtShort(a.signalToExitMs ?? a.graceMs)} past ${sig}; SIGKILLed at the deadline`;
    case 'forced-exit':
      return `would have kept the process${other} alive until SIGKILL; process.exit() hid it`;
    case 'killed-by-signal':
      return `was still open${other} when the process was killed`;
    case 'crashed':
    case 'exited-before-signal':
    case 'graceful':
    case 'still-running':
    case 'unknown': {
      const stalled = a.findings.some((f) => f.code === 'stalled' && (f.handles ?? []).some((h) => leak.handles.some((l) => l.id === h.id)));
      if (stalled) return `kept the process${other} alive after its shutdown handlers finished`;
      const masked = a.findings.some((f) => f.code === 'masked-leak' && (f.handles ?? []).some((h) => leak.handles.some((l) => l.id === h.id)));
      if (masked) return `would have kept the process${other} alive until SIGKILL; process.exit() hid it`;
      return `was still open${other} at the end of the shutdown`;
    }
  }
}

/** Frames of a V8 stack text ("    at fn (file:line:col)"), user files only. */
export function stackFrames(stack: string | undefined): Frame[] {
  const out: Frame[] = [];
  for (const line of (stack ?? '').split('\n').slice(0, 40)) {
    const m = /^\s*at (?:(.*?) \()?(.+?):(\d+):(\d+)\)?\s*$/.exec(line);
    if (m && isUserFile(m[2])) out.push({ fn: m[1], file: m[2], line: Number(m[3]), col: Number(m[4]) });
  }
  return out;
}

function listenerStart(events: TraceEvent[], pid: number, id: string, before: number): Ev<'listener-start'> | undefined {
  let found: Ev<'listener-start'> | undefined;
  for (const e of events) {
    if (e.kind === 'listener-start' && e.pid === pid && e.id === id && e.t <= before) found = e;
  }
  return found;
}

/** Problems a finished run found in the user's code. `inWorkspace` says which files get one. */
export function problemsOf(trace: Trace, inWorkspace: (file: string) => boolean): Problem[] {
  const a = trace.analysis;
  if (!a) return [];
  const cwd = trace.meta.cwd;
  const events = trace.events;
  const out: Problem[] = [];
  const sig = trace.meta.plan?.signal ?? 'SIGTERM';
  const killed = a.exitReason === 'killed-at-deadline';

  // Where the service's signal listener was registered: "it ran here and did not release this".
  const listenerPlaces = new Map<number, Place & { message: string }>();
  for (const e of events) {
    if (e.kind !== 'listener-start' || listenerPlaces.has(e.pid)) continue;
    const p = place(userFrame(e.site), cwd);
    if (p && inWorkspace(p.file)) listenerPlaces.set(e.pid, { ...p, message: `the ${e.signal} listener that ran${e.name ? ` (${e.name})` : ''}` });
  }

  (a.leaks ?? []).forEach((leak, i) => {
    if (!leak.inUserCode) return;
    const p = place(leak.site, cwd);
    if (!p || !inWorkspace(p.file)) return;
    const alive = leakAliveMs(trace, leak);
    const parts = [`Leaked ${leak.title}${leak.count > 1 ? ` (${plural(leak.count, 'handle')})` : ''}${alive !== undefined ? `, alive ${fmtShort(alive)}` : ''}: ${leakEffect(trace, a, leak)}.`];
    if (leak.fix) parts.push(`Fix: ${leak.fix}.`);
    const related = listenerPlaces.get(leak.pid);
    out.push({ ...p, kind: 'leak', severity: killed ? 'error' : 'warning', message: parts.join(' '), leak: i, related: related ? [related] : [] });
  });

  for (const f of a.findings) {
    if (f.code === 'masked-leak') {
      const call = f.evidence.map((i) => ({ i, e: events[i] })).find((x) => x.e?.kind === 'exit-call') as { i: number; e: Ev<'exit-call'> } | undefined;
      if (!call) continue;
      const p = place(userFrame(call.e.site), cwd);
      if (!p || !inWorkspace(p.file)) continue;
      const ids = new Set((f.handles ?? []).map((h) => h.id));
      const masked = (a.leaks ?? []).filter((l) => l.pid === call.e.pid && l.handles.some((h) => ids.has(h.id)));
      const names = masked.slice(0, 2).map((l) => `${l.title}${l.site ? ` at ${formatFrame(l.site, cwd)}` : ''}`);
      const n = masked.length || (f.handles?.length ?? 0);
      const related = masked.slice(0, 3).flatMap((l) => {
        const lp = place(l.site, cwd);
        return lp && inWorkspace(lp.file) ? [{ ...lp, message: `leaked ${l.title}` }] : [];
      });
      out.push({
        ...p,
        kind: 'masked-exit',
        severity: 'warning',
        message: `process.exit(${call.e.code ?? ''}) ended the process over ${plural(n, 'leak')}${names.length ? ` (${names.join('; ')}${masked.length > 2 ? '; …' : ''})` : ''}: without it ${n === 1 ? 'it' : 'they'} would have kept the process alive until SIGKILL. Close ${n === 1 ? 'it' : 'them'} in the ${sig} handler and let the process exit on its own.`,
        event: call.i,
        related,
      });
    }
    if (f.code === 'shutdown-error') {
      const seen = new Set<string>();
      for (const i of f.evidence) {
        const e = events[i];
        if (!e) continue;
        if ((e.kind === 'listener-end' && e.threw) || (e.kind === 'listener-settled' && !e.ok)) {
          const start = listenerStart(events, e.pid, e.id, e.t);
          // The thrown error's own site when the preload caught it, else where the listener was added.
          const err = f.evidence.map((j) => events[j]).find((x): x is Ev<'error'> => x?.kind === 'error' && x.pid === e.pid && x.t >= e.t - 1 && x.t <= e.t + 50);
          const errPlace = place(userFrame(err?.site) ?? stackFrames(err?.stack).find((fr) => inWorkspace(fr.file)), cwd);
          const regPlace = place(userFrame(start?.site), cwd);
          const p = errPlace && inWorkspace(errPlace.file) ? errPlace : regPlace && inWorkspace(regPlace.file) ? regPlace : undefined;
          if (!p) continue;
          const key = `${p.file}:${p.line}`;
          if (seen.has(key)) continue;
          seen.add(key);
          const what = e.kind === 'listener-end' ? 'threw' : 'rejected';
          const msg = err?.message ?? (e.kind === 'listener-settled' ? e.error : undefined) ?? (e.kind === 'listener-end' ? e.threw : undefined) ?? 'an error';
          const code = a.serviceExit?.code;
          out.push({
            ...p,
            kind: 'listener-threw',
            severity: 'error',
            message: `The ${e.signal} listener${start?.name ? ` ${start.name}` : ''} ${what} during shutdown: ${msg}.${code ? ` The process exited with code ${code}; the cleanup after the error never ran.` : ''}`,
            event: err ? events.indexOf(err) : i,
            related: regPlace && p !== regPlace && inWorkspace(regPlace.file) ? [{ ...regPlace, message: 'the listener was added here' }] : [],
          });
        }
      }
    }
  }
  return out;
}

/** The run's result for a CodeLens: "graceful in 347 ms", "killed at 3 s deadline: 1 leak". */
export function resultPhrase(trace: Trace): { text: string; tone: 'ok' | 'warn' | 'bad' } {
  const h = headline(trace.analysis, { signal: trace.meta.plan?.signal, complete: trace.meta.complete });
  return { text: h.short, tone: h.tone };
}

/** Files of the user's code the run is about: its entry file and where its signal listeners were added. */
export function filesOf(trace: Trace, entry: string | undefined): string[] {
  const files = new Set<string>();
  if (entry) files.add(entry);
  for (const e of trace.events) {
    if (e.kind !== 'listener-start') continue;
    const p = place(userFrame(e.site), trace.meta.cwd);
    if (p) files.add(p.file);
  }
  return [...files];
}

// ---------------------------------------------------------------- CodeLens anchors

export interface Anchor {
  /** 0-based line. */
  line: number;
  kind: 'signal' | 'phase';
  /** The signal, or the phase channel's name. */
  what: string;
}

const SIGNAL_RE = /\bprocess\s*\.\s*(?:on|once|addListener|prependListener|prependOnceListener)\s*\(\s*(['"`])(SIG[A-Z0-9]+)\1/;
const PHASE_RE = /\btracingChannel\s*\(\s*(['"`])shutdown-trace:phase\1/;

/** Lines that deserve a lens: signal listeners on process, and where the phase channel is made. */
export function findAnchors(text: string): Anchor[] {
  const out: Anchor[] = [];
  const lines = text.split(/\r?\n/);
  let inBlock = false;
  for (let i = 0; i < lines.length && out.length < 50; i++) {
    let l = lines[i];
    // Skip commented-out code: a lens over a comment would run nothing the comment shows.
    if (inBlock) {
      const end = l.indexOf('*/');
      if (end < 0) continue;
      l = l.slice(end + 2);
      inBlock = false;
    }
    const start = l.indexOf('/*');
    if (start >= 0 && l.indexOf('*/', start) < 0) {
      inBlock = true;
      l = l.slice(0, start);
    }
    const code = l.replace(/\/\/.*$/, '');
    if (!code.trim()) continue;
    const m = SIGNAL_RE.exec(code);
    if (m) {
      out.push({ line: i, kind: 'signal', what: m[2] });
      continue;
    }
    if (PHASE_RE.test(code)) out.push({ line: i, kind: 'phase', what: 'shutdown-trace:phase' });
  }
  return out;
}
