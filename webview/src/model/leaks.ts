/**
 * Which handles the timeline marks as leaked: the analysis' leaks (`analysis.leaks`, the one
 * definition, in the verdict's order); for an older trace whose analysis predates them, the
 * handles its leak findings name; for a trace without analysis, the handles still open in each
 * process's last "should have exited" snapshot. Each leak gets a row of its own.
 */
import { Track, K, F, type HandleRec } from './track';
import type { Model } from './model';

const MAX_LEAK_ROWS = 8;
const LEAK_CODES = new Set(['leaked-handles', 'masked-leak', 'killed-at-deadline', 'stalled']);
const LEAK_SNAPSHOTS = new Set(['deadline', 'stalled', 'process-exit', 'exit']);

export function computeLeaks(m: Model): void {
  const leakedIdx = new Set<number>();
  const a = m.trace.analysis;
  const unidentified = new Map<string, number>();
  m.leakList = [];
  m.leakOfHandle = new Map();
  if (a && Array.isArray(a.leaks)) {
    a.leaks.forEach((leak, index) => {
      const recs: HandleRec[] = [];
      for (const h of leak.handles ?? []) {
        if (!h || h.ref === false) continue;
        let hi = m.handleIndex(leak.pid, h.id);
        if (hi === undefined) {
          m.openHandle(leak.pid, h, h.createdAt ?? m.lane(leak.pid).info.start ?? 0, -1);
          hi = m.handleIndex(leak.pid, h.id);
        }
        if (hi === undefined) continue;
        leakedIdx.add(hi);
        recs.push(m.handles[hi]);
        m.leakOfHandle.set(m.handles[hi], { leak, info: h });
      }
      m.leakList.push({ leak, index, handles: recs });
    });
  } else if (a) {
    for (const f of a.findings ?? []) {
      if (!LEAK_CODES.has(f.code) || !f.handles) continue;
      for (const h of f.handles) {
        if (h.ref === false) continue;
        let hi = m.findHandle(h.id);
        if (hi < 0) {
          const pid = m.trace.meta?.mainPid ?? m.lanes[0]?.pid ?? 0;
          m.openHandle(pid, h, h.createdAt ?? m.lane(pid).info.start ?? 0, -1);
          hi = m.handles.length - 1;
        }
        leakedIdx.add(hi);
      }
    }
  }
  if (!a || leakedIdx.size === 0) {
    // No analysis: the last "should have exited" snapshot of each process names the leaks.
    const lastSnap = leakSnapshots(m);
    if (!a && !m.live) {
      for (const [pid, si] of lastSnap) {
        const e = m.ev(si);
        if (e.kind !== 'snapshot') continue;
        for (const h of e.handles) {
          if (h.ref === false) continue;
          const hi = m.handleIndex(pid, h.id);
          if (hi !== undefined && m.handles[hi].end === Infinity) leakedIdx.add(hi);
        }
      }
    }
    for (const [, si] of lastSnap) {
      const e = m.ev(si);
      if (e.kind === 'snapshot') for (const u of e.unidentified ?? []) unidentified.set(u.type, (unidentified.get(u.type) ?? 0) + u.count);
    }
  } else {
    const lastSnap = leakSnapshots(m);
    for (const [, si] of lastSnap) {
      const e = m.ev(si);
      if (e.kind === 'snapshot') for (const u of e.unidentified ?? []) unidentified.set(u.type, (unidentified.get(u.type) ?? 0) + u.count);
    }
  }
  m.unidentified = [...unidentified].map(([type, count]) => ({ type, count }));
  // only the last leaks can be marked (a record starts unmarked): no walk over every handle
  for (const h of m.leaks) h.leaked = false;
  for (const hi of leakedIdx) m.handles[hi].leaked = true;
  // In the analysis' order (the user's leaks first, as the verdict names them), else by creation.
  const order = m.leakList.length ? [...new Set(m.leakList.flatMap((l) => l.handles.map((h) => indexOf(m, h))))] : [...leakedIdx].sort((x, y) => m.handles[x].start - m.handles[y].start);
  m.leaks = order.map((hi) => m.handles[hi]);
  // Mark leaked items in the packed handle tracks, and give each leak its own row.
  for (const l of m.lanes) {
    for (const tr of l.handles) {
      const flags = tr.flags;
      for (let i = 0; i < tr.n; i++) flags[i] &= ~F.LEAK;
    }
    l.leaks = [];
  }
  // each leaked handle's bar: lane.handles[row], item idx (kept through re-sorts)
  for (const hi of leakedIdx) {
    const h = m.handles[hi];
    const tr = m.laneByPid.get(h.pid)?.handles[h.row];
    if (tr && tr.ref[h.idx] === hi) tr.flags[h.idx] |= F.LEAK;
  }
  for (const hi of order) {
    const h = m.handles[hi];
    const l = m.lane(h.pid);
    let tr: Track;
    if (l.leaks.length < MAX_LEAK_ROWS) {
      tr = new Track('leaks', 'leaked', l, 2);
      l.leaks.push(tr);
    } else {
      tr = l.leaks[MAX_LEAK_ROWS - 1];
      tr.overlaps = true;
    }
    tr.push(h.start, h.end, K.leak, F.LEAK | F.BAD, hi);
  }
}

export function findHandle(m: Model, id: string): number {
  const main = m.trace.meta?.mainPid;
  if (main !== undefined) {
    const hi = m.handleIndex(main, id);
    if (hi !== undefined) return hi;
  }
  for (const l of m.lanes) {
    const hi = m.handleIndex(l.pid, id);
    if (hi !== undefined) return hi;
  }
  return -1;
}

/** Per process, the last snapshot that says it should have exited (the kind read first: from columns only snapshots are made). */
function leakSnapshots(m: Model): Map<number, number> {
  const lastSnap = new Map<number, number>();
  for (const i of m.eventsOfKind('snapshot')) {
    const e = m.ev(i);
    if (e.kind === 'snapshot' && LEAK_SNAPSHOTS.has(e.reason)) lastSnap.set(e.pid, i);
  }
  return lastSnap;
}

/** A record's index: by its id (no scan of every handle), else by a scan. */
function indexOf(m: Model, h: HandleRec): number {
  const hi = m.handleIndex(h.pid, h.info.id);
  return hi !== undefined && m.handles[hi] === h ? hi : m.handles.indexOf(h);
}
