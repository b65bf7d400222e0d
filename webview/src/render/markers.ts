/** Rows of labelled markers (signals, exits, the deadline, SIGKILL), process lifecycles and the grace period. */
import { K, F, type Row, type Model, type Track } from '../model';
import type { Renderer } from '../render';
import { GUTTER, type Box, type Frame } from './geometry';
import type { Palette } from '../theme';
import { fmtDur } from '../util';

export function drawMarkers(rd: Renderer, fr: Frame, r: Row, y: number, X: (t: number) => number): void {
  const { ctx } = rd;
  const { pal, model } = fr;
  const tr = r.track;
  const [i0, i1] = rd.visible(fr, tr);
  const W = fr.width;
  // lifecycle bars first
  const isRun = tr.type === 'run';
  if (isRun) drawGrace(rd, fr, r, y, X);
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
    rd.boxes.push({ tr, i, x: x0, y: by - 3, w: Math.max(2, x1 - x0), h: 12 });
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
      rd.boxes.push({ tr, i, x: x - 4, y: y + r.h - 14, w: 8, h: 10 });
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
    else rd.boxes.push({ tr, i, x: x - 5, y: lineTop, w: 10, h: lineBot - lineTop });
  }
  cands.sort((a, b) => a.prio - b.prio || a.x - b.x);
  const levels = r.h >= 38 ? 2 : 1;
  const taken: number[][] = [[], []];
  const free = (lv: number, a: number, b: number): boolean => {
    const t = taken[lv];
    for (let j = 0; j < t.length; j += 2) if (a < t[j + 1] && b > t[j]) return false;
    return true;
  };
  rd.setFont(pal.fontBold);
  for (const c of cands) {
    const { i, x, color } = c;
    const label = model.label(tr, i);
    const tw = Math.min(rd.measure(label), 220);
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
        rd.text(label, px + 5, py + pillH / 2 + 0.5, tw + 1);
        const bx0 = Math.min(px, x - 5);
        const bx1 = Math.max(px + pw, x + 5);
        box = { tr, i, x: bx0, y: Math.min(py, lineTop), w: bx1 - bx0, h: lineBot - Math.min(py, lineTop) };
        placed = true;
        break;
      }
    }
    rd.boxes.push(box);
  }
  rd.setFont(pal.font);
}

export function drawGrace(rd: Renderer, fr: Frame, r: Row, y: number, X: (t: number) => number): void {
  const { ctx } = rd;
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
    rd.setFont(pal.fontSmall);
    if (k8s) {
      // under the marker pills (termination start, SIGKILL due), just above the bar
      const lx = Math.max(x0, GUTTER) + 8;
      rd.text(`grace period ${fmtDur(end - s)} from termination start → SIGKILL`, lx, by - 6, x1 - lx - 8);
    } else rd.text(`grace period ${fmtDur(model.graceMs > 0 ? model.graceMs : end - s)}`, Math.max(x0, GUTTER) + 4, y + 8, x1 - Math.max(x0, GUTTER) - 80);
    rd.setFont(pal.font);
  }
}

/** Full-height lines: signals sent, grace deadline, SIGKILL, "now" while live. */

export function markerColor(p: Palette, tr: Track, i: number, model: Model): string {
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
export function markerPrio(model: Model, tr: Track, i: number): number {
  const k = tr.kind[i];
  const ev = model.ev(tr.ref[i]);
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

export function roundRect(ctx: CanvasRenderingContext2D, x: number, y: number, w: number, h: number, r: number): void {
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
