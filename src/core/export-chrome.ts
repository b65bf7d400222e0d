/**
 * Export a trace as Chrome Trace Event JSON, for Perfetto (ui.perfetto.dev) and chrome://tracing.
 * The trace is redacted first. Times: trace `t` is ms since spawn, Chrome `ts` is µs.
 *
 * Layout: one process track per pid (the launcher's own events on pid 0, named so). Spans
 * (phases, listeners, requests, connections, server lifetimes) are async `b`/`e` pairs with a
 * unique numeric id each, so overlapping spans never collide. Point events are instants `i`;
 * the active-handle count is a counter `C`; log lines are instants on a "log" thread; leaked
 * handles (the analysis' leaks, at the exit) are instants on a "leaked handles" thread.
 *
 * Over 500 lines on purpose: one concern, the mapping of every event kind to Chrome events, in
 * one exhaustive switch that reads best whole.
 *
 * Traffic and Kubernetes sit on the launcher's track (pid 0), where the load
 * generator and the simulated kubelet run: each load request is an async span on a thread per
 * outcome class (answered, turned away, lost or failed; event streams apart), named by its
 * outcome and coloured with the reserved `cname`s good / bad / terrible (grey for the requests
 * sent after the exit); the load's start and summary are instants on a "load generator"
 * thread, the summary and the accounting also in the metadata. The pod's termination is on a
 * "kubernetes termination" thread: its start and the grace extension as instants, preStop
 * and the grace period's countdown as spans, and the countdown's end (SIGKILL due).
 * No `vscode` or Node imports.
 */
import type { HandleInfo } from '../shared/wire';
import type { Site } from '../shared/frames';
import type { Trace, TraceEvent } from '../shared/trace';
import { redactTrace } from './redact';
import { formatSite, truncate, userFrames } from './format';
import { formatFrameLine } from '../shared/frames';
import { roleByEvent, type RequestRole } from '../shared/request-roles';
import { analysisOf } from './analysis';

export type ChromePhase = 'M' | 'b' | 'e' | 'i' | 'C';

export interface ChromeEvent {
  name: string;
  ph: ChromePhase;
  ts: number;
  pid: number;
  tid: number;
  cat?: string;
  id?: number;
  /** Instant scope: thread, process or global. */
  s?: 't' | 'p' | 'g';
  /** A colour reserved by the trace viewers (chrome://tracing): good, bad, terrible, grey, … */
  cname?: ChromeColor;
  args?: Record<string, unknown>;
}

export interface ChromeTrace {
  traceEvents: ChromeEvent[];
  displayTimeUnit: 'ms';
  metadata: Record<string, unknown>;
}

/** The launcher's own events carry pid 0. */
export const LAUNCHER_PID = 0;
/** Thread ids inside each process track; the load and Kubernetes ones on the launcher's (pid 0). */
export const TID = { main: 1, log: 2, handles: 3, load: 10, answered: 11, turnedAway: 12, lost: 13, streams: 14, k8s: 15 } as const;

const THREAD_NAMES: Record<number, string> = {
  [TID.log]: 'log',
  [TID.handles]: 'leaked handles',
  [TID.load]: 'load generator',
  [TID.answered]: 'requests: answered',
  [TID.turnedAway]: 'requests: turned away (refused, or after the exit)',
  [TID.lost]: 'requests: lost or failed',
  [TID.streams]: 'event streams',
  [TID.k8s]: 'kubernetes termination',
};

/** Colour names reserved by chrome://tracing (catapult's ColorScheme) that the export uses. */
export type ChromeColor = 'good' | 'bad' | 'terrible' | 'grey';

/** Where a load request goes, how it is coloured, and what the analysis counts it as. */
const ROLE_STYLE: Record<RequestRole, { tid: number; cname: ChromeColor; counted: string }> = {
  answered: { tid: TID.answered, cname: 'good', counted: 'answered' },
  'turned-away': { tid: TID.turnedAway, cname: 'bad', counted: 'turned away' },
  'after-exit': { tid: TID.turnedAway, cname: 'grey', counted: 'after exit' },
  lost: { tid: TID.lost, cname: 'terrible', counted: 'lost' },
  'before-shutdown': { tid: TID.lost, cname: 'bad', counted: 'failed before shutdown' },
  stream: { tid: TID.streams, cname: 'good', counted: 'stream' },
};

const toUs = (t: number): number => Math.max(0, Math.round((Number.isFinite(t) ? t : 0) * 1000));

function siteArgs(site: Site | undefined, cwd: string): Record<string, unknown> {
  if (!site) return {};
  const frames = userFrames(site, 8);
  return { site: formatSite(site, cwd), stack: frames.map((f) => formatFrameLine(f, cwd)) };
}

function handleArgs(h: HandleInfo, cwd: string): Record<string, unknown> {
  return {
    id: h.id,
    type: h.type,
    label: h.label,
    ref: h.ref,
    ...(h.createdAt !== undefined ? { createdAtMs: h.createdAt } : {}),
    ...siteArgs(h.site, cwd),
    ...(h.details ? { details: h.details } : {}),
  };
}

/**
 * The trace as Chrome Trace Event JSON, redacted (pass `extraSecrets` for exact values the
 * caller knows, as for redactTrace).
 */
export function toChromeTrace(input: Trace, extraSecrets?: string[]): ChromeTrace {
  const trace = redactTrace(input, extraSecrets);
  // Every figure below is the analysis' (the trace's own, completed where an older writer left parts out).
  const analysis = (trace.analysis = analysisOf(trace));
  const meta = trace.meta;
  const cwd = meta?.cwd ?? '';
  const events = trace.events ?? [];
  let end = Number.isFinite(meta?.durationMs) ? meta.durationMs : 0;
  for (const e of events) if (Number.isFinite(e.t) && e.t > end) end = e.t;
  for (const o of trace.output ?? []) if (Number.isFinite(o.t) && o.t > end) end = o.t;

  const out: ChromeEvent[] = [];
  const pids = new Set<number>();
  const threads = new Map<number, Set<number>>();
  const use = (pid: number, tid: number) => {
    pids.add(pid);
    let s = threads.get(pid);
    if (!s) threads.set(pid, (s = new Set()));
    s.add(tid);
  };
  let nextId = 1;
  const span = (pid: number, cat: string, name: string, start: number, stop: number | undefined, args: Record<string, unknown> = {}, o: { tid?: number; cname?: ChromeColor } = {}) => {
    const id = nextId++;
    const s = Number.isFinite(start) ? start : 0;
    const unfinished = stop === undefined || !Number.isFinite(stop);
    const e = unfinished ? Math.max(s, end) : Math.max(s, stop as number);
    const tid = o.tid ?? TID.main;
    const color = o.cname ? { cname: o.cname } : {};
    use(pid, tid);
    out.push({ name, ph: 'b', cat, id, ts: toUs(s), pid, tid, ...color, args: unfinished ? { ...args, unfinished: true } : args });
    out.push({ name, ph: 'e', cat, id, ts: toUs(e), pid, tid, ...color, args: {} });
  };
  const instant = (pid: number, name: string, t: number, scope: 't' | 'p' | 'g', cat: string, args: Record<string, unknown> = {}, tid: number = TID.main, cname?: ChromeColor) => {
    use(pid, tid);
    out.push({ name, ph: 'i', s: scope, cat, ts: toUs(t), pid, tid, ...(cname ? { cname } : {}), args });
  };
  // How each load request counts, and the pod's termination.
  const roles = analysis.requests?.roles ? roleByEvent(events, analysis.requests.roles) : new Map<number, RequestRole>();
  const mainExitAt = analysis.window?.end;
  let preStopOpen: Extract<TraceEvent, { kind: 'prestop-start' }> | undefined;
  const preStopSpan = (ps: Extract<TraceEvent, { kind: 'prestop-start' }>, pe: Extract<TraceEvent, { kind: 'prestop-end' }> | undefined) => {
    const cname: ChromeColor | undefined = pe ? (pe.overran ? 'terrible' : pe.ok ? 'good' : 'bad') : undefined;
    span(
      LAUNCHER_PID,
      'k8s',
      `preStop ${truncate(ps.detail ?? ps.action, 80)}`,
      ps.t,
      pe?.t,
      {
        action: ps.action,
        detail: ps.detail,
        ...(ps.action === 'exec' && ps.hookPid ? { hookPid: ps.hookPid } : {}),
        ...(pe
          ? {
              ok: pe.ok,
              overran: pe.overran,
              durationMs: pe.durationMs,
              ...(pe.error !== undefined ? { error: pe.error } : {}),
              ...(pe.status !== undefined ? { status: pe.status } : {}),
              ...(pe.exitCode !== undefined ? { exitCode: pe.exitCode } : {}),
              ...(pe.output !== undefined ? { output: pe.output } : {}),
            }
          : {}),
      },
      { tid: TID.k8s, cname },
    );
  };

  // ---- phases: the analysis' list (it pairs every phase event; the exporter pairs none itself).
  for (const p of analysis.phases ?? []) {
    span(p.pid, 'phase', p.name, p.start, p.end, {
      depth: p.depth,
      auto: p.auto,
      ...(p.durationMs !== undefined ? { durationMs: p.durationMs } : {}),
      ...(p.error !== undefined ? { error: p.error } : {}),
    });
  }
  const openListeners = new Map<string, { start: Extract<TraceEvent, { kind: 'listener-start' }>; end?: Extract<TraceEvent, { kind: 'listener-end' }> }>();
  const openRequests = new Map<string, Extract<TraceEvent, { kind: 'request-start' }>>();
  const openServers = new Map<string, Extract<TraceEvent, { kind: 'listen' }>>();
  const openSockets = new Map<string, { t: number; handle: HandleInfo }>();
  const endListener = (key: string, t: number, extra: Record<string, unknown>) => {
    const l = openListeners.get(key);
    if (!l) return;
    openListeners.delete(key);
    const s = l.start;
    span(Number(key.split('/')[0]), 'listener', `listener ${s.signal}${s.name ? ` ${s.name}` : ''}`, s.t, t, {
      signal: s.signal,
      ...(s.name ? { function: s.name } : {}),
      ...siteArgs(s.site, cwd),
      ...(l.end ? { syncMs: l.end.t - s.t, returnedPromise: l.end.returnedPromise } : {}),
      ...(l.end?.threw !== undefined ? { threw: l.end.threw } : {}),
      ...extra,
    });
  };

  const ordered = events.map((e, i) => ({ e, i })).sort((a, b) => a.e.t - b.e.t || a.i - b.i);
  for (const { e, i } of ordered) {
    const pid = e.pid;
    const key = (id: string) => `${pid}/${id}`;
    switch (e.kind) {
      case 'phase-start':
      case 'phase-end':
        break; // drawn from the analysis' phases above
      case 'listener-start':
        openListeners.set(key(e.id), { start: e });
        break;
      case 'listener-end': {
        const l = openListeners.get(key(e.id));
        if (!l) break;
        l.end = e;
        if (!e.returnedPromise) endListener(key(e.id), e.t, {});
        break;
      }
      case 'listener-settled':
        endListener(key(e.id), e.t, { settled: e.ok ? 'resolved' : 'rejected', ...(e.error !== undefined ? { error: e.error } : {}) });
        break;
      case 'request-start':
        openRequests.set(key(`${e.server}/${e.req}`), e);
        break;
      case 'request-end': {
        const s = openRequests.get(key(`${e.server}/${e.req}`));
        if (s) {
          openRequests.delete(key(`${e.server}/${e.req}`));
          span(pid, 'request', `${s.method} ${s.path}`, s.t, e.t, { method: s.method, path: s.path, status: e.status, aborted: e.aborted });
        }
        break;
      }
      case 'listen':
        openServers.set(key(e.server), e);
        break;
      case 'server-close':
        instant(pid, 'server.close()', e.t, 'p', 'server', { server: e.server, connections: e.connections, active: e.active, inFlight: e.inFlight, ...siteArgs(e.site, cwd) });
        break;
      case 'server-closed': {
        const s = openServers.get(key(e.server));
        if (s) {
          openServers.delete(key(e.server));
          span(pid, 'server', `${s.proto} server ${s.address}`, s.t, e.t, { address: s.address, proto: s.proto, ...siteArgs(s.site, cwd) });
        } else instant(pid, 'server closed', e.t, 'p', 'server', { server: e.server });
        break;
      }
      case 'handle-open':
        if (e.handle?.type === 'socket') openSockets.set(key(e.handle.id), { t: e.handle.createdAt ?? e.t, handle: e.handle });
        break;
      case 'handle-close':
      case 'conn-end': {
        const id = e.kind === 'handle-close' ? e.id : e.conn;
        const s = openSockets.get(key(id));
        if (s) {
          openSockets.delete(key(id));
          span(pid, 'connection', `connection ${s.handle.label}`, s.t, e.t, {
            ...handleArgs(s.handle, cwd),
            ...(e.kind === 'conn-end' ? { how: e.how, hadRequest: e.hadRequest, remote: e.remote } : {}),
          });
        } else if (e.kind === 'conn-end') {
          instant(pid, `connection ended (${e.how})`, e.t, 't', 'connection', { conn: e.conn, remote: e.remote, how: e.how, hadRequest: e.hadRequest });
        }
        break;
      }
      case 'signal':
        instant(pid, `${e.signal} received`, e.t, 'p', 'signal', { signal: e.signal, nth: e.nth, listeners: e.listeners });
        break;
      case 'signal-sent':
        instant(e.target || pid, `${e.signal} sent${e.nth > 1 ? ` (#${e.nth})` : ''}`, e.t, e.delivery === 'group' ? 'g' : 'p', 'signal', {
          signal: e.signal,
          target: e.target,
          delivery: e.delivery,
          nth: e.nth,
        });
        break;
      case 'deadline':
        instant(meta?.mainPid ?? pid, 'grace deadline', e.t, 'g', 'deadline', { graceMs: e.graceMs });
        break;
      case 'kill-sent':
        instant(e.target || pid, 'SIGKILL sent', e.t, 'p', 'signal', { target: e.target });
        break;
      case 'exit-call':
        instant(pid, `process.exit(${e.code ?? ''})`, e.t, 'p', 'exit', { code: e.code ?? null, ...siteArgs(e.site, cwd) });
        break;
      case 'before-exit':
        instant(pid, 'beforeExit', e.t, 'p', 'exit', { code: e.code });
        break;
      case 'exit':
        instant(pid, `exit (${e.code})`, e.t, 'p', 'exit', { code: e.code });
        break;
      case 'process-exit':
        instant(e.pid || pid, e.signal ? `process killed by ${e.signal}` : `process exited (${e.code})`, e.t, 'p', 'exit', { code: e.code, signal: e.signal });
        break;
      case 'error':
        instant(pid, `${e.origin}: ${truncate(e.message, 80)}`, e.t, 'p', 'error', {
          origin: e.origin,
          message: e.message,
          ...(e.stack !== undefined ? { stack: e.stack } : {}),
          ...siteArgs(e.site, cwd),
        });
        break;
      case 'spawn':
        instant(pid, `spawn ${e.childPid}`, e.t, 'p', 'process', { childPid: e.childPid, command: e.command, ...siteArgs(e.site, cwd) });
        break;
      case 'spawned':
        instant(e.pid || LAUNCHER_PID, 'spawned', e.t, 'p', 'process', { command: e.command });
        break;
      case 'orphan':
        instant(e.pid || pid, 'orphaned', e.t, 'p', 'process', { ppid: e.ppid, command: e.command, stopped: e.stopped });
        break;
      case 'snapshot': {
        const refd = (e.handles ?? []).filter((h) => h.ref).length;
        instant(pid, `snapshot (${e.reason})`, e.t, 'p', 'snapshot', { reason: e.reason, handles: (e.handles ?? []).length, refHandles: refd, unidentified: e.unidentified });
        break;
      }
      case 'active-count':
        use(pid, TID.main);
        out.push({ name: 'active handles', ph: 'C', ts: toUs(e.t), pid, tid: TID.main, args: { count: e.count } });
        break;
      case 'dropped':
        instant(pid, `${e.count} events dropped`, e.t, 'p', 'tool', { count: e.count });
        break;
      case 'collector-rejected':
        instant(LAUNCHER_PID, 'collector rejected a connection', e.t, 'g', 'tool', { reason: e.reason });
        break;
      case 'note':
        instant(LAUNCHER_PID, truncate(e.text, 80), e.t, 'g', 'tool', { text: e.text });
        break;
      case 'platform':
        instant(LAUNCHER_PID, truncate(e.text, 80), e.t, 'g', 'platform', {
          what: e.what,
          text: e.text,
          ...(e.signal !== undefined ? { signal: e.signal } : {}),
          ...(e.message !== undefined ? { message: e.message } : {}),
        });
        break;
      // ---- traffic during shutdown
      case 'load-start':
        instant(
          LAUNCHER_PID,
          `load started: ${e.rate} requests/s${e.sse ? `, ${e.sse} stream${e.sse === 1 ? '' : 's'}` : ''}`,
          e.t,
          't',
          'load',
          { url: e.url, rate: e.rate, keepAlive: e.keepAlive, sse: e.sse },
          TID.load,
        );
        break;
      case 'load-request': {
        const role = roles.get(i) ?? (e.sse ? 'stream' : 'answered');
        const style = ROLE_STYLE[role];
        const cname: ChromeColor = e.sse ? (e.outcome === 'ok' ? 'good' : e.outcome === 'reset' ? 'terrible' : 'bad') : style.cname;
        span(
          LAUNCHER_PID,
          'load',
          `${e.sse ? 'stream' : 'request'} ${e.outcome}`,
          e.t,
          e.end,
          {
            id: e.id,
            outcome: e.outcome,
            counted: e.sse ? (e.outcome === 'ok' ? 'ended by the service' : e.outcome === 'reset' ? 'cut' : 'other') : style.counted,
            ...(e.status !== undefined ? { status: e.status } : {}),
            ...(e.error !== undefined ? { error: e.error } : {}),
            keepAlive: e.keepAlive,
            ...(e.sse ? { sse: true, events: e.events ?? 0 } : {}),
            durationMs: Number.isFinite(e.end - e.t) ? Math.round((e.end - e.t) * 1000) / 1000 : null,
          },
          { tid: style.tid, cname },
        );
        break;
      }
      case 'load-summary':
        instant(LAUNCHER_PID, `load summary: ${e.sent} sent`, e.t, 't', 'load', loadSummaryArgs(e), TID.load);
        break;
      // ---- Kubernetes termination
      case 'termination-start': {
        instant(
          LAUNCHER_PID,
          `termination started (grace ${e.graceSeconds} s)`,
          e.t,
          'g',
          'k8s',
          { graceSeconds: e.graceSeconds, stopSignal: e.stopSignal, ...(e.preStop !== undefined ? { preStop: e.preStop } : {}) },
          TID.k8s,
        );
        const sched = meta?.k8s?.schedule;
        if (sched) {
          const due = e.t + sched.killAtMs;
          const reached = mainExitAt === undefined || mainExitAt >= due;
          const stop = reached ? due : mainExitAt;
          span(
            LAUNCHER_PID,
            'k8s',
            `grace period ${e.graceSeconds} s`,
            e.t,
            stop,
            {
              graceSeconds: e.graceSeconds,
              killAtMs: sched.killAtMs,
              signalAtMs: sched.signalAtMs,
              remainingSeconds: sched.remainingSeconds,
              preStopSeconds: sched.preStopSeconds,
              extended: sched.extended,
              endedBy: reached ? 'SIGKILL due' : 'exit',
            },
            { tid: TID.k8s, cname: reached ? 'terrible' : 'good' },
          );
          instant(
            LAUNCHER_PID,
            reached ? 'grace period over: SIGKILL due' : 'grace period would end: SIGKILL due',
            due,
            't',
            'k8s',
            { killAtMs: sched.killAtMs, remainingSeconds: sched.remainingSeconds, extended: sched.extended, overran: sched.overran, reached },
            TID.k8s,
            reached ? 'terrible' : 'grey',
          );
        }
        break;
      }
      case 'prestop-start':
        if (preStopOpen) preStopSpan(preStopOpen, undefined);
        preStopOpen = e;
        break;
      case 'prestop-end':
        if (preStopOpen) preStopSpan(preStopOpen, e);
        else instant(LAUNCHER_PID, 'preStop ended', e.t, 't', 'k8s', { ok: e.ok, overran: e.overran, durationMs: e.durationMs }, TID.k8s);
        preStopOpen = undefined;
        break;
      case 'grace-extension':
        instant(LAUNCHER_PID, `grace extension: SIGKILL ${e.seconds} s after the signal`, e.t, 'g', 'k8s', { seconds: e.seconds, reason: e.reason }, TID.k8s, 'bad');
        break;
      default: {
        // Every kind is handled above (the compiler holds this); one from a newer writer is skipped.
        const newer: never = e;
        void newer;
        break;
      }
    }
  }
  if (preStopOpen) preStopSpan(preStopOpen, undefined);
  // Close what never ended at the end of the trace.
  for (const k of [...openListeners.keys()]) endListener(k, NaN, {});
  for (const [k, s] of openRequests) span(Number(k.split('/')[0]), 'request', `${s.method} ${s.path}`, s.t, undefined, { method: s.method, path: s.path });
  for (const [k, s] of openServers) span(Number(k.split('/')[0]), 'server', `${s.proto} server ${s.address}`, s.t, undefined, { address: s.address, proto: s.proto, ...siteArgs(s.site, cwd) });
  for (const [k, s] of openSockets) span(Number(k.split('/')[0]), 'connection', `connection ${s.handle.label}`, s.t, undefined, handleArgs(s.handle, cwd));

  // ---- log lines
  for (const o of trace.output ?? []) {
    instant(o.pid, truncate(o.text, 80) || '(empty line)', o.t, 't', 'log', { stream: o.stream, text: o.text }, TID.log);
  }
  // ---- leaked handles
  // The analysis' leaks, each handle at the moment the main process ended (still alive then).
  const leakAt = analysis.window?.end ?? end;
  (analysis.leaks ?? []).forEach((l, leakIndex) => {
    for (const h of l.handles) instant(l.pid, `leaked ${h.type}: ${truncate(h.label, 60)}`, leakAt, 't', 'leak', { ...handleArgs(h, cwd), leak: l.title, leakIndex }, TID.handles);
  });

  // ---- metadata: a name for every process and thread in use
  for (const p of trace.processes ?? []) pids.add(p.pid);
  const meta_: ChromeEvent[] = [];
  const procs = new Map((trace.processes ?? []).map((p) => [p.pid, p]));
  const sorted = [...pids].sort((a, b) => a - b);
  sorted.forEach((pid) => {
    const p = procs.get(pid);
    const name = pid === LAUNCHER_PID && !p ? 'shutdown-trace launcher' : p ? `${truncate(p.command, 100)} (pid ${pid})` : `pid ${pid}`;
    meta_.push({ name: 'process_name', ph: 'M', ts: 0, pid, tid: 0, args: { name } });
    const sortIndex = p?.isMain ? 0 : pid === LAUNCHER_PID ? -1 : 1 + sorted.indexOf(pid);
    meta_.push({ name: 'process_sort_index', ph: 'M', ts: 0, pid, tid: 0, args: { sort_index: sortIndex } });
    if (p) {
      meta_.push({
        name: 'process_labels',
        ph: 'M',
        ts: 0,
        pid,
        tid: 0,
        args: { labels: [p.isMain ? 'main' : `child of ${p.ppid}`, p.traced ? 'traced' : 'not traced', ...(p.node ? [`node ${p.node}`] : [])].join(', ') },
      });
    }
    const tids = threads.get(pid) ?? new Set<number>([TID.main]);
    tids.add(TID.main);
    for (const tid of [...tids].sort((a, b) => a - b)) {
      const tname = tid === TID.main ? (pid === LAUNCHER_PID && !p ? 'launcher' : p ? truncate(p.command, 100) : 'main') : (THREAD_NAMES[tid] ?? `thread ${tid}`);
      meta_.push({ name: 'thread_name', ph: 'M', ts: 0, pid, tid, args: { name: tname } });
      meta_.push({ name: 'thread_sort_index', ph: 'M', ts: 0, pid, tid, args: { sort_index: tid } });
    }
  });

  const rank: Record<ChromePhase, number> = { M: 0, b: 1, C: 2, i: 2, e: 3 };
  const body = out
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.ts - b.e.ts || rank[a.e.ph] - rank[b.e.ph] || a.i - b.i)
    .map((x) => x.e);

  return {
    traceEvents: [...meta_, ...body],
    displayTimeUnit: 'ms',
    metadata: {
      tool: meta?.tool,
      toolVersion: meta?.toolVersion,
      createdAt: meta?.createdAt,
      command: (meta?.command ?? []).join(' '),
      cwd,
      platform: meta?.platform,
      node: meta?.node,
      mainPid: meta?.mainPid,
      complete: meta?.complete,
      ...(meta?.incompleteReason ? { incompleteReason: meta.incompleteReason } : {}),
      durationMs: meta?.durationMs,
      signalPlan: meta?.plan,
      verdict: analysis.verdict,
      exitReason: analysis.exitReason,
      ...(analysis.signalToExitMs !== undefined ? { signalToExitMs: analysis.signalToExitMs } : {}),
      leakedHandleCount: analysis.leakedHandleCount,
      ...loadMetadata(trace),
      ...k8sMetadata(trace),
      source: 'Shutdown Trace (redacted export)',
    },
  };
}

function loadSummaryArgs(e: Extract<TraceEvent, { kind: 'load-summary' }>): Record<string, unknown> {
  return { url: e.url, sent: e.sent, recorded: e.recorded, streams: e.streams, byOutcome: e.byOutcome, statuses: e.statuses, skipped: e.skipped };
}

/** The load's configuration, the generator's totals and the analysis's accounting (lost, turned away, …). */
function loadMetadata(trace: Trace): Record<string, unknown> {
  const summary = (trace.events ?? []).find((e): e is Extract<TraceEvent, { kind: 'load-summary' }> => e.kind === 'load-summary');
  const config = trace.meta?.load;
  const requests = trace.analysis?.requests;
  if (!config && !summary && !requests) return {};
  return { load: { ...(config ? { config } : {}), ...(summary ? { summary: loadSummaryArgs(summary) } : {}), ...(requests ? { accounting: requests } : {}) } };
}

/** The pod's termination as configured (with the kubelet's schedule) and its outcome. */
function k8sMetadata(trace: Trace): Record<string, unknown> {
  const plan = trace.meta?.k8s;
  const outcome = trace.analysis?.k8s;
  if (!plan && !outcome) return {};
  return { k8s: { ...(plan ? { plan } : {}), ...(outcome ? { outcome } : {}) } };
}
