/** What frames the rows: full-height lines (signals, deadline, SIGKILL, now), selection outlines, the axis and the gutter. */
import type { Track, Row, Lane } from '../model';
import type { Renderer } from '../render';
import { GUTTER, GUTTER_WIDE, AXIS_H, type Frame } from './geometry';
import { fmtTick } from '../util';

export function drawOverlays(rd: Renderer, fr: Frame, X: (t: number) => number, H: number): void {
  const { ctx } = rd;
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

export function drawHighlights(rd: Renderer, fr: Frame, X: (t: number) => number, top: number): void {
  const { ctx } = rd;
  const { pal, model } = fr;
  const rowOf = new Map<Track, Row>();
  for (const r of model.rows) rowOf.set(r.track, r);
  const outline = (tr: Track, i: number, color: string, lw: number): void => {
    const r = rowOf.get(tr);
    if (!r) return;
    const y = top + r.y;
    const b = rd.boxes.find((bx) => bx.tr === tr && bx.i === i);
    let x0: number,
      x1: number,
      y0 = y + 1,
      h = r.h - 2;
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

export function drawAxis(rd: Renderer, fr: Frame, X: (t: number) => number, step: number, W: number): void {
  const { ctx } = rd;
  const { pal, view, model } = fr;
  ctx.fillStyle = pal.bg;
  ctx.fillRect(0, 0, W, AXIS_H);
  ctx.fillStyle = pal.gutter;
  ctx.fillRect(0, 0, W, AXIS_H);
  ctx.fillStyle = pal.border;
  ctx.fillRect(0, AXIS_H - 1, W, 1);
  rd.setFont(pal.fontSmall);
  ctx.textBaseline = 'middle';
  const firstTick = Math.ceil(view.t0 / step) * step;
  for (let t = firstTick, n = 0; t <= view.t1 && n < 200; t += step, n++) {
    const x = Math.round(X(t));
    if (x < GUTTER) continue;
    ctx.fillStyle = pal.faint;
    ctx.fillRect(x, AXIS_H - 6, 1, 5);
    ctx.fillStyle = pal.muted;
    const s = fmtTick(Math.abs(t) < step / 1e6 ? 0 : t, step);
    const w = rd.measure(s);
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
  rd.setFont(pal.font);
}

export function drawGutter(rd: Renderer, fr: Frame, top: number, H: number): void {
  const { ctx } = rd;
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
      rd.setFont(pal.fontBold);
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
        rd.setFont(pal.fontSmall);
        const pid = String(r.lane.pid);
        const pw = rd.measure(pid);
        ctx.fillStyle = pal.muted;
        ctx.fillText(pid, GUTTER - 8 - pw, y + r.h / 2);
        right -= pw + 8;
        rd.setFont(pal.fontBold);
        ctx.fillStyle = pal.fg;
      }
      if (r.track.type === 'loadmarks') {
        rd.text(r.label, x, y + 9, right - x);
        rd.setFont(pal.fontSmall);
        ctx.fillStyle = pal.muted;
        rd.text(model.loadCountsText(), x, y + 22, GUTTER - 8 - x);
      } else rd.text(r.label, x, y + r.h / 2, right - x);
      rd.setFont(pal.font);
    } else if (r.first && r.label) {
      ctx.fillStyle = r.track.type === 'leaks' ? pal.red : pal.muted;
      rd.setFont(r.track.type === 'leaks' ? pal.fontBold : r.h < 16 ? pal.fontSmall : pal.font);
      rd.text(r.label, indent + 13, y + Math.min(r.h, 18) / 2 + 0.5, GUTTER - indent - 20);
      rd.setFont(pal.font);
    }
    lane = r.lane;
  }
  void lane;
  ctx.restore();
}
