/**
 * Canvas renderer. One canvas, redrawn whole per frame (coalesced with requestAnimationFrame by
 * the app). Per track: binary search the visible window on start-sorted arrays (with a prefix
 * max of ends for intervals), then level-of-detail: items narrower than ~2 px are merged into
 * pixel-column spans per colour, so the cost is bounded by pixels, not items, once zoomed out.
 */
import { Model, Track, Row, K, F, Lane } from './model';
import { Viewport, tickStep } from './view';
import { Palette } from './theme';
import { upperBound, lowerBound, fmtTick, fmtDur } from './util';
import { levelFor } from './model/lod';

/** Width of the row labels: narrower when the panel is (half an editor is about 515 px). */
export let GUTTER = 196;
export const GUTTER_WIDE = 196;
export const GUTTER_NARROW = 140;
export function setGutter(w: number): void {
  GUTTER = w;
}
export const AXIS_H = 26;

export interface Box {
  tr: Track;
  i: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Frame {
  model: Model;
  view: Viewport;
  pal: Palette;
  width: number;
  height: number;
  scrollTop: number;
  selected: Box[] | null;
  evidence: { tr: Track; i: number }[];
  hover: { tr: Track; i: number } | null;
}

// Colour slots used for batching fills.
const enum C {
  grey,
  blue,
  purple,
  red,
  orange,
  green,
  faint,
  yellow,
  count,
}

function fillOf(p: Palette, c: number): string {
  switch (c) {
    case C.grey:
      return p.greySoft;
    case C.blue:
      return p.blueSoft;
    case C.purple:
      return p.purpleSoft;
    case C.red:
      return p.redSoft;
    case C.orange:
      return p.orangeSoft;
    case C.green:
      return p.greenSoft;
    case C.yellow:
      return p.yellowSoft;
    default:
      return p.faint;
  }
}
function strokeOf(p: Palette, c: number): string {
  switch (c) {
    case C.grey:
      return p.grey;
    case C.blue:
      return p.blue;
    case C.purple:
      return p.purple;
    case C.red:
      return p.red;
    case C.orange:
      return p.orange;
    case C.green:
      return p.green;
    case C.yellow:
      return p.yellow;
    default:
      return p.faint;
  }
}

/** Colour slot of a bar or tick. */
function slot(type: string, k: number, f: number): number {
  if (f & F.LEAK) return C.red;
  switch (k) {
    case K.phase:
      return f & F.BAD ? C.red : f & F.WARN ? C.orange : C.purple;
    case K.listener:
      return f & F.BAD ? C.red : f & F.WARN ? C.orange : C.blue;
    case K.request:
      if (type === 'load' && f & F.TURNED) return C.grey;
      return f & F.BAD ? C.red : f & F.WARN ? C.orange : C.green;
    case K.prestop:
      return f & F.BAD ? C.red : f & F.WARN ? C.orange : C.blue;
    case K.conn:
      return f & F.BAD ? C.red : f & F.WARN ? C.orange : type === 'server' ? C.blue : C.grey;
    case K.handle:
      return f & F.UNREF ? C.faint : C.grey;
    case K.log:
      return f & F.BAD ? C.orange : C.grey;
    case K.process:
      return f & F.WARN ? C.orange : C.grey;
    default:
      return C.grey;
  }
}

const SPARSE = new Set(['phases', 'listeners', 'server', 'leaks', 'k8s']);
/** Quiet colours first, so warnings and errors end up on top where marks overlap. */
const FLUSH_ORDER = [C.grey, C.faint, C.green, C.blue, C.purple, C.yellow, C.orange, C.red];
/** Bars at least this wide are drawn one by one (soft fill, edge, label); narrower ones merge. */
const WIDE_PX = 12;
/** From this many items in view, a row is drawn from its track's level of detail (model/lod.ts). */
const LOD_MIN_ITEMS = 1500;

/** Index (even) of the first span [s, e] of a sorted, disjoint span list with e >= t. */
function firstSpanReaching(sp: Float64Array, t: number): number {
  let lo = 0;
  let hi = sp.length / 2;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sp[mid * 2 + 1] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo * 2;
}

export class Renderer {
  readonly ctx: CanvasRenderingContext2D;
  dpr = 1;
  private textW = new Map<string, number>();
  private font = '';
  /** Marker/pill boxes drawn in the last frame (for hit testing and the item layer). */
  boxes: Box[] = [];
  /** Items skipped by LOD in the last frame, for stats. */
  lastDrawn = 0;
  // Rects batched per colour slot into one path each (one raster op per colour, not per rect),
  // flushed after all rows: soft fills, then solid marks, then deferred labels/badges.
  private softPaths: (Path2D | null)[] = [];
  private solidPaths: (Path2D | null)[] = [];
  private post: (() => void)[] = [];
  private soft(c: number, x: number, y: number, w: number, h: number): void {
    (this.softPaths[c] ??= new Path2D()).rect(x, y, w, h);
  }
  private solid(c: number, x: number, y: number, w: number, h: number): void {
    (this.solidPaths[c] ??= new Path2D()).rect(x, y, w, h);
  }
  private flushBatches(pal: Palette): void {
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

  private setFont(f: string): void {
    if (this.font !== f) {
      this.ctx.font = f;
      this.font = f;
      this.textW.clear();
    }
  }

  /** Text clipped to maxW with an ellipsis; returns drawn width. */
  private text(s: string, x: number, y: number, maxW: number): number {
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
    this.drawOverlays(fr, X, H);
    this.drawHighlights(fr, X, top);
    ctx.restore();

    this.drawAxis(fr, X, step, W);
    this.drawGutter(fr, top, H);
  }

  private drawRow(fr: Frame, r: Row, y: number, X: (t: number) => number): void {
    const tr = r.track;
    if (tr.type === 'run' && !tr.n) return this.drawGrace(fr, r, y, X);
    if (!tr.n) return;
    tr.ensure();
    switch (tr.type) {
      case 'lane':
      case 'run':
      case 'loadmarks':
        this.drawMarkers(fr, r, y, X);
        break;
      case 'counts':
        this.drawCounts(fr, r, y, X);
        break;
      case 'conns':
      case 'logs':
        this.drawTicks(fr, r, y, X);
        break;
      default:
        this.drawBars(fr, r, y, X);
    }
  }

  private visible(fr: Frame, tr: Track): [number, number] {
    const { view } = fr;
    const i0 = tr.firstReaching(view.t0);
    const i1 = upperBound(tr.start, tr.n, view.t1);
    return [i0, i1];
  }

  private drawBars(fr: Frame, r: Row, y: number, X: (t: number) => number): void {
    const { ctx } = this;
    const { pal, model, view } = fr;
    const tr = r.track;
    const [i0, i1] = this.visible(fr, tr);
    const pad = r.h >= 16 ? 2 : 1;
    const by = y + pad;
    const bh = r.h - pad * 2;
    const openEnd = model.openEnd(tr.lane);
    const st = tr.start;
    const en = tr.end;
    const kd = tr.kind;
    const fl = tr.flags;
    const W = fr.width;
    const pendX0 = new Float64Array(C.count).fill(NaN);
    const pendX1 = new Float64Array(C.count);
    const rects: number[][] = [];
    for (let c = 0; c < C.count; c++) rects.push([]);
    const wide: number[] = [];
    const t0 = view.t0;
    const t1 = view.t1;
    // narrow marks: merged into solid pixel spans per colour
    const narrow = (c: number, x0: number, x1: number): void => {
      x0 = Math.floor(x0);
      x1 = Math.max(x0 + 1, Math.round(x1));
      const p0 = pendX0[c];
      if (p0 === p0 && x0 <= pendX1[c] + 1) {
        if (x1 > pendX1[c]) pendX1[c] = x1;
      } else {
        if (p0 === p0) rects[c].push(p0, pendX1[c]);
        pendX0[c] = x0;
        pendX1[c] = x1;
      }
    };
    // Sparse, important rows: every bar is drawn (and labelled) individually.
    const sparse = SPARSE.has(tr.type) && i1 - i0 < 600;
    const item = (i: number): void => {
      let e = en[i];
      if (e !== e) e = st[i];
      else if (e === Infinity) e = openEnd;
      if (e < t0) return;
      let x0 = X(st[i]);
      let x1 = X(e);
      if (x0 < GUTTER - 4) x0 = GUTTER - 4;
      if (x1 > W + 4) x1 = W + 4;
      if ((sparse || x1 - x0 >= WIDE_PX) && wide.length < 2000) wide.push(i);
      else narrow(slot(tr.type, kd[i], fl[i]), x0, x1);
    };
    if (!sparse && i1 - i0 > LOD_MIN_ITEMS) {
      // Zoomed out over many items: the short ones from the track's level of detail (their
      // union per colour, O(pixels)), the long and open ones one by one.
      const lv = tr.lod.get(tr, levelFor(view.scale), C.count, (i) => slot(tr.type, kd[i], fl[i]));
      for (let c = 0; c < C.count; c++) {
        const sp = lv.spans[c];
        for (let q = firstSpanReaching(sp, t0); q < sp.length && sp[q] <= t1; q += 2) narrow(c, Math.max(GUTTER - 4, X(sp[q])), Math.min(W + 4, X(sp[q + 1])));
      }
      const lg = lv.long;
      for (let j = lowerBound(lv.longMaxEnd, lg.length, t0); j < lg.length && st[lg[j]] <= t1; j++) item(lg[j]);
    } else for (let i = i0; i < i1; i++) item(i);
    for (let c = 0; c < C.count; c++) {
      if (pendX0[c] === pendX0[c]) rects[c].push(pendX0[c], pendX1[c]);
      const list = rects[c];
      // merged marks of warnings/errors: a lower band, so rare ones stay visible without
      // painting whole columns (a 2% error rate must not look like 40%)
      const warn = c === C.red || c === C.orange;
      const hh = warn ? Math.max(2, Math.round(bh * 0.45)) : bh;
      for (let j = 0; j < list.length; j += 2) {
        if (warn) this.solid(c, list[j], by + bh - hh, Math.max(1, list[j + 1] - list[j]), hh);
        // load traffic: short requests in solid outcome colours (soft fills vanish at 1 px)
        else if (tr.type === 'load') this.solid(c, list[j], by + 1, Math.max(1, list[j + 1] - list[j]), bh - 2);
        else this.soft(c, list[j], by, Math.max(1, list[j + 1] - list[j]), bh);
      }
      this.lastDrawn += list.length / 2;
    }
    // Wide bars: fill, edge, label (inside if it fits, else to the right when there is room).
    const labelled = r.h >= 14;
    const minW = sparse ? 2 : 0;
    // Bars come in start order: paint only what earlier bars did not already cover, so
    // overlapping rows (the overflow of packed tracks) cost one pass over the pixels.
    let covered = -Infinity;
    for (let j = 0; j < wide.length; j++) {
      const i = wide[j];
      let e = en[i];
      const open = e === Infinity;
      if (e !== e) e = st[i];
      else if (open) e = openEnd;
      const rx0 = Math.round(X(st[i]));
      const rx1 = Math.round(X(e));
      const x0 = Math.max(rx0, GUTTER - 4);
      let x1 = Math.min(rx1, W + 4);
      if (x1 - x0 < minW) x1 = x0 + minW;
      const c = slot(tr.type, kd[i], fl[i]);
      const w = x1 - x0;
      if (tr.overlaps && x1 <= covered) continue; // entirely under earlier bars
      const fx0 = tr.overlaps && covered > x0 ? covered : x0;
      const hidden = fx0 > x0; // its start is under earlier bars: no edge, no label
      if (x1 > covered) covered = x1;
      this.soft(c, fx0, by, x1 - fx0, bh);
      if (hidden) continue;
      if (pal.hc) {
        // outlined bars: four 1px sides
        this.solid(c, x0, by, w, 1);
        this.solid(c, x0, by + bh - 1, w, 1);
        this.solid(c, x0, by, 1, bh);
        this.solid(c, x1 - 1, by, 1, bh);
      } else if (rx0 >= GUTTER - 4) this.solid(c, x0, by, Math.min(2, w), bh);
      if (open && rx1 <= W) this.solid(c, x1 - 1, by, 1, bh);
      this.lastDrawn++;
      if (tr.type === 'k8s' && fl[i] & F.WARN) {
        // overran: hatched
        const hx0 = fx0;
        const hx1 = x1;
        this.post.push(() => this.hatch(pal.orange, hx0, by, hx1 - hx0, bh));
      }
      if (tr.type === 'leaks') {
        const lx = x1;
        const show = rx1 <= W + 4;
        this.post.push(() => this.drawLeakEnd(fr, lx, by, bh, show));
      }
      if (!labelled) continue;
      const label = model.label(tr, i);
      const tx = Math.max(x0, GUTTER) + 6;
      const inside = Math.min(x1, W) - tx - (tr.type === 'leaks' ? 58 : 4);
      const tw = this.measure(label);
      const ty = by + bh / 2 + 0.5;
      if (tw <= inside || (inside > 60 && !sparse)) {
        this.post.push(() => {
          ctx.fillStyle = pal.fg;
          this.text(label, tx, ty, inside);
        });
      } else if (sparse) {
        // outside, up to the next bar in this row, when the whole label fits there; else
        // what fits inside (a long bar keeps most of its label), else the duration alone
        const nextX = j + 1 < wide.length ? Math.max(X(st[wide[j + 1]]), GUTTER) : W;
        const ox0 = Math.max(x1, GUTTER) + 4;
        const room = Math.min(nextX, W) - ox0 - 4;
        const short = model.shortLabel(tr, i);
        if (room >= tw || (room >= 40 && room >= inside)) {
          this.post.push(() => {
            ctx.fillStyle = pal.muted;
            this.text(label, ox0, ty, room);
          });
        } else if (inside > 60) {
          this.post.push(() => {
            ctx.fillStyle = pal.fg;
            this.text(label, tx, ty, inside);
          });
        } else if (short && this.measure(short) <= Math.max(inside, room)) {
          const outside = this.measure(short) > inside;
          this.post.push(() => {
            ctx.fillStyle = outside ? pal.muted : pal.fg;
            this.text(short, outside ? ox0 : tx, ty, Math.max(inside, room));
          });
        } else if (inside > 24) {
          this.post.push(() => {
            ctx.fillStyle = pal.fg;
            this.text(label, tx, ty, inside);
          });
        }
      }
    }
  }

  private hatch(color: string, x: number, y: number, w: number, h: number): void {
    const { ctx } = this;
    ctx.save();
    ctx.beginPath();
    ctx.rect(x, y, w, h);
    ctx.clip();
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5;
    ctx.globalAlpha = 0.7;
    ctx.beginPath();
    for (let xx = x - h; xx < x + w; xx += 7) {
      ctx.moveTo(xx, y + h);
      ctx.lineTo(xx + h, y);
    }
    ctx.stroke();
    ctx.restore();
  }

  private drawLeakEnd(fr: Frame, x: number, y: number, h: number, show: boolean): void {
    if (!show) return;
    const { ctx } = this;
    const { pal } = fr;
    this.setFont(fr.pal.fontBold);
    const label = 'LEAKED';
    const w = this.measure(label) + 10;
    const bx = x - w - 2;
    if (bx < GUTTER) {
      this.setFont(pal.font);
      return;
    }
    ctx.fillStyle = pal.red;
    roundRect(ctx, bx, y + 1, w, h - 2, 3);
    ctx.fill();
    ctx.fillStyle = pal.hc ? pal.bg : '#ffffff';
    ctx.fillText(label, bx + 5, y + h / 2 + 0.5);
    ctx.fillStyle = pal.red;
    ctx.fillRect(x - 2, y - 1, 2, h + 2);
    this.setFont(pal.font);
  }

  private drawTicks(fr: Frame, r: Row, y: number, X: (t: number) => number): void {
    const { ctx } = this;
    const { pal } = fr;
    const tr = r.track;
    const [i0, i1] = this.visible(fr, tr);
    const st = tr.start;
    const kd = tr.kind;
    const fl = tr.flags;
    // per colour: runs of adjacent occupied pixel columns → one rect each
    const runStart = new Int32Array(C.count).fill(-1e9);
    const runEnd = new Int32Array(C.count).fill(-1e9);
    const runs: number[][] = [];
    for (let c = 0; c < C.count; c++) runs.push([]);
    const mark = (c: number, x: number, xe: number): void => {
      const w = c === C.grey ? 1 : 2;
      if (x <= runEnd[c] + 1) {
        if (xe + w - 1 > runEnd[c]) runEnd[c] = xe + w - 1;
        return;
      }
      if (runStart[c] > -1e9) runs[c].push(runStart[c], runEnd[c]);
      runStart[c] = x;
      runEnd[c] = xe + w - 1;
    };
    if (i1 - i0 > LOD_MIN_ITEMS) {
      // many ticks: their union per colour from the track's level of detail (O(pixels))
      const lv = tr.lod.get(tr, levelFor(fr.view.scale), C.count, (i) => slot(tr.type, kd[i], fl[i]));
      const { t0, t1 } = fr.view;
      for (let c = 0; c < C.count; c++) {
        const sp = lv.spans[c];
        for (let q = firstSpanReaching(sp, t0); q < sp.length && sp[q] <= t1; q += 2) mark(c, X(sp[q]) | 0, X(sp[q + 1]) | 0);
      }
    } else
      for (let i = i0; i < i1; i++) {
        const x = X(st[i]) | 0;
        mark(slot(tr.type, kd[i], fl[i]), x, x);
      }
    const pad = 2;
    for (let c = 0; c < C.count; c++) {
      if (runStart[c] > -1e9) runs[c].push(runStart[c], runEnd[c]);
      const list = runs[c];
      const full = r.h - pad * 2;
      const hh = c === C.red || c === C.orange ? Math.max(3, Math.round(full * 0.5)) : full;
      for (let j = 0; j < list.length; j += 2) this.solid(c, list[j], y + pad + full - hh, list[j + 1] - list[j] + 1, hh);
      this.lastDrawn += list.length / 2;
    }
  }

  private drawCounts(fr: Frame, r: Row, y: number, X: (t: number) => number): void {
    const { ctx } = this;
    const { pal, view, model } = fr;
    const tr = r.track;
    const v = tr.value!;
    const n = tr.n;
    const st = tr.start;
    let i0 = lowerBound(st, n, view.t0) - 1;
    if (i0 < 0) i0 = 0;
    const i1 = Math.min(n, upperBound(st, n, view.t1) + 1);
    const max = Math.max(1, tr.vmax);
    const base = y + r.h - 3;
    const hgt = r.h - 8;
    const Y = (val: number): number => base - (val / max) * hgt;
    ctx.beginPath();
    ctx.moveTo(Math.max(GUTTER - 2, X(st[i0])), base);
    let lastX = -1e9;
    let colMax = 0;
    let prevY = base;
    let lastVal = 0;
    for (let i = i0; i < i1; i++) {
      const x = X(st[i]);
      const val = v[i];
      const col = Math.round(x);
      if (col === lastX) {
        if (val > colMax) {
          colMax = val;
          ctx.lineTo(x, Y(colMax));
        }
        lastVal = val;
        continue;
      }
      if (lastX > -1e9 && lastVal !== colMax) {
        ctx.lineTo(lastX + 0.5, Y(lastVal));
        prevY = Y(lastVal);
      }
      ctx.lineTo(Math.max(x, GUTTER - 2), prevY);
      const yy = Y(val);
      ctx.lineTo(Math.max(x, GUTTER - 2), yy);
      prevY = yy;
      lastX = col;
      colMax = val;
      lastVal = val;
    }
    const endT = Math.min(view.t1, model.openEnd(tr.lane));
    const xe = X(endT);
    if (xe > X(st[i1 - 1])) ctx.lineTo(xe, prevY);
    ctx.lineTo(Math.max(xe, X(st[i1 - 1])), base);
    ctx.closePath();
    ctx.fillStyle = pal.blueSoft;
    ctx.fill();
    ctx.strokeStyle = pal.blue;
    ctx.lineWidth = 1.25;
    ctx.stroke();
    // max label
    ctx.fillStyle = pal.muted;
    this.setFont(pal.fontSmall);
    ctx.fillText(`max ${tr.vmax}`, GUTTER + 4, y + 8);
    this.setFont(pal.font);
    this.lastDrawn += i1 - i0;
  }

  /** Instants with labels: signals, exits, errors, deadline, kill; and the lifecycle bar. */
  private drawMarkers(fr: Frame, r: Row, y: number, X: (t: number) => number): void {
    const { ctx } = this;
    const { pal, model } = fr;
    const tr = r.track;
    const [i0, i1] = this.visible(fr, tr);
    const W = fr.width;
    // lifecycle bars first
    const isRun = tr.type === 'run';
    if (isRun) this.drawGrace(fr, r, y, X);
    for (let i = i0; i < i1; i++) {
      if (!(tr.flags[i] & F.LIFE)) continue;
      let e = tr.end[i];
      const open = e === Infinity;
      if (open) e = model.openEnd(tr.lane);
      const x0 = Math.max(GUTTER - 2, X(tr.start[i]));
      const x1 = Math.min(W + 2, X(e));
      const by = y + r.h - 10;
      ctx.fillStyle = pal.greySoft;
      ctx.fillRect(x0, by, Math.max(1, x1 - x0), 6);
      ctx.fillStyle = pal.grey;
      if (X(tr.start[i]) >= GUTTER - 2) ctx.fillRect(x0, by - 3, 2, 12);
      this.boxes.push({ tr, i, x: x0, y: by - 3, w: Math.max(2, x1 - x0), h: 12 });
    }
    // markers: lines and heads first, then labels by priority on up to two levels
    const pillH = 16;
    const lineTop = y + 2;
    const lineBot = y + r.h - 2;
    const headY = y + r.h - 7;
    let dense = -1e9;
    const cands: { i: number; x: number; color: string; prio: number }[] = [];
    for (let i = i0; i < i1; i++) {
      const f = tr.flags[i];
      if (f & F.LIFE) continue;
      const k = tr.kind[i];
      const x = Math.round(X(tr.start[i]));
      if (x < GUTTER - 8 || x > W + 8) continue;
      const color = markerColor(pal, tr, i, model);
      const prio = markerPrio(model, tr, i);
      if (prio < 0) {
        // small tick for notes, spawns, snapshots
        if (x === dense) continue;
        dense = x;
        ctx.fillStyle = color;
        ctx.fillRect(x - 1, y + r.h - 14, 2, 10);
        this.boxes.push({ tr, i, x: x - 4, y: y + r.h - 14, w: 8, h: 10 });
        continue;
      }
      ctx.fillStyle = color;
      if (k === K.deadline) {
        for (let yy = lineTop; yy < lineBot; yy += 5) ctx.fillRect(x - 1, yy, 2, 3);
      } else ctx.fillRect(x - 1, lineTop, 2, lineBot - lineTop);
      ctx.beginPath();
      ctx.moveTo(x, headY - 4);
      ctx.lineTo(x + 4, headY);
      ctx.lineTo(x, headY + 4);
      ctx.lineTo(x - 4, headY);
      ctx.closePath();
      ctx.fill();
      if (cands.length < 200) cands.push({ i, x, color, prio });
      else this.boxes.push({ tr, i, x: x - 5, y: lineTop, w: 10, h: lineBot - lineTop });
    }
    cands.sort((a, b) => a.prio - b.prio || a.x - b.x);
    const levels = r.h >= 38 ? 2 : 1;
    const taken: number[][] = [[], []];
    const free = (lv: number, a: number, b: number): boolean => {
      const t = taken[lv];
      for (let j = 0; j < t.length; j += 2) if (a < t[j + 1] && b > t[j]) return false;
      return true;
    };
    this.setFont(pal.fontBold);
    for (const c of cands) {
      const { i, x, color } = c;
      const label = model.label(tr, i);
      const tw = Math.min(this.measure(label), 220);
      const pw = tw + 10;
      let placed = false;
      let box: Box = { tr, i, x: x - 5, y: lineTop, w: 10, h: lineBot - lineTop };
      for (let lv = 0; lv < levels && !placed; lv++) {
        for (const side of [1, -1]) {
          const px = side > 0 ? x + 4 : x - 4 - pw;
          if (px < GUTTER + 1 || px + pw > W - 1) continue;
          if (!free(lv, px - 3, px + pw + 3)) continue;
          taken[lv].push(px - 3, px + pw + 3);
          const py = y + 2 + lv * (pillH + 2);
          ctx.fillStyle = pal.hc ? pal.bg : color;
          roundRect(ctx, px, py, pw, pillH, 3);
          ctx.fill();
          if (pal.hc) {
            ctx.strokeStyle = color;
            ctx.lineWidth = 1;
            ctx.stroke();
          }
          ctx.fillStyle = pal.hc ? pal.fg : '#ffffff';
          this.text(label, px + 5, py + pillH / 2 + 0.5, tw + 1);
          const bx0 = Math.min(px, x - 5);
          const bx1 = Math.max(px + pw, x + 5);
          box = { tr, i, x: bx0, y: Math.min(py, lineTop), w: bx1 - bx0, h: lineBot - Math.min(py, lineTop) };
          placed = true;
          break;
        }
      }
      this.boxes.push(box);
    }
    this.setFont(pal.font);
  }

  private drawGrace(fr: Frame, r: Row, y: number, X: (t: number) => number): void {
    const { ctx } = this;
    const { model, pal } = fr;
    const s = model.graceStart();
    if (s !== s) return;
    const k8s = model.k8sKillT === model.k8sKillT;
    const dl = model.deadlineT;
    const end = k8s ? model.k8sKillT : dl === dl ? dl : s + model.graceMs;
    if (!(end > s)) return;
    const x0 = Math.max(GUTTER - 2, X(s));
    const x1 = Math.min(fr.width + 2, X(end));
    if (x1 <= x0) return;
    const by = y + r.h - 10;
    ctx.fillStyle = pal.yellowSoft;
    ctx.fillRect(x0, by, x1 - x0, 6);
    if (x1 - x0 > 120) {
      ctx.fillStyle = pal.muted;
      this.setFont(pal.fontSmall);
      if (k8s) {
        // under the marker pills (termination start, SIGKILL due), just above the bar
        const lx = Math.max(x0, GUTTER) + 8;
        this.text(`grace period ${fmtDur(end - s)} from termination start → SIGKILL`, lx, by - 6, x1 - lx - 8);
      } else this.text(`grace period ${fmtDur(model.graceMs > 0 ? model.graceMs : end - s)}`, Math.max(x0, GUTTER) + 4, y + 8, x1 - Math.max(x0, GUTTER) - 80);
      this.setFont(pal.font);
    }
  }

  /** Full-height lines: signals sent, grace deadline, SIGKILL, "now" while live. */
  private drawOverlays(fr: Frame, X: (t: number) => number, H: number): void {
    const { ctx } = this;
    const { model, pal } = fr;
    const W = fr.width;
    const vline = (t: number, color: string, w: number, dash: boolean): void => {
      const x = Math.round(X(t));
      if (x < GUTTER || x > W) return;
      ctx.fillStyle = color;
      if (dash) for (let yy = AXIS_H; yy < H; yy += 7) ctx.fillRect(x - w / 2, yy, w, 4);
      else ctx.fillRect(x - w / 2, AXIS_H, w, H - AXIS_H);
    };
    ctx.globalAlpha = pal.hc ? 1 : 0.55;
    for (const t of model.signalTs) vline(t, pal.blue, 1, false);
    ctx.globalAlpha = 1;
    if (model.deadlineT === model.deadlineT) vline(model.deadlineT, pal.orange, 2, true);
    if (model.killT === model.killT) vline(model.killT, pal.red, 2, false);
    if (model.live) vline(model.now, pal.focus, 1, true);
  }

  private drawHighlights(fr: Frame, X: (t: number) => number, top: number): void {
    const { ctx } = this;
    const { pal, model } = fr;
    const rowOf = new Map<Track, Row>();
    for (const r of model.rows) rowOf.set(r.track, r);
    const outline = (tr: Track, i: number, color: string, lw: number): void => {
      const r = rowOf.get(tr);
      if (!r) return;
      const y = top + r.y;
      const b = this.boxes.find((bx) => bx.tr === tr && bx.i === i);
      let x0: number, x1: number, y0 = y + 1, h = r.h - 2;
      if (b) {
        x0 = b.x;
        x1 = b.x + b.w;
        y0 = b.y;
        h = b.h;
      } else {
        let e = tr.end[i];
        if (e !== e) e = tr.start[i];
        else if (e === Infinity) e = model.openEnd(tr.lane);
        x0 = X(tr.start[i]);
        x1 = X(e);
        if (x1 - x0 < 6) {
          const c = (x0 + x1) / 2;
          x0 = c - 3;
          x1 = c + 3;
        }
        x0 = Math.max(x0, GUTTER - 3);
        x1 = Math.min(x1, fr.width + 3);
      }
      ctx.strokeStyle = color;
      ctx.lineWidth = lw;
      ctx.strokeRect(x0 - 1.5, y0 - 1.5, x1 - x0 + 3, h + 3);
    };
    for (const ev of fr.evidence) outline(ev.tr, ev.i, pal.focus, 1.5);
    if (fr.selected) for (const s of fr.selected) outline(s.tr, s.i, pal.select, 2);
    if (fr.hover) outline(fr.hover.tr, fr.hover.i, pal.focus, 1);
  }

  private drawAxis(fr: Frame, X: (t: number) => number, step: number, W: number): void {
    const { ctx } = this;
    const { pal, view, model } = fr;
    ctx.fillStyle = pal.bg;
    ctx.fillRect(0, 0, W, AXIS_H);
    ctx.fillStyle = pal.gutter;
    ctx.fillRect(0, 0, W, AXIS_H);
    ctx.fillStyle = pal.border;
    ctx.fillRect(0, AXIS_H - 1, W, 1);
    this.setFont(pal.fontSmall);
    ctx.textBaseline = 'middle';
    const firstTick = Math.ceil(view.t0 / step) * step;
    for (let t = firstTick, n = 0; t <= view.t1 && n < 200; t += step, n++) {
      const x = Math.round(X(t));
      if (x < GUTTER) continue;
      ctx.fillStyle = pal.faint;
      ctx.fillRect(x, AXIS_H - 6, 1, 5);
      ctx.fillStyle = pal.muted;
      const s = fmtTick(Math.abs(t) < step / 1e6 ? 0 : t, step);
      const w = this.measure(s);
      if (x + 3 + w < W) ctx.fillText(s, x + 3, AXIS_H / 2);
    }
    // signal / deadline / kill flags on the axis
    const flag = (t: number, color: string): void => {
      const x = Math.round(X(t));
      if (x < GUTTER || x > W) return;
      ctx.fillStyle = color;
      ctx.beginPath();
      ctx.moveTo(x - 5, AXIS_H - 7);
      ctx.lineTo(x + 5, AXIS_H - 7);
      ctx.lineTo(x, AXIS_H - 1);
      ctx.closePath();
      ctx.fill();
    };
    for (const t of model.signalTs) flag(t, pal.blue);
    if (model.deadlineT === model.deadlineT) flag(model.deadlineT, pal.orange);
    if (model.killT === model.killT) flag(model.killT, pal.red);
    // gutter corner
    ctx.fillStyle = pal.gutter;
    ctx.fillRect(0, 0, GUTTER, AXIS_H - 1);
    ctx.fillStyle = pal.muted;
    ctx.fillText(model.live ? 'time since start · live' : 'time since start', 10, AXIS_H / 2);
    this.setFont(pal.font);
  }

  private drawGutter(fr: Frame, top: number, H: number): void {
    const { ctx } = this;
    const { pal, model } = fr;
    ctx.save();
    ctx.beginPath();
    ctx.rect(0, AXIS_H, GUTTER, H - AXIS_H);
    ctx.clip();
    ctx.fillStyle = pal.gutter;
    ctx.fillRect(0, AXIS_H, GUTTER, H - AXIS_H);
    ctx.fillStyle = pal.border;
    ctx.fillRect(GUTTER - 1, AXIS_H, 1, H - AXIS_H);
    let lane: Lane | null = null;
    for (const r of model.rows) {
      const y = top + r.y;
      if (r.header && r.y > 0) {
        ctx.fillStyle = pal.border;
        ctx.fillRect(0, y - 3, fr.width, 1);
      }
      if (y > H || y + r.h < AXIS_H) {
        lane = r.lane;
        continue;
      }
      const indent = 10 + (r.lane ? r.lane.depth * 12 : 0);
      if (r.header) {
        this.setFont(pal.fontBold);
        ctx.fillStyle = pal.fg;
        let x = indent;
        if (r.lane) {
          const l = r.lane;
          const ex = l.info.exit;
          const c = ex ? (ex.signal || ex.code !== 0 ? pal.red : pal.green) : model.live ? pal.blue : pal.grey;
          ctx.fillStyle = c;
          ctx.beginPath();
          ctx.arc(x + 4, y + r.h / 2, 4, 0, Math.PI * 2);
          ctx.fill();
          x += 13;
          ctx.fillStyle = pal.fg;
        }
        let right = GUTTER - 8;
        // A narrow gutter keeps the name; the pid is in the process's tooltip and details.
        if (r.lane && GUTTER >= GUTTER_WIDE) {
          this.setFont(pal.fontSmall);
          const pid = String(r.lane.pid);
          const pw = this.measure(pid);
          ctx.fillStyle = pal.muted;
          ctx.fillText(pid, GUTTER - 8 - pw, y + r.h / 2);
          right -= pw + 8;
          this.setFont(pal.fontBold);
          ctx.fillStyle = pal.fg;
        }
        if (r.track.type === 'loadmarks') {
          this.text(r.label, x, y + 9, right - x);
          this.setFont(pal.fontSmall);
          ctx.fillStyle = pal.muted;
          this.text(model.loadCountsText(), x, y + 22, GUTTER - 8 - x);
        } else this.text(r.label, x, y + r.h / 2, right - x);
        this.setFont(pal.font);
      } else if (r.first && r.label) {
        ctx.fillStyle = r.track.type === 'leaks' ? pal.red : pal.muted;
        this.setFont(r.track.type === 'leaks' ? pal.fontBold : r.h < 16 ? pal.fontSmall : pal.font);
        this.text(r.label, indent + 13, y + Math.min(r.h, 18) / 2 + 0.5, GUTTER - indent - 20);
        this.setFont(pal.font);
      }
      lane = r.lane;
    }
    void lane;
    ctx.restore();
  }
}

function markerColor(p: Palette, tr: Track, i: number, model: Model): string {
  const k = tr.kind[i];
  const f = tr.flags[i];
  switch (k) {
    case K.signal:
      return f & F.SENT ? p.blue : p.purple;
    case K.kill:
      return p.red;
    case K.deadline:
      return p.orange;
    case K.k8s:
      return f & F.WARN ? p.orange : p.purple;
    case K.error:
      return p.red;
    case K.exit:
      if (f & F.BAD) return p.red;
      if (f & F.WARN) return p.orange;
      return p.green;
    default:
      void model;
      return f & F.WARN ? p.orange : p.grey;
  }
}

/** Label priority of a marker in the lane/run rows; -1 = a small unlabelled tick. */
function markerPrio(model: Model, tr: Track, i: number): number {
  const k = tr.kind[i];
  const ev = model.events[tr.ref[i]];
  switch (k) {
    case K.exit:
      return tr.flags[i] & F.COMPUTED || ev?.kind === 'process-exit' ? 0 : 3;
    case K.kill:
      return 0;
    case K.signal:
      return ev && 'nth' in ev && ev.nth > 1 ? 2 : 1;
    case K.deadline:
      return 1;
    case K.k8s:
      return 1;
    case K.error:
      return 2;
    case K.process:
      return ev && (ev.kind === 'load-start' || ev.kind === 'load-summary') ? 3 : -1;
    default:
      return -1;
  }
}

function roundRect(ctx: CanvasRenderingContext2D, x: number, y: number, w: number, h: number, r: number): void {
  ctx.beginPath();
  ctx.moveTo(x + r, y);
  ctx.lineTo(x + w - r, y);
  ctx.quadraticCurveTo(x + w, y, x + w, y + r);
  ctx.lineTo(x + w, y + h - r);
  ctx.quadraticCurveTo(x + w, y + h, x + w - r, y + h);
  ctx.lineTo(x + r, y + h);
  ctx.quadraticCurveTo(x, y + h, x, y + h - r);
  ctx.lineTo(x, y + r);
  ctx.quadraticCurveTo(x, y, x + r, y);
  ctx.closePath();
}

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
