/** Moving the view: Fit (the shutdown, then the whole run), zoom, pan, and bringing items into view. */
import type { App } from '../app';
import { type Track } from '../model';
import { Viewport } from '../view';
import { AXIS_H } from '../render';
import { type Loc } from './shared';

export function bounds(a: App): [number, number] | undefined {
  return a.model ? a.model.extent() : undefined;
}

export function fitView(a: App): void {
  const t = a.fitTarget(a.fitMode);
  if (t) a.view.set(t[0], t[1]);
}

/** The window Fit shows in a mode (the whole run when there is no shutdown to frame). */
export function fitTarget(a: App, mode: 'shutdown' | 'all'): [number, number] | undefined {
  if (!a.model) return undefined;
  const w = (mode === 'shutdown' ? a.shutdownWindow() : undefined) ?? a.model.extent();
  const v = new Viewport();
  v.fit(w[0], w[1], a.bounds());
  return [v.t0, v.t1];
}

/**
 * The shutdown: from the signal (or the start of a Kubernetes termination) to the grace
 * deadline when the run reached it or is live, else to the end of the run, with the deadline
 * too when it is near enough to read. Undefined before any signal.
 */
export function shutdownWindow(a: App): [number, number] | undefined {
  const m = a.model;
  if (!m) return undefined;
  const s = m.graceStart();
  if (s !== s) return undefined;
  const [lo, hi] = m.extent();
  // the end of the last process, not of the trace (the launcher's tail after the exit is empty)
  const ends = m.lanes.filter((l) => l.pid !== 0).map((l) => l.info.end);
  const lastEnd = m.live ? Math.max(m.now, m.tMax) : ends.length && ends.every((e) => e !== undefined) ? Math.max(...(ends as number[])) : m.tMax;
  const dl = m.k8sKillT === m.k8sKillT ? m.k8sKillT : m.deadlineT;
  let end = lastEnd;
  if (dl === dl && (m.live || m.killT === m.killT || lastEnd >= dl || dl - s <= 3 * Math.max(1, lastEnd - s))) end = Math.max(end, dl);
  end = Math.min(hi, Math.max(end, s + 1));
  // a little room before the signal; a shutdown that was over at once (no handler, an exit)
  // gets a tenth of the run, what led up to it
  let start = s - (end - s) * 0.04;
  start = Math.min(start, end - (hi - lo) * 0.1);
  return [Math.max(lo, start), end];
}

export function fit(a: App): void {
  if (a.model) {
    // Fit shows the shutdown; Fit again (nothing moved since) the whole run, and back.
    const shown = (mode: 'shutdown' | 'all'): boolean => {
      const t = a.fitTarget(mode);
      const tol = Math.max(1e-6, a.view.span * 1e-3);
      return !!t && Math.abs(a.view.t0 - t[0]) <= tol && Math.abs(a.view.t1 - t[1]) <= tol;
    };
    if (a.fitMode === 'shutdown' && shown('shutdown') && a.shutdownWindow()) a.fitMode = 'all';
    else if (a.fitMode === 'all' && shown('all')) a.fitMode = 'shutdown';
    else a.fitMode = 'shutdown';
  }
  a.fitView();
  a.view.follow = !!a.model?.live;
  a.changed();
}

export function zoomBy(a: App, f: number, anchorT?: number): void {
  if (!a.model) return;
  const at = anchorT ?? a.zoomAnchor();
  a.view.zoomAt(f, at, a.bounds());
  a.view.follow = false;
  a.changed();
}

export function zoomAnchor(a: App): number {
  // keep the selection in place if it is on screen, else the centre
  const l = a.selLocs[0];
  if (l) {
    const s = l.tr.start[l.i];
    if (s >= a.view.t0 && s <= a.view.t1) return s;
  }
  return (a.view.t0 + a.view.t1) / 2;
}

export function panBy(a: App, px: number): void {
  if (!a.model) return;
  a.view.panPx(px, a.bounds());
  a.view.follow = false;
  a.changed();
}

export function changed(a: App): void {
  a.invalidate();
  a.saveStateSoon();
}

export function spanOf(a: App, locs: Loc[]): [number, number] {
  const m = a.model!;
  let lo = Infinity;
  let hi = -Infinity;
  for (const { tr, i } of locs) {
    let e = tr.end[i];
    if (e !== e) e = tr.start[i];
    else if (e === Infinity) e = m.openEnd(tr.lane);
    lo = Math.min(lo, tr.start[i]);
    hi = Math.max(hi, e);
  }
  return [lo, hi];
}

/** Zoom so all locs are in view (with margin), and scroll their first row into view. */
export function zoomTo(a: App, locs: Loc[]): void {
  const [lo, hi] = a.spanOf(locs);
  const m = a.model!;
  const [elo, ehi] = m.extent();
  if (hi - lo < (ehi - elo) * 0.01) {
    const span = Math.min(a.view.span, (ehi - elo) * 0.5);
    const c = (lo + hi) / 2;
    a.view.set(c - span / 2, c + span / 2, a.bounds());
  } else {
    const pad = (hi - lo) * 0.12;
    a.view.set(lo - pad, hi + pad, a.bounds());
  }
  a.view.follow = false;
  a.scrollRowIntoView(locs[0].tr);
  a.changed();
}

/** Pan (not zoom) so the item is on screen, and scroll its row into view. */
export function reveal(a: App, locs: Loc[]): void {
  const [lo, hi] = a.spanOf(locs);
  const v = a.view;
  if (hi < v.t0 || lo > v.t1) {
    if (hi - lo > v.span) a.view.set(lo - (hi - lo) * 0.05, hi + (hi - lo) * 0.05, a.bounds());
    else {
      const c = (lo + hi) / 2;
      a.view.set(c - v.span / 2, c + v.span / 2, a.bounds());
    }
    a.view.follow = false;
  }
  a.scrollRowIntoView(locs[0].tr);
  a.changed();
}

export function scrollRowIntoView(a: App, tr: Track): void {
  const m = a.model!;
  a.measure(true);
  m.layout();
  const r = m.rows.find((x) => x.track === tr);
  if (!r) return;
  const st = a.timeline.scrollTop;
  const visTop = st;
  const visBot = st + a.cssH - AXIS_H;
  if (r.y < visTop || r.y + r.h > visBot) a.timeline.scrollTop = Math.max(0, r.y - 40);
}
