/** Rows of bars (intervals), ticks (instants) and the live-handle count series. */
import { F, type Row } from '../model';
import type { Renderer } from '../render';
import { GUTTER, type Frame } from './geometry';
import { C, slot, SPARSE, WIDE_PX, LOD_MIN_ITEMS, firstSpanReaching } from './slots';
import { roundRect } from './markers';
import { upperBound, lowerBound } from '../util';
import { levelFor } from '../model/lod';

/** Narrower than this inside a bar, a label would show no more than an ellipsis. */
const MIN_LABEL_PX = 24;

export function drawBars(rd: Renderer, fr: Frame, r: Row, y: number, X: (t: number) => number): void {
  const { ctx } = rd;
  const { pal, model, view } = fr;
  const tr = r.track;
  const [i0, i1] = rd.visible(fr, tr);
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
      if (warn) rd.solid(c, list[j], by + bh - hh, Math.max(1, list[j + 1] - list[j]), hh);
      // load traffic: short requests in solid outcome colours (soft fills vanish at 1 px)
      else if (tr.type === 'load') rd.solid(c, list[j], by + 1, Math.max(1, list[j + 1] - list[j]), bh - 2);
      else rd.soft(c, list[j], by, Math.max(1, list[j + 1] - list[j]), bh);
    }
    rd.lastDrawn += list.length / 2;
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
    rd.soft(c, fx0, by, x1 - fx0, bh);
    if (hidden) continue;
    if (pal.hc) {
      // outlined bars: four 1px sides
      rd.solid(c, x0, by, w, 1);
      rd.solid(c, x0, by + bh - 1, w, 1);
      rd.solid(c, x0, by, 1, bh);
      rd.solid(c, x1 - 1, by, 1, bh);
    } else if (rx0 >= GUTTER - 4) rd.solid(c, x0, by, Math.min(2, w), bh);
    if (open && rx1 <= W) rd.solid(c, x1 - 1, by, 1, bh);
    rd.lastDrawn++;
    if (tr.type === 'k8s' && fl[i] & F.WARN) {
      // overran: hatched
      const hx0 = fx0;
      const hx1 = x1;
      rd.post.push(() => hatch(rd, pal.orange, hx0, by, hx1 - hx0, bh));
    }
    if (tr.type === 'leaks') {
      const lx = x1;
      const show = rx1 <= W + 4;
      rd.post.push(() => drawLeakEnd(rd, fr, lx, by, bh, show));
    }
    if (!labelled) continue;
    const tx = Math.max(x0, GUTTER) + 6;
    const inside = Math.min(x1, W) - tx - (tr.type === 'leaks' ? 58 : 4);
    // a dense row's bar with no room for a word gets no label (nor the cost of making one)
    if (!sparse && inside < MIN_LABEL_PX) continue;
    const label = model.label(tr, i);
    const tw = rd.measure(label);
    const ty = by + bh / 2 + 0.5;
    if (tw <= inside || (inside > 60 && !sparse)) {
      rd.post.push(() => {
        ctx.fillStyle = pal.fg;
        rd.text(label, tx, ty, inside);
      });
    } else if (sparse) {
      // outside, up to the next bar in rd row, when the whole label fits there; else
      // what fits inside (a long bar keeps most of its label), else the duration alone
      const nextX = j + 1 < wide.length ? Math.max(X(st[wide[j + 1]]), GUTTER) : W;
      const ox0 = Math.max(x1, GUTTER) + 4;
      const room = Math.min(nextX, W) - ox0 - 4;
      const short = model.shortLabel(tr, i);
      if (room >= tw || (room >= 40 && room >= inside)) {
        rd.post.push(() => {
          ctx.fillStyle = pal.muted;
          rd.text(label, ox0, ty, room);
        });
      } else if (inside > 60) {
        rd.post.push(() => {
          ctx.fillStyle = pal.fg;
          rd.text(label, tx, ty, inside);
        });
      } else if (short && rd.measure(short) <= Math.max(inside, room)) {
        const outside = rd.measure(short) > inside;
        rd.post.push(() => {
          ctx.fillStyle = outside ? pal.muted : pal.fg;
          rd.text(short, outside ? ox0 : tx, ty, Math.max(inside, room));
        });
      } else if (inside > 24) {
        rd.post.push(() => {
          ctx.fillStyle = pal.fg;
          rd.text(label, tx, ty, inside);
        });
      }
    }
  }
}

export function hatch(rd: Renderer, color: string, x: number, y: number, w: number, h: number): void {
  const { ctx } = rd;
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

export function drawLeakEnd(rd: Renderer, fr: Frame, x: number, y: number, h: number, show: boolean): void {
  if (!show) return;
  const { ctx } = rd;
  const { pal } = fr;
  rd.setFont(fr.pal.fontBold);
  const label = 'LEAKED';
  const w = rd.measure(label) + 10;
  const bx = x - w - 2;
  if (bx < GUTTER) {
    rd.setFont(pal.font);
    return;
  }
  ctx.fillStyle = pal.red;
  roundRect(ctx, bx, y + 1, w, h - 2, 3);
  ctx.fill();
  ctx.fillStyle = pal.hc ? pal.bg : '#ffffff';
  ctx.fillText(label, bx + 5, y + h / 2 + 0.5);
  ctx.fillStyle = pal.red;
  ctx.fillRect(x - 2, y - 1, 2, h + 2);
  rd.setFont(pal.font);
}

export function drawTicks(rd: Renderer, fr: Frame, r: Row, y: number, X: (t: number) => number): void {
  const tr = r.track;
  const [i0, i1] = rd.visible(fr, tr);
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
    for (let j = 0; j < list.length; j += 2) rd.solid(c, list[j], y + pad + full - hh, list[j + 1] - list[j] + 1, hh);
    rd.lastDrawn += list.length / 2;
  }
}

export function drawCounts(rd: Renderer, fr: Frame, r: Row, y: number, X: (t: number) => number): void {
  const { ctx } = rd;
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
  rd.setFont(pal.fontSmall);
  ctx.fillText(`max ${tr.vmax}`, GUTTER + 4, y + 8);
  rd.setFont(pal.font);
  rd.lastDrawn += i1 - i0;
}

/** Instants with labels: signals, exits, errors, deadline, kill; and the lifecycle bar. */
