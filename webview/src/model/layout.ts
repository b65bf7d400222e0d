/** Rows top to bottom (the run, load traffic, then each process and its tracks) and the time extent. */
import type { Track, Lane, Row } from './track';
import type { Model } from './model';
import { laneTitle } from './labels';

/** Rows top to bottom. Cheap (a few dozen rows); rebuilt only when the set of tracks changes. */
export function layout(m: Model): void {
  if (!m.layoutDirty) return;
  m.layoutDirty = false;
  const rows: Row[] = [];
  let y = 0;
  const add = (track: Track, lane: Lane | null, label: string, h: number, first: boolean, header = false): void => {
    rows.push({ track, lane, label, first, y, h, header });
    y += h;
  };
  if (m.run.n > 0 || m.firstSignalT === m.firstSignalT) add(m.run, null, m.terminationT === m.terminationT ? 'run · k8s grace period' : 'run · grace period', 40, true, true);
  if (m.k8s.n) add(m.k8s, null, 'preStop hook', 20, true);
  if (m.loadMarks.n || m.load.length || m.sse.length) {
    add(m.loadMarks, null, 'requests (load)', 30, true, true);
    m.load.forEach((t, k) => t.n && add(t, null, 'requests', 14, k === 0));
    m.sse.forEach((t, k) => t.n && add(t, null, 'SSE streams', 14, k === 0));
    y += 6;
  }
  for (const l of m.orderedLanes()) {
    add(l.main, l, laneTitle(l), 44, true, true);
    l.listeners.forEach((t, k) => t.n && add(t, l, 'signal listeners', 16, k === 0));
    l.phases.forEach((t, k) => t.n && add(t, l, 'shutdown phases', 20, k === 0));
    if (l.server.n) add(l.server, l, 'server', 18, true);
    if (l.conns.n) add(l.conns, l, 'connections', 16, true);
    l.requests.forEach((t, k) => t.n && add(t, l, 'requests', 14, k === 0));
    l.leaks.forEach((t, k) => t.n && add(t, l, k === 0 ? `leaks (${m.leaks.filter((h) => h.pid === l.pid).length})` : '', 18, k === 0));
    l.handles.forEach((t, k) => t.n && add(t, l, k === 0 ? `handles (${l.handleCount})` : '', 11, k === 0));
    if (l.counts.n) add(l.counts, l, 'live handles', 34, true);
    if (l.logs.n) add(l.logs, l, 'logs', 16, true);
    y += 6;
  }
  m.rows = rows;
  m.height = y;
}

export function orderedLanes(m: Model): Lane[] {
  const byParent = new Map<number, Lane[]>();
  const pids = new Set(m.lanes.map((l) => l.pid));
  const roots: Lane[] = [];
  for (const l of m.lanes) {
    if (l.pid === 0 && l.main.n === 0 && !l.logs.n) continue;
    if (pids.has(l.info.ppid) && l.info.ppid !== l.pid) {
      const list = byParent.get(l.info.ppid) ?? [];
      list.push(l);
      byParent.set(l.info.ppid, list);
    } else roots.push(l);
  }
  const order = (a: Lane, b: Lane): number => Number(b.info.isMain) - Number(a.info.isMain) || (a.info.start ?? 0) - (b.info.start ?? 0) || a.pid - b.pid;
  const out: Lane[] = [];
  const seen = new Set<number>();
  const visit = (l: Lane, depth: number): void => {
    if (seen.has(l.pid)) return;
    seen.add(l.pid);
    l.depth = depth;
    out.push(l);
    for (const c of (byParent.get(l.pid) ?? []).sort(order)) visit(c, depth + 1);
  };
  for (const r of roots.sort(order)) visit(r, 0);
  return out;
}

export function allTracks(m: Model): Track[] {
  const out: Track[] = [m.run, m.k8s, m.loadMarks, ...m.load, ...m.sse];
  for (const l of m.lanes) out.push(l.main, ...l.listeners, ...l.phases, l.server, l.conns, ...l.requests, ...l.leaks, ...l.handles, l.counts, l.logs);
  return out;
}

/** Where open intervals of this lane end on screen. */
export function openEnd(m: Model, l: Lane | null): number {
  if (m.live) return Math.max(m.now, m.tMax);
  if (l && l.info.end !== undefined) return l.info.end;
  return m.tMax;
}

export function extent(m: Model): [number, number] {
  const lo = Math.min(0, m.tMin);
  let hi = Math.max(m.tMax, m.now);
  if (m.deadlineT === m.deadlineT) hi = Math.max(hi, m.deadlineT);
  if (hi - lo < 1) hi = lo + 1;
  return [lo, hi];
}
