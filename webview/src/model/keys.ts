/**
 * Item keys: a stable name for what an item shows (an event, a handle record, a phase, an output
 * line, a process), so a selection survives re-layout and live appends; and the way back from a
 * key or an event index to the items that show it.
 */
import type { TraceEvent, Finding } from '../../../src/shared/trace';
import { K, F, type Track } from './track';
import type { Model } from './model';
import { lowerBound } from '../util';

/** A stable key for an item: what it refers to, not where it sits. */
export function keyOf(m: Model, tr: Track, i: number): string {
  const k = tr.kind[i];
  const f = tr.flags[i];
  const r = tr.ref[i];
  if (k === K.log) return 'o:' + r;
  if (k === K.phase) return 'p:' + r;
  if (k === K.handle || k === K.leak) return 'h:' + r;
  if (f & F.LIFE) return 'x:' + r;
  if (k === K.exit && f & F.COMPUTED) return 'x:' + r;
  if (k === K.deadline && f & F.COMPUTED) return 'd:0';
  if (tr.type === 'counts') return 'c:' + r;
  return 'e:' + r;
}

/** Start time of what a key refers to (for locating it in tracks). */
export function timeOfKey(m: Model, key: string): number {
  const [t, s] = [key[0], Number(key.slice(2))];
  switch (t) {
    case 'o':
      return m.trace.output[s]?.t ?? NaN;
    case 'p':
      return m.phases[s]?.start ?? NaN;
    case 'h':
      return m.handles[s]?.start ?? NaN;
    case 'x': {
      const l = m.laneByPid.get(s);
      return l ? (l.info.start ?? NaN) : NaN;
    }
    case 'd':
      return m.deadlineT;
    case 'e':
    case 'c':
      return m.ev(s)?.t ?? NaN;
  }
  return NaN;
}

/** Every (track, index) showing a key. */
export function locate(m: Model, key: string): { tr: Track; i: number }[] {
  const out: { tr: Track; i: number }[] = [];
  const t = m.timeOfKey(key);
  const tracks = m.allTracks();
  for (const tr of tracks) {
    tr.ensure();
    let i = lowerBound(tr.start, tr.n, t);
    if (key[0] === 'x') {
      // lifecycle and computed exit: scan the lane's main track
      if (tr.type !== 'lane' || tr.lane?.pid !== Number(key.slice(2))) continue;
      for (let j = 0; j < tr.n; j++) if (m.keyOf(tr, j) === key) out.push({ tr, i: j });
      continue;
    }
    for (; i < tr.n && tr.start[i] === t; i++) if (m.keyOf(tr, i) === key) out.push({ tr, i });
  }
  return out;
}

/** Map any event index (start or end of something) to the key of the item that shows it. */
export function keyForEvent(m: Model, idx: number): string | null {
  const e = m.ev(idx);
  if (!e) return null;
  // the kind first: events from columns are made only for the candidates
  const back = (kind: TraceEvent['kind'], pred: (x: TraceEvent) => boolean): number => {
    for (let j = idx - 1; j >= 0; j--) if (m.evKind(j) === kind && pred(m.ev(j))) return j;
    return -1;
  };
  switch (e.kind) {
    case 'request-end': {
      const j = back('request-start', (x) => x.kind === 'request-start' && x.pid === e.pid && x.req === e.req);
      return j >= 0 ? 'e:' + j : null;
    }
    case 'listener-end':
    case 'listener-settled': {
      const j = back('listener-start', (x) => x.kind === 'listener-start' && x.pid === e.pid && x.id === e.id);
      return j >= 0 ? 'e:' + j : null;
    }
    case 'server-closed': {
      const j = back('server-close', (x) => x.kind === 'server-close' && x.pid === e.pid && x.server === e.server);
      return j >= 0 ? 'e:' + j : null;
    }
    case 'handle-open':
    case 'handle-close': {
      const hi = m.handleIndex(e.pid, e.kind === 'handle-open' ? e.handle.id : e.id);
      return hi !== undefined ? 'h:' + hi : null;
    }
    case 'phase-start':
    case 'phase-end': {
      const pi = m.phases.findIndex((p) => p.pid === e.pid && p.id === e.id);
      return pi >= 0 ? 'p:' + pi : null;
    }
    case 'exit':
    case 'spawned':
      return 'x:' + e.pid;
    case 'signal': {
      // attached to a sent marker?
      const l = m.laneByPid.get(e.pid);
      if (l) for (let j = 0; j < l.main.n; j++) if (l.main.kind[j] === K.signal && l.main.flags[j] & F.SENT && l.main.ref2[j] === idx) return 'e:' + l.main.ref[j];
      return 'e:' + idx;
    }
    case 'deadline':
    case 'active-count':
    case 'before-exit':
    case 'collector-rejected':
    case 'conn-end':
    case 'dropped':
    case 'error':
    case 'exit-call':
    case 'grace-extension':
    case 'kill-sent':
    case 'listen':
    case 'listener-start':
    case 'load-request':
    case 'load-start':
    case 'load-summary':
    case 'note':
    case 'orphan':
    case 'platform':
    case 'prestop-end':
    case 'prestop-start':
    case 'process-exit':
    case 'request-start':
    case 'server-close':
    case 'signal-sent':
    case 'snapshot':
    case 'spawn':
    case 'termination-start':
      // an item of its own, keyed by its event
      return 'e:' + idx;
    default:
      // a kind from a newer trace version
      return newerKind(e, idx);
  }
}

function newerKind(_e: never, idx: number): string {
  return 'e:' + idx;
}

/** The trace.events index an item key stands for (its start event), or -1. */
export function eventOfKey(m: Model, key: string): number {
  const n = Number(key.slice(2));
  switch (key[0]) {
    case 'e':
    case 'c':
      return n >= 0 && n < m.trace.events.length ? n : -1;
    case 'h': {
      const h = m.handles[n];
      return h ? (h.openEv >= 0 ? h.openEv : h.snapEv) : -1;
    }
    case 'p': {
      const p = m.phases[n];
      if (!p) return -1;
      for (const i of m.eventsOfKind('phase-start')) {
        const e = m.ev(i);
        if (e.kind === 'phase-start' && e.pid === p.pid && e.id === p.id) return i;
      }
      return -1;
    }
    default:
      return -1;
  }
}

export function findingKeys(m: Model, f: Finding): string[] {
  const keys = new Set<string>();
  for (const idx of f.evidence ?? []) {
    const k = m.keyForEvent(idx);
    if (k) keys.add(k);
  }
  for (const h of f.handles ?? []) {
    const hi = m.findHandle(h.id);
    if (hi >= 0) keys.add('h:' + hi);
  }
  if (f.code === 'killed-at-deadline' && m.deadlineT === m.deadlineT && !keys.size) keys.add(m.deadlineKey());
  return [...keys];
}

export function deadlineKey(m: Model): string {
  for (let i = 0; i < m.run.n; i++) if (m.run.kind[i] === K.deadline) return m.keyOf(m.run, i);
  return 'd:0';
}
