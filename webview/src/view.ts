/**
 * The visible time window and its maths: zoom about a point, pan, fit, axis ticks.
 * Times are trace ms; x are CSS pixels inside the plot area (right of the row labels).
 */
import { clamp } from './util';

export const MIN_SPAN = 0.005; // 5 µs
/** How far past the end of the data the view may go, as a share of the run. */
const RIGHT_ROOM = 0.06;

export class Viewport {
  t0 = 0;
  t1 = 1;
  /** Width of the plot area in CSS px. */
  width = 1;
  /** Keep "now" in view while live (until the user zooms or pans away). */
  follow = true;

  get span(): number {
    return this.t1 - this.t0;
  }
  /** px per ms */
  get scale(): number {
    return this.width / (this.t1 - this.t0);
  }
  x(t: number): number {
    return ((t - this.t0) * this.width) / (this.t1 - this.t0);
  }
  t(x: number): number {
    return this.t0 + (x / this.width) * (this.t1 - this.t0);
  }
  set(t0: number, t1: number, bounds?: [number, number]): void {
    let span = Math.max(MIN_SPAN, t1 - t0);
    if (bounds) {
      const full = Math.max(MIN_SPAN * 10, bounds[1] - bounds[0]);
      // Zoomed out, the whole run and a little room on the right for the last labels; never
      // before the start (no negative times) and never past the end by more than that room.
      const right = full * RIGHT_ROOM;
      span = Math.min(span, full + right);
      t0 = clamp(t0, bounds[0], Math.max(bounds[0], bounds[1] + right - span));
    }
    this.t0 = t0;
    this.t1 = t0 + span;
  }
  zoomAt(factor: number, anchorT: number, bounds?: [number, number]): void {
    const f = clamp(factor, 1 / 64, 64);
    const t0 = anchorT - (anchorT - this.t0) / f;
    const t1 = anchorT + (this.t1 - anchorT) / f;
    this.set(t0, t1, bounds);
  }
  panPx(dx: number, bounds?: [number, number]): void {
    const dt = (dx / this.width) * this.span;
    this.set(this.t0 + dt, this.t1 + dt, bounds);
  }
  /** Frame [lo, hi] with a little more room on the right, where exit and SIGKILL labels go. */
  fit(lo: number, hi: number, bounds?: [number, number]): void {
    const span = Math.max(hi - lo, MIN_SPAN * 10);
    this.set(lo, hi + span * 0.05, bounds);
  }
}

/** Tick step for at least `minPx` between labels: 1, 2, 5 × 10^k ms. */
export function tickStep(span: number, width: number, minPx = 90): number {
  const raw = (span * minPx) / Math.max(1, width);
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}
