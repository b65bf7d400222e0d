/** Hit testing: the item under a point of the canvas. */
import { F, type Track } from '../model';
import { GUTTER, AXIS_H, type Box, type Frame } from './geometry';
import { upperBound } from '../util';

/** The item under a point (CSS px in the canvas), or null. */
export function hitTest(fr: Frame, boxes: Box[], px: number, py: number): { tr: Track; i: number } | null {
  const { model, view } = fr;
  if (px < GUTTER || py < AXIS_H) return null;
  // markers/pills first (they are drawn on top)
  for (let j = boxes.length - 1; j >= 0; j--) {
    const b = boxes[j];
    if (px >= b.x && px <= b.x + b.w && py >= b.y && py <= b.y + b.h && !(b.tr.flags[b.i] & F.LIFE)) return { tr: b.tr, i: b.i };
  }
  const top = AXIS_H - fr.scrollTop;
  const row = model.rows.find((r) => py >= top + r.y && py < top + r.y + r.h);
  if (!row) return null;
  const tr = row.track;
  if (!tr.n) return null;
  tr.ensure();
  const k = view.scale;
  const t = view.t0 + (px - GUTTER) / k;
  const tol = 4 / k;
  const openEnd = model.openEnd(tr.lane);
  if (tr.type === 'counts') {
    const c = upperBound(tr.start, tr.n, t) - 1;
    return c >= 0 ? { tr, i: c } : null;
  }
  let best = -1;
  let bestScore = Infinity;
  let i = upperBound(tr.start, tr.n, t + tol) - 1;
  for (let guard = 0; i >= 0 && guard < 5000; i--, guard++) {
    if (tr.maxEnd[i] < t - tol) break;
    let e = tr.end[i];
    if (e !== e) e = tr.start[i];
    else if (e === Infinity) e = openEnd;
    if (e < t - tol) continue;
    const s = tr.start[i];
    // instants and thin bars: by distance; wide bars: contained
    const inside = t >= s && t <= e;
    const d = inside ? 0 : Math.min(Math.abs(t - s), Math.abs(t - e));
    // prefer the shortest containing item (nested or overlapping)
    const score = d * 1e6 + (e - s);
    if (score < bestScore) {
      bestScore = score;
      best = i;
    }
  }
  if (best < 0) return null;
  return { tr, i: best };
}
