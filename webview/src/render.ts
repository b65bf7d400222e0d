/**
 * Canvas renderer. One canvas, redrawn whole per frame (coalesced with requestAnimationFrame by
 * the app). Per track: binary search the visible window on start-sorted arrays (with a prefix
 * max of ends for intervals), then level of detail: items narrower than a few pixels are merged
 * into pixel-column spans per colour, and once a row holds many items in view its short ones come
 * from the track's per-zoom-level summary (model/lod.ts), so the cost is bounded by pixels, not
 * items. Rows by kind: render/bars.ts, render/markers.ts; axis, gutter, overlays: render/chrome.ts.
 */
import type { Track, Row } from './model';
import { tickStep } from './view';
import type { Palette } from './theme';
import { upperBound } from './util';
import { GUTTER, AXIS_H, type Box, type Frame } from './render/geometry';
import { fillOf, strokeOf, FLUSH_ORDER } from './render/slots';
import * as bars from './render/bars';
import * as markers from './render/markers';
import * as chrome from './render/chrome';

export { GUTTER, GUTTER_WIDE, GUTTER_NARROW, setGutter, AXIS_H, type Box, type Frame } from './render/geometry';
export { hitTest } from './render/hit';

export class Renderer {
  readonly ctx: CanvasRenderingContext2D;
  dpr = 1;
  textW = new Map<string, number>();
  font = '';
  /** Marker/pill boxes drawn in the last frame (for hit testing and the item layer). */
  boxes: Box[] = [];
  /** Items skipped by LOD in the last frame, for stats. */
  lastDrawn = 0;
  // Rects batched per colour slot into one path each (one raster op per colour, not per rect),
  // flushed after all rows: soft fills, then solid marks, then deferred labels/badges.
  softPaths: (Path2D | null)[] = [];
  solidPaths: (Path2D | null)[] = [];
  post: (() => void)[] = [];
  soft(c: number, x: number, y: number, w: number, h: number): void {
    (this.softPaths[c] ??= new Path2D()).rect(x, y, w, h);
  }
  solid(c: number, x: number, y: number, w: number, h: number): void {
    (this.solidPaths[c] ??= new Path2D()).rect(x, y, w, h);
  }
  flushBatches(pal: Palette): void {
    const { ctx } = this;
    for (const c of FLUSH_ORDER) {
      const p = this.softPaths[c];
      if (p) {
        ctx.fillStyle = fillOf(pal, c);
        ctx.fill(p);
      }
    }
    for (const c of FLUSH_ORDER) {
      const p = this.solidPaths[c];
      if (p) {
        ctx.fillStyle = strokeOf(pal, c);
        ctx.fill(p);
      }
    }
    this.softPaths = [];
    this.solidPaths = [];
    const post = this.post;
    this.post = [];
    for (const f of post) f();
  }

  constructor(readonly canvas: HTMLCanvasElement) {
    const ctx = canvas.getContext('2d', { alpha: false, willReadFrequently: true });
    if (!ctx) throw new Error('canvas 2D is not available');
    this.ctx = ctx;
  }

  resize(w: number, h: number, dpr: number): void {
    const W = Math.max(1, Math.round(w * dpr));
    const H = Math.max(1, Math.round(h * dpr));
    if (this.canvas.width !== W) this.canvas.width = W;
    if (this.canvas.height !== H) this.canvas.height = H;
    this.canvas.style.width = w + 'px';
    this.canvas.style.height = h + 'px';
    this.dpr = dpr;
  }

  measure(s: string): number {
    let w = this.textW.get(s);
    if (w === undefined) {
      w = this.ctx.measureText(s).width;
      if (this.textW.size > 4000) this.textW.clear();
      this.textW.set(s, w);
    }
    return w;
  }

  setFont(f: string): void {
    if (this.font !== f) {
      this.ctx.font = f;
      this.font = f;
      this.textW.clear();
    }
  }

  /** Text clipped to maxW with an ellipsis; returns drawn width. */
  text(s: string, x: number, y: number, maxW: number): number {
    if (maxW < 8) return 0;
    let w = this.measure(s);
    if (w > maxW) {
      let n = Math.max(0, Math.floor((s.length * (maxW - 8)) / w));
      let t = s.slice(0, n) + '…';
      while (n > 0 && this.measure(t) > maxW) t = s.slice(0, --n) + '…';
      if (n === 0) return 0;
      s = t;
      w = this.measure(t);
    }
    this.ctx.fillText(s, x, y);
    return w;
  }

  draw(fr: Frame): void {
    const { ctx } = this;
    const { model, view, pal, width: W, height: H } = fr;
    this.boxes = [];
    this.lastDrawn = 0;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    this.font = '';
    this.setFont(pal.font);
    ctx.textBaseline = 'middle';
    ctx.fillStyle = pal.bg;
    ctx.fillRect(0, 0, W, H);
    model.layout();
    const rows = model.rows;
    const top = AXIS_H - fr.scrollTop;
    const k = view.scale;
    const ox = GUTTER - view.t0 * k;
    const X = (t: number): number => ox + t * k;
    const step = tickStep(view.span, view.width);

    // Row bands (alternate by process), with the grace period tinted; opaque (cheap to raster).
    ctx.save();
    ctx.beginPath();
    ctx.rect(GUTTER, AXIS_H, W - GUTTER, H - AXIS_H);
    ctx.clip();
    const sig = model.graceStart();
    const graceOn = sig === sig && model.deadlineT === model.deadlineT && !pal.hc;
    const gx0 = graceOn ? Math.max(GUTTER, Math.round(X(sig))) : 0;
    const gx1 = graceOn ? Math.min(W, Math.round(X(model.deadlineT))) : 0;
    let band = false;
    let yb = AXIS_H;
    const fillBand = (y0: number, y1: number, on: boolean): void => {
      if (y1 <= y0) return;
      if (on) {
        ctx.fillStyle = pal.bandBg;
        ctx.fillRect(GUTTER, y0, W - GUTTER, y1 - y0);
      }
      if (gx1 > gx0) {
        ctx.fillStyle = on ? pal.bandGrace : pal.grace;
        ctx.fillRect(gx0, y0, gx1 - gx0, y1 - y0);
      }
    };
    for (const r of rows) {
      if (!r.header) continue;
      const y = Math.max(AXIS_H, Math.round(top + r.y - 3));
      fillBand(yb, Math.min(H, y), band);
      band = !band;
      yb = y;
      if (y > H) break;
    }
    fillBand(yb, Math.min(H, Math.round(top + model.height)), band);
    if (gx1 > gx0) {
      ctx.fillStyle = pal.grace;
      const yEnd = Math.max(AXIS_H, Math.round(top + model.height));
      if (yEnd < H) ctx.fillRect(gx0, yEnd, gx1 - gx0, H - yEnd);
    }
    ctx.fillStyle = pal.gridSolid;
    const firstTick = Math.ceil(view.t0 / step) * step;
    for (let t = firstTick; t <= view.t1; t += step) ctx.fillRect(Math.round(X(t)), AXIS_H, 1, H);

    for (const r of rows) {
      const y = top + r.y;
      if (y > H || y + r.h < AXIS_H) continue;
      this.drawRow(fr, r, y, X);
    }
    this.flushBatches(pal);
    chrome.drawOverlays(this, fr, X, H);
    chrome.drawHighlights(this, fr, X, top);
    ctx.restore();

    chrome.drawAxis(this, fr, X, step, W);
    chrome.drawGutter(this, fr, top, H);
  }

  drawRow(fr: Frame, r: Row, y: number, X: (t: number) => number): void {
    const tr = r.track;
    if (tr.type === 'run' && !tr.n) return markers.drawGrace(this, fr, r, y, X);
    if (!tr.n) return;
    tr.ensure();
    switch (tr.type) {
      case 'lane':
      case 'run':
      case 'loadmarks':
        markers.drawMarkers(this, fr, r, y, X);
        break;
      case 'counts':
        bars.drawCounts(this, fr, r, y, X);
        break;
      case 'conns':
      case 'logs':
        bars.drawTicks(this, fr, r, y, X);
        break;
      case 'handles':
      case 'k8s':
      case 'leaks':
      case 'listeners':
      case 'load':
      case 'phases':
      case 'requests':
      case 'server':
        bars.drawBars(this, fr, r, y, X);
        break;
      default:
        unknownTrack(tr.type);
    }
  }

  visible(fr: Frame, tr: Track): [number, number] {
    const { view } = fr;
    const i0 = tr.firstReaching(view.t0);
    const i1 = upperBound(tr.start, tr.n, view.t1);
    return [i0, i1];
  }
}

function unknownTrack(_t: never): void {}
