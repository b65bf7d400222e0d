/** What a user reads for an item: its canvas label and accessible text, tooltip lines, short labels. */
import type { TraceEvent } from '../../../src/shared/trace';
import { userFrame, formatFrame } from '../../../src/shared/frames';
import { K, F, KIND_NAME, type Track, type Lane, type HandleRec } from './track';
import type { Model } from './model';
import { fmtDur, displayText } from '../util';
import { lostRequestEvents } from './traffic';

/** What a user reads for an item (canvas label and accessible text). */
export function label(m: Model, tr: Track, i: number): string {
  const k = tr.kind[i];
  const f = tr.flags[i];
  const r = tr.ref[i];
  const s = tr.start[i];
  const e = tr.end[i];
  const dur = e === Infinity ? (m.live ? 'running' : 'never ended') : e === e ? fmtDur(e - s) : '';
  const ev = m.ev(r);
  switch (k) {
    case K.process:
      if (f & F.LIFE) {
        const l = m.laneByPid.get(r);
        return l ? `${shortCommand(l.info.command)} (pid ${r}) ${dur}` : `pid ${r}`;
      }
      return ev ? eventLabel(ev) : 'process';
    case K.signal: {
      if (!ev || (ev.kind !== 'signal-sent' && ev.kind !== 'signal')) return 'signal';
      const nth = ev.nth > 1 ? ` #${ev.nth}` : '';
      return f & F.SENT ? `${ev.signal}${nth}` : `${ev.signal}${nth} received`;
    }
    case K.deadline:
      return m.k8sKillT === m.k8sKillT ? `SIGKILL due ${fmtDur(m.k8sKillT - m.terminationT)}` : `deadline ${fmtDur(m.graceMs)}`;
    case K.prestop: {
      if (!ev || ev.kind !== 'prestop-start') return 'preStop';
      const end = m.ev(tr.ref2[i]);
      const d = end && end.kind === 'prestop-end' ? fmtDur(end.durationMs) : dur;
      const what = displayText(ev.detail || ev.action, 60);
      const tail = f & F.WARN ? (e === Infinity && !(end && end.kind === 'prestop-end') ? ' (never ended)' : ' — overran') : '';
      return `preStop ${what} · ${d}${tail}${f & F.BAD ? ' ✗ failed' : ''}`;
    }
    case K.k8s: {
      if (ev?.kind === 'termination-start') return `termination · grace ${ev.graceSeconds} s`;
      if (ev?.kind === 'grace-extension') return `grace +${ev.seconds} s`;
      return 'kubernetes';
    }
    case K.kill:
      return 'SIGKILL';
    case K.exit: {
      if (f & F.COMPUTED) {
        const l = m.laneByPid.get(r);
        const x = l?.info.exit;
        return x ? exitText(x.code, x.signal) : 'exit';
      }
      if (ev?.kind === 'process-exit') return exitText(ev.code, ev.signal);
      if (ev?.kind === 'exit-call') return `process.exit(${ev.code === undefined ? '' : displayText(String(ev.code), 20)})`;
      return 'exit';
    }
    case K.error:
      return ev && ev.kind === 'error' ? `${ev.origin}: ${displayText(ev.message, 120)}` : 'error';
    case K.listener: {
      if (!ev || ev.kind !== 'listener-start') return 'listener';
      const name = ev.name ? displayText(ev.name, 40) : 'listener';
      return `${name} (${ev.signal}) ${dur}${f & F.BAD ? ' ✗' : ''}`;
    }
    case K.request: {
      if (ev && ev.kind === 'load-request') {
        const st = ev.status !== undefined && ev.outcome !== 'ok' ? ` ${ev.status}` : '';
        const d = fmtDur(ev.end - ev.t);
        if (ev.sse) return `SSE ${ev.outcome}${ev.events !== undefined ? ` · ${ev.events} events` : ''} ${d}`;
        return `GET ${ev.outcome === 'refused' ? 'refused (turned away)' : ev.outcome}${st} ${d}`;
      }
      if (!ev || ev.kind !== 'request-start') return 'request';
      const end = m.ev(tr.ref2[i]);
      const st = end && end.kind === 'request-end' ? (end.aborted ? 'aborted' : String(end.status)) : e === Infinity ? (m.live ? '…' : 'cut') : '';
      return `${displayText(ev.method, 10)} ${displayText(ev.path, 60)} ${st} ${dur}`.replace(/\s+/g, ' ').trim();
    }
    case K.conn:
      if (!ev) return 'connection';
      if (ev.kind === 'listen') return `listening ${ev.proto} ${displayText(ev.address, 60)}`;
      if (ev.kind === 'server-close') return e === Infinity ? `server.close() ${m.live ? 'waiting' : 'never finished'}` : `server.close() ${dur}`;
      if (ev.kind === 'conn-end') return `connection ${ev.how} ${displayText(ev.remote, 60)}`;
      return 'connection';
    case K.phase: {
      const p = m.phases[r];
      if (!p) return 'phase';
      const name = displayText(p.name, 60);
      if (e === Infinity) return `${name} ${m.live ? 'running' : '(never finished)'}`;
      return `${name} ${fmtDur(p.durationMs ?? e - s)}${p.error ? ' ✗ failed' : ''}`;
    }
    case K.handle:
    case K.leak: {
      const h = m.handles[r];
      if (!h) return 'handle';
      const lbl = displayText(h.info.label || h.info.type, 80);
      if (k === K.leak) {
        // As the leak list shows it: its label there (which may count several handles made at one
        // line), under its owner, at the user's line the analysis chose (a library's handle made
        // in a later tick has only library frames of its own).
        // The owner and line first: a long label is clipped at the row's end.
        const of = m.leakOfHandle.get(h);
        const where = of?.leak.site ? displayText(formatFrame(of.leak.site, m.cwd), 160) : m.siteText(h);
        const label = of ? displayText(of.info.label || of.info.type, 200) : lbl;
        if (of?.leak.owner) return `leaked: ${displayText(of.leak.owner.name, 60)} at ${where} — ${label}`;
        return `leaked: ${label} — ${where}`;
      }
      return `${lbl}${h.info.ref === false ? ' (unref)' : ''} ${dur}`;
    }
    case K.log: {
      const o = m.trace.output[r];
      return o ? `${o.stream}: ${displayText(o.text, 120)}` : 'log';
    }
  }
  return KIND_NAME[k] ?? 'item';
}

/** Extra facts for the tooltip of load requests and Kubernetes items. */
export function tipLines(m: Model, tr: Track, i: number): string[] {
  const ev = m.ev(tr.ref[i]);
  if (!ev) return [];
  const out: string[] = [];
  if (ev.kind === 'load-request') {
    const o = ev.outcome;
    out.push(`outcome: ${o}${lostRequestEvents(m).has(tr.ref[i]) ? ' (lost during shutdown)' : ''}`);
    if (ev.status !== undefined) out.push(`status ${ev.status}`);
    if (ev.error) out.push(`error: ${displayText(ev.error, 200)}`);
    out.push(ev.keepAlive ? 'keep-alive connection' : 'new connection (connection: close)');
    if (ev.sse) out.push(`SSE stream${ev.events !== undefined ? `, ${ev.events} events` : ''}`);
  } else if (ev.kind === 'prestop-start') {
    const end = m.ev(tr.ref2[i]);
    out.push(`action: ${ev.action}`);
    if (end && end.kind === 'prestop-end') {
      out.push(end.ok ? 'ok' : `failed${end.error ? ': ' + displayText(end.error, 200) : ''}`);
      if (end.overran) out.push('overran: still running at the grace deadline');
    }
  } else if (ev.kind === 'termination-start') {
    out.push(`terminationGracePeriodSeconds ${ev.graceSeconds}, stop signal ${ev.stopSignal}${ev.preStop ? `, preStop ${displayText(ev.preStop, 80)}` : ''}`);
    if (m.k8sKillT === m.k8sKillT) out.push(`SIGKILL at ${fmtDur(m.k8sKillT)}`);
  } else if (ev.kind === 'grace-extension') out.push(displayText(ev.reason, 200));
  else if (ev.kind === 'load-summary' || ev.kind === 'load-start') out.push(`requests: ${m.loadCountsText()}`);
  return out;
}

/** A bar's label when its full label has no room: the phase's duration. */
export function shortLabel(m: Model, tr: Track, i: number): string | undefined {
  if (tr.kind[i] !== K.phase) return undefined;
  const s = tr.start[i];
  const e = tr.end[i];
  return e === Infinity || e !== e ? undefined : fmtDur(e - s);
}

export function siteText(m: Model, h: HandleRec): string {
  const fr = userFrame(h.info.site);
  return fr ? displayText(formatFrame(fr, m.cwd), 160) : 'unknown site';
}

export function kindName(m: Model, tr: Track, i: number): string {
  return KIND_NAME[tr.kind[i]];
}

export function exitText(code: number | null | undefined, signal: string | null | undefined): string {
  if (signal) return `killed by ${signal}`;
  if (code === null || code === undefined) return 'exit';
  return `exit ${code}`;
}

/** "node --flag dist/server.js --port 3" → "node server.js". */
export function shortCommand(cmd: string): string {
  const c = displayText(cmd, 400);
  const parts = c.split(/\s+/).filter(Boolean);
  if (!parts.length) return 'process';
  const base = (p: string): string => p.split('/').pop() || p;
  const exe = base(parts[0]);
  const arg = parts.slice(1).find((p) => !p.startsWith('-'));
  const short = arg ? `${exe} ${base(arg)}` : exe;
  return short.length > 40 ? short.slice(0, 39) + '…' : short;
}

export function laneTitle(l: Lane): string {
  return shortCommand(l.info.command);
}

export function eventLabel(e: TraceEvent): string {
  switch (e.kind) {
    case 'spawn':
      return `spawn pid ${e.childPid}: ${displayText(e.command, 60)}`;
    case 'snapshot':
      return `snapshot (${e.reason}): ${e.handles.length} handle${e.handles.length === 1 ? '' : 's'}`;
    case 'note':
    case 'platform':
      return displayText(e.text, 120);
    case 'orphan':
      return `orphan pid ${e.pid}${e.stopped ? ' (stopped)' : ' left running'}`;
    case 'dropped':
      return `dropped ${e.count} events`;
    case 'before-exit':
      return `beforeExit (code ${e.code})`;
    case 'collector-rejected':
      return `collector rejected: ${displayText(e.reason, 80)}`;
    case 'load-start':
      return `load ${e.rate}/s${e.sse ? ` + ${e.sse} SSE` : ''}`;
    case 'load-summary':
      return `load done: ${e.sent} sent`;
    case 'active-count':
    case 'conn-end':
    case 'deadline':
    case 'error':
    case 'exit-call':
    case 'exit':
    case 'grace-extension':
    case 'handle-close':
    case 'handle-open':
    case 'kill-sent':
    case 'listen':
    case 'listener-end':
    case 'listener-settled':
    case 'listener-start':
    case 'load-request':
    case 'phase-end':
    case 'phase-start':
    case 'prestop-end':
    case 'prestop-start':
    case 'process-exit':
    case 'request-end':
    case 'request-start':
    case 'server-close':
    case 'server-closed':
    case 'signal-sent':
    case 'signal':
    case 'spawned':
    case 'termination-start':
      // these have labels of their own (label() above); as a plain marker, the kind names it
      return e.kind;
    default:
      return newerKindLabel(e);
  }
}

/** A kind from a newer trace version: its name. */
function newerKindLabel(e: never): string {
  return displayText((e as { kind?: unknown }).kind, 60);
}
