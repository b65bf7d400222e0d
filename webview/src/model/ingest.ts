/**
 * Building the model from events: one exhaustive switch over the trace's event kinds (a kind
 * from a newer trace version is skipped), each event placed on its lane's tracks, bars opened and
 * closed by their ids, overlapping bars packed into a few rows.
 */
import type { TraceEvent } from '../../../src/shared/trace';
import type { HandleInfo } from '../../../src/shared/wire';
import { Track, K, F, HandleRec, type Lane } from './track';
import type { Model } from './model';

const MAX_LISTENER_ROWS = 3;
const MAX_REQUEST_ROWS = 4;
const MAX_HANDLE_ROWS = 6;
const MAX_LOAD_ROWS = 4;
const MAX_SSE_ROWS = 3;
/** How far a process's receipt of a signal may be recorded before the launcher's send (clock skew) and still be that send's. */
const RECEIPT_SKEW_MS = 50;

export function addEvent(m: Model, e: TraceEvent, i: number): void {
  const t = e.t;
  if (t > m.tMax) m.tMax = t;
  if (t < m.tMin) m.tMin = t;
  switch (e.kind) {
    // ------------------------------------------------ launcher events (pid 0)
    case 'spawned': {
      const l = m.lane(e.pid);
      if (e.command && (l.info.command.startsWith('pid ') || !l.info.command)) l.info.command = e.command;
      if (l.info.start === undefined) l.info.start = t;
      m.startLife(l, t);
      break;
    }
    case 'signal-sent': {
      const l = m.lane(e.target);
      // The process's receipt may be recorded earlier than the send when its clock runs a little
      // behind the launcher's: the receipt is never drawn before the send, it becomes its marker.
      const early = l.recvWaiting.get(e.signal);
      const at = early ? early.findIndex((r) => r.t <= t && t - r.t <= RECEIPT_SKEW_MS) : -1;
      if (early && at >= 0) {
        const [r] = early.splice(at, 1);
        const mk = l.main;
        mk.flags[r.k] |= F.SENT;
        mk.ref2[r.k] = mk.ref[r.k];
        mk.ref[r.k] = i;
        // moved to the send's time only where that keeps the track sorted (it is the newest item)
        if (r.k === mk.n - 1) mk.moveStart(r.k, t);
        const ts = m.signalTs.lastIndexOf(r.t);
        if (ts >= 0) m.signalTs[ts] = t;
        if (m.firstSignalT === r.t) m.firstSignalT = Math.min(t, ...m.signalTs);
        m.firstSignalName = m.firstSignalT === t ? e.signal : m.firstSignalName;
        break;
      }
      const k = l.main.push(t, NaN, K.signal, F.SENT, i, -1);
      const w = l.sentWaiting.get(e.signal);
      if (w) w.push(k);
      else l.sentWaiting.set(e.signal, [k]);
      m.signalTs.push(t);
      if (!(m.firstSignalT <= t)) {
        m.firstSignalT = t;
        m.firstSignalName = e.signal;
      }
      break;
    }
    case 'deadline': {
      // A live run shows a computed deadline (signal + grace) before the event arrives: the
      // event adopts that marker instead of adding a second one at the same place.
      let adopted = false;
      for (let k = 0; k < m.run.n; k++) {
        if (m.run.kind[k] === K.deadline && m.run.flags[k] & F.COMPUTED) {
          m.run.flags[k] &= ~F.COMPUTED;
          m.run.ref[k] = i;
          adopted = true;
          break;
        }
      }
      if (!adopted) m.run.push(t, NaN, K.deadline, 0, i);
      m.deadlineT = t;
      if (e.graceMs) m.graceMs = e.graceMs;
      break;
    }
    case 'kill-sent':
      m.run.push(t, NaN, K.kill, 0, i);
      if (!(m.killT <= t)) m.killT = t;
      break;
    case 'process-exit': {
      const l = m.lane(e.pid);
      l.main.push(t, NaN, K.exit, e.code !== 0 ? F.BAD : 0, i);
      l.exitMarked = true;
      if (l.info.exit === undefined) l.info.exit = { code: e.code, signal: e.signal };
      if (l.info.end === undefined) l.info.end = t;
      m.closeLife(l, t);
      break;
    }
    case 'orphan': {
      const l = m.lane(e.pid);
      if (l.info.command.startsWith('pid ')) l.info.command = e.command;
      l.main.push(t, NaN, K.process, F.WARN, i);
      break;
    }
    case 'collector-rejected':
      m.run.push(t, NaN, K.process, F.WARN, i);
      break;
    // ------------------------------------------------ traffic during shutdown (pid 0)
    case 'load-start':
      m.loadMarks.push(t, NaN, K.process, 0, i);
      m.layoutDirty = true;
      break;
    case 'load-summary':
      m.loadMarks.push(t, NaN, K.process, 0, i);
      m.loadSummaryEv = i;
      m.layoutDirty = true;
      break;
    case 'load-request': {
      const end = typeof e.end === 'number' && e.end >= t ? e.end : t;
      if (end > m.tMax) m.tMax = end;
      const o = e.outcome;
      const f = o === 'ok' ? 0 : o === 'refused' ? F.TURNED : o === 'timeout' ? F.WARN : F.BAD;
      const group = e.sse ? m.sse : m.load;
      const tr = m.pack(group, () => m.loadTrack(group, e.sse ? 'SSE streams' : 'requests'), e.sse ? MAX_SSE_ROWS : MAX_LOAD_ROWS, t);
      tr.push(t, end, K.request, f, i);
      if (!e.sse) m.loadSeen[o] = (m.loadSeen[o] ?? 0) + 1;
      break;
    }
    // ------------------------------------------------ Kubernetes termination (pid 0)
    case 'termination-start':
      m.run.push(t, NaN, K.k8s, 0, i);
      if (m.terminationT !== m.terminationT) m.terminationT = t;
      break;
    case 'grace-extension':
      m.run.push(t, NaN, K.k8s, F.WARN, i);
      break;
    case 'prestop-start': {
      const k = m.k8s.push(t, Infinity, K.prestop, 0, i);
      m.prestopOpen = { tr: m.k8s, i: k };
      m.k8s.pending.add(m.prestopOpen);
      m.layoutDirty = true;
      break;
    }
    case 'prestop-end': {
      const r = m.prestopOpen;
      if (!r) break;
      m.prestopOpen = null;
      r.tr.pending.delete(r);
      r.tr.setEnd(r.i, t);
      r.tr.ref2[r.i] = i;
      if (!e.ok) r.tr.flags[r.i] |= F.BAD;
      if (e.overran) r.tr.flags[r.i] |= F.WARN;
      break;
    }
    case 'note':
    case 'platform':
      m.run.push(t, NaN, K.process, 0, i);
      break;
    // ------------------------------------------------ preload events
    case 'signal': {
      const l = m.lane(e.pid);
      // A 'signal' the launcher sent shows as one marker: attach receipt to the sent marker.
      const w = l.sentWaiting.get(e.signal);
      if (w && w.length) {
        const k = w.shift()!;
        l.main.ref2[k] = i;
      } else {
        const k = l.main.push(t, NaN, K.signal, 0, i);
        const r = l.recvWaiting.get(e.signal);
        if (r) r.push({ k, t });
        else l.recvWaiting.set(e.signal, [{ k, t }]);
        m.signalTs.push(t);
        if (!(m.firstSignalT <= t)) {
          m.firstSignalT = t;
          m.firstSignalName = e.signal;
        }
      }
      break;
    }
    case 'listener-start': {
      const l = m.lane(e.pid);
      const tr = m.pack(l.listeners, () => new Track('listeners', 'listeners', l), MAX_LISTENER_ROWS, t);
      const k = tr.push(t, Infinity, K.listener, 0, i);
      const r = { tr, i: k };
      tr.pending.add(r);
      const key = `${e.pid}:${e.id}`;
      const list = m.listenerOpen.get(key);
      if (list) list.push(r);
      else m.listenerOpen.set(key, [r]);
      break;
    }
    case 'listener-end':
    case 'listener-settled': {
      const list = m.listenerOpen.get(`${e.pid}:${e.id}`);
      if (!list || !list.length) break;
      const r = list[0];
      if (e.kind === 'listener-end') {
        if (e.threw) r.tr.flags[r.i] |= F.BAD;
        r.tr.ref2[r.i] = i;
        if (e.returnedPromise && !e.threw) {
          // async listener: the bar runs until its promise settles
          r.tr.flags[r.i] |= F.SYNC_END;
          break;
        }
      } else {
        if (!e.ok) r.tr.flags[r.i] |= F.BAD;
        if (r.tr.ref2[r.i] < 0) r.tr.ref2[r.i] = i;
      }
      r.tr.setEnd(r.i, t);
      r.tr.pending.delete(r);
      list.shift();
      break;
    }
    case 'listen': {
      const l = m.lane(e.pid);
      l.server.push(t, NaN, K.conn, 0, i);
      break;
    }
    case 'server-close': {
      const l = m.lane(e.pid);
      const k = l.server.push(t, Infinity, K.conn, 0, i);
      m.openAt(`S:${e.pid}:${e.server}`, l.server, k);
      break;
    }
    case 'server-closed': {
      const r = m.closeAt(`S:${e.pid}:${e.server}`, t);
      if (r) r.tr.ref2[r.i] = i;
      break;
    }
    case 'conn-end':
      connEnd(m, e.pid, t, i, e.how, e.hadRequest);
      break;
    case 'request-start':
      requestStart(m, e.pid, t, i, e.req);
      break;
    case 'request-end':
      requestEnd(m, e.pid, t, i, e.req, e.status, e.aborted);
      break;
    case 'phase-start': {
      if (m.phasesFromAnalysis) break;
      const l = m.lane(e.pid);
      const stack = m.phaseStack.get(e.pid) ?? [];
      m.phaseStack.set(e.pid, stack);
      const depth = stack.length;
      stack.push(e.id);
      const pi = m.phases.length;
      m.phases.push({ id: e.id, pid: e.pid, name: e.name, start: t, depth, auto: !!e.auto });
      const tr = m.phaseTrack(l, depth, t);
      const k = tr.push(t, Infinity, K.phase, 0, pi, i);
      const r = { tr, i: k };
      tr.pending.add(r);
      m.phaseOpen.set(`${e.pid}:${e.id}`, { ref: r, pi });
      break;
    }
    case 'phase-end': {
      if (m.phasesFromAnalysis) break;
      const key = `${e.pid}:${e.id}`;
      const o = m.phaseOpen.get(key);
      if (!o) break;
      m.phaseOpen.delete(key);
      o.ref.tr.setEnd(o.ref.i, t);
      o.ref.tr.pending.delete(o.ref);
      const ph = m.phases[o.pi];
      ph.end = t;
      ph.durationMs = t - ph.start;
      if (e.error) {
        ph.error = e.error;
        o.ref.tr.flags[o.ref.i] |= F.BAD;
      }
      const stack = m.phaseStack.get(e.pid);
      if (stack) {
        const at = stack.lastIndexOf(e.id);
        if (at >= 0) stack.splice(at, 1);
      }
      break;
    }
    case 'exit-call': {
      const l = m.lane(e.pid);
      l.main.push(t, NaN, K.exit, e.code !== undefined && e.code !== 0 && e.code !== '0' ? F.BAD : F.WARN, i);
      break;
    }
    case 'before-exit':
      m.lane(e.pid).main.push(t, NaN, K.process, 0, i);
      break;
    case 'exit': {
      const l = m.lane(e.pid);
      if (l.info.exit === undefined) l.info.exit = { code: e.code, signal: null };
      break;
    }
    case 'error':
      m.lane(e.pid).main.push(t, NaN, K.error, F.BAD, i);
      break;
    case 'handle-open':
      m.openHandle(e.pid, e.handle, t, i);
      break;
    case 'handle-close':
      handleClose(m, e.pid, t, i, e.id);
      break;
    case 'spawn':
      m.lane(e.pid).main.push(t, NaN, K.process, 0, i);
      break;
    case 'snapshot': {
      const l = m.lane(e.pid);
      l.main.push(t, NaN, K.process, 0, i);
      for (const h of e.handles) {
        const hi = m.handleIndex(e.pid, h.id);
        if (hi === undefined) {
          const start = h.createdAt ?? l.info.start ?? 0;
          m.openHandle(e.pid, h, start, -1);
          m.handles[m.handleIndex(e.pid, h.id)!].snapEv = i;
        } else {
          const rec = m.handles[hi];
          rec.snapEv = i;
          if (!rec.info.site && h.site) rec.info = { ...rec.info, site: h.site };
        }
      }
      break;
    }
    case 'active-count':
      activeCount(m, e.pid, t, i, e.count);
      break;
    case 'dropped':
      m.lane(e.pid).main.push(t, NaN, K.process, F.WARN, i);
      break;
    default:
      // a kind from a newer trace version: not drawn (its time still counts in the extent)
      newerKind(e);
  }
}

// The kinds a big trace is made of, with their fields as arguments: the same code for an event
// object and for a row of columns (ingest-columns.ts).

export function connEnd(m: Model, pid: number, t: number, i: number, how: string | undefined, hadRequest: boolean | undefined): void {
  m.lane(pid).conns.push(t, NaN, K.conn, how === 'error' ? F.BAD : how === 'destroyed' || (hadRequest && how === 'server-ended') ? F.WARN : 0, i);
}

export function requestStart(m: Model, pid: number, t: number, i: number, req: string | number): void {
  const l = m.lane(pid);
  const tr = m.packIn(l.requests, MAX_REQUEST_ROWS, t) ?? m.addTrack(l.requests, m.requestTrack(l));
  const k = tr.push(t, Infinity, K.request, 0, i);
  m.perPid(m.reqOpen, pid).set(req, k * 8 + l.requests.indexOf(tr));
}

export function requestEnd(m: Model, pid: number, t: number, i: number, req: string | number, status: number, aborted: boolean | undefined): void {
  const open = m.reqOpen.get(pid);
  const v = open?.get(req);
  if (v === undefined) return;
  open!.delete(req);
  const tr = m.lane(pid).requests[v & 7];
  const k = (v - (v & 7)) / 8;
  tr.setEnd(k, t);
  tr.ref2[k] = i;
  if (aborted || status >= 500) tr.flags[k] |= F.BAD;
  else if (status >= 400) tr.flags[k] |= F.WARN;
}

export function handleClose(m: Model, pid: number, t: number, i: number, id: string): void {
  const hi = m.handleIndex(pid, id);
  if (hi === undefined) return;
  const h = m.handles[hi];
  if (h.end !== Infinity) return;
  h.end = t;
  h.closeEv = i;
  m.lane(pid).handles[h.row].setEnd(h.idx, t);
}

export function activeCount(m: Model, pid: number, t: number, i: number, count: number): void {
  const l = m.lane(pid);
  const k = l.counts.push(t, NaN, 0, 0, i);
  l.counts.value![k] = count;
  if (count > l.counts.vmax) l.counts.vmax = count;
}

/** Every kind above is handled (a kind added to TraceEvent fails to compile here); at run time, a newer one is skipped. */
function newerKind(_e: never): void {}

export function openHandle(m: Model, pid: number, info: HandleInfo, t: number, ev: number): void {
  openHandleOf(m, pid, info.id, info.ref, info, t, ev);
}

/** `info` null: the handle's info is its handle-open event's (event `ev`), read when first needed. */
export function openHandleOf(m: Model, pid: number, id: string, ref: boolean | undefined, info: HandleInfo | null, t: number, ev: number): void {
  const l = m.lane(pid);
  const byId = m.perPid(m.handleIdx, pid);
  const old = byId.get(id);
  if (old !== undefined && m.handles[old].end === Infinity) return; // reopened id while open: keep the first
  const hi = m.handles.length;
  const tr = m.packIn(l.handles, MAX_HANDLE_ROWS, t) ?? m.addTrack(l.handles, m.handleTrack(l));
  const k = tr.push(t, Infinity, K.handle, ref === false ? F.UNREF : 0, hi);
  m.handles.push(new HandleRec(pid, info, t, ev, l.handles.indexOf(tr), k, info ? null : m));
  l.handleCount++;
  m.layoutDirty = true;
  byId.set(id, hi);
}

export function requestTrack(m: Model, l: Lane): Track {
  const tr = new Track('requests', 'requests', l, 256);
  const row = l.requests.length;
  tr.onReorder = (inv) => {
    const open = m.reqOpen.get(l.pid);
    if (!open) return;
    for (const [req, v] of open) if ((v & 7) === row) open.set(req, inv[(v - row) / 8] * 8 + row);
  };
  return tr;
}

export function handleTrack(m: Model, l: Lane): Track {
  const tr = new Track('handles', 'handles', l, 256);
  const row = l.handles.length;
  tr.onReorder = (inv) => {
    for (let k = 0; k < tr.n; k++) {
      const h = m.handles[tr.ref[k]];
      if (h && h.pid === l.pid && h.row === row) h.idx = k;
    }
    void inv;
  };
  return tr;
}

/** The phase row for a depth: nested phases go one row down, overlapping ones at the same depth get a row of their own. */
export function phaseTrack(m: Model, l: Lane, depth: number, start: number): Track {
  let at = 0;
  for (let k = 0; k < l.phases.length; k++) {
    const t = l.phases[k];
    if (t.depth === depth && t.lastEnd <= start) return t;
    if (t.depth <= depth) at = k + 1;
  }
  const tr = new Track('phases', 'phases', l);
  tr.depth = depth;
  l.phases.splice(at, 0, tr);
  m.layoutDirty = true;
  return tr;
}
