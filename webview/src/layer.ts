/**
 * The accessible item layer: transparent, focusable buttons laid over the canvas, one per
 * visible item (`[data-testid=tl-item]`), capped so the DOM stays small at any trace size.
 * Important kinds first (signals, kill, deadline, exits, leaks, phases), then an even sample
 * of the dense tracks. Their text is the label a user reads on the canvas.
 */
import { Track, K, KIND_NAME, F } from './model';
import { Frame, Box, AXIS_H, GUTTER } from './render';
import { upperBound } from './util';

export const MAX_ITEMS = 300;

interface Entry {
  t: number;
  key: string;
  kind: string;
  text: string;
  x: number;
  y: number;
  w: number;
  h: number;
  order: number;
}

const IMPORTANT: Record<string, number> = { run: 0, k8s: 0, lane: 1, leaks: 2, phases: 3, listeners: 4, server: 5, loadmarks: 6 };
const DENSE = new Set(['load', 'requests', 'handles', 'conns', 'logs']);
/** Failed load requests (an outcome other than ok or refused) listed before the even sample of the rest, up to this many. */
const MAX_FAILED_ITEMS = 60;

export class ItemLayer {
  private pool: HTMLButtonElement[] = [];
  private used = 0;
  count = 0;

  constructor(readonly root: HTMLElement) {}

  /** Mark the selection on the items already listed (no re-layout). */
  markSelected(key: string | null): void {
    for (let j = 0; j < this.used; j++) markPressed(this.pool[j], this.pool[j].dataset.key === key);
  }

  sync(fr: Frame, boxes: Box[], selectedKey: string | null): void {
    const { model, view } = fr;
    model.layout();
    const k = view.scale;
    const ox = GUTTER - view.t0 * k;
    const X = (t: number): number => ox + t * k;
    const W = fr.width;
    const boxOf = new Map<Track, Map<number, Box>>();
    for (const b of boxes) {
      let m = boxOf.get(b.tr);
      if (!m) boxOf.set(b.tr, (m = new Map()));
      m.set(b.i, b);
    }
    const entries: Entry[] = [];
    const seen = new Set<string>();
    const add = (tr: Track, i: number, rowIdx: number, ry: number, rh: number): void => {
      const key = model.keyOf(tr, i);
      const kind = KIND_NAME[tr.kind[i]];
      const dedupe = key + '|' + kind;
      if (seen.has(dedupe)) return;
      let x: number,
        w: number,
        y = AXIS_H + ry + 1,
        h = rh - 2;
      const b = boxOf.get(tr)?.get(i);
      if (b) {
        x = b.x;
        w = b.w;
        y = b.y + fr.scrollTop;
        h = b.h;
      } else {
        let e = tr.end[i];
        if (e !== e) e = tr.start[i];
        else if (e === Infinity) e = model.openEnd(tr.lane);
        let x0 = X(tr.start[i]);
        let x1 = X(e);
        if (x1 - x0 < 8) {
          const c = (x0 + x1) / 2;
          x0 = c - 4;
          x1 = c + 4;
        }
        x0 = Math.max(GUTTER, x0);
        x1 = Math.min(W, x1);
        if (x1 - x0 < 2) return;
        x = x0;
        w = x1 - x0;
      }
      seen.add(dedupe);
      entries.push({ t: tr.start[i], key, kind, text: model.label(tr, i), x, y, w, h, order: rowIdx * 1e7 + Math.max(0, Math.min(9e6, x)) });
    };
    const rows = model.rows;
    const dense: { tr: Track; r: number; i0: number; i1: number }[] = [];
    const important = rows
      .map((r, idx) => ({ r, idx }))
      .filter(({ r }) => r.track.type in IMPORTANT)
      .sort((a, b) => IMPORTANT[a.r.track.type] - IMPORTANT[b.r.track.type] || a.idx - b.idx);
    for (const { r, idx } of important) {
      const tr = r.track;
      if (!tr.n) continue;
      tr.ensure();
      const i0 = tr.firstReaching(view.t0);
      const i1 = upperBound(tr.start, tr.n, view.t1);
      // within a row: the most important kinds first
      const idxs: number[] = [];
      for (let i = i0; i < i1 && idxs.length < 400; i++) {
        let e = tr.end[i];
        if (e !== e) e = tr.start[i];
        else if (e === Infinity) e = model.openEnd(tr.lane);
        if (e < view.t0) continue;
        idxs.push(i);
      }
      idxs.sort((a, b) => rank(tr, a) - rank(tr, b));
      let taken = 0;
      for (const i of idxs) {
        if (entries.length >= MAX_ITEMS || taken >= 80) break;
        add(tr, i, idx, r.y, r.h);
        taken++;
      }
    }
    // load traffic: failed requests first (errors must stay reachable however dense the traffic;
    // which of them were lost is the analysis' call, in their labels)
    let lostLeft = Math.min(MAX_FAILED_ITEMS, MAX_ITEMS - entries.length);
    rows.forEach((r, idx) => {
      const tr = r.track;
      if (tr.type !== 'load' || !tr.n) return;
      tr.ensure();
      const i1 = upperBound(tr.start, tr.n, view.t1);
      for (let i = tr.firstReaching(view.t0); i < i1 && lostLeft > 0; i++) {
        if (!(tr.flags[i] & (F.BAD | F.WARN)) || tr.end[i] < view.t0) continue;
        const before = entries.length;
        add(tr, i, idx, r.y, r.h);
        if (entries.length > before) lostLeft--;
      }
    });
    rows.forEach((r, idx) => {
      if (DENSE.has(r.track.type) && r.track.n) {
        const tr = r.track;
        tr.ensure();
        dense.push({ tr, r: idx, i0: tr.firstReaching(view.t0), i1: upperBound(tr.start, tr.n, view.t1) });
      }
    });
    // dense tracks: an even sample of each, sharing what is left of the budget
    let left = MAX_ITEMS - entries.length;
    for (let d = 0; d < dense.length && left > 0; d++) {
      const { tr, r, i0, i1 } = dense[d];
      const quota = Math.max(1, Math.floor(left / (dense.length - d)));
      const count = i1 - i0;
      if (count <= 0) continue;
      const stride = Math.max(1, count / quota);
      const row = rows[r];
      let taken = 0;
      for (let f = i0; f < i1 && taken < quota; f += stride) {
        const i = Math.floor(f);
        let e = tr.end[i];
        if (e !== e) e = tr.start[i];
        else if (e === Infinity) e = model.openEnd(tr.lane);
        if (e < view.t0) continue;
        const before = entries.length;
        add(tr, i, r, row.y, row.h);
        if (entries.length > before) taken++;
      }
      left = MAX_ITEMS - entries.length;
    }
    // Tab walks the items in time order (then top to bottom), as the story happened.
    entries.sort((a, b) => a.t - b.t || a.order - b.order);
    this.render(entries, selectedKey);
  }

  private render(entries: Entry[], selectedKey: string | null): void {
    this.used = 0;
    for (const e of entries) {
      let b = this.pool[this.used];
      if (!b) {
        b = document.createElement('button');
        b.type = 'button';
        b.className = 'tl-item';
        b.setAttribute('data-testid', 'tl-item');
        this.pool.push(b);
      }
      if (b.parentNode !== this.root) this.root.append(b);
      if (b.textContent !== e.text) b.textContent = e.text;
      if (b.dataset.kind !== e.kind) b.dataset.kind = e.kind;
      if (b.dataset.key !== e.key) b.dataset.key = e.key;
      const ts = String(Math.round(e.t * 1000) / 1000);
      if (b.dataset.t !== ts) b.dataset.t = ts;
      markPressed(b, e.key === selectedKey);
      const s = b.style;
      const L = e.x.toFixed(1) + 'px';
      const T = e.y.toFixed(1) + 'px';
      const Wd = Math.max(6, e.w).toFixed(1) + 'px';
      const Hd = Math.max(6, e.h).toFixed(1) + 'px';
      if (s.left !== L) s.left = L;
      if (s.top !== T) s.top = T;
      if (s.width !== Wd) s.width = Wd;
      if (s.height !== Hd) s.height = Hd;
      this.used++;
    }
    // keep DOM order == entries order (tab order follows time)
    for (let j = 0; j < this.used; j++) {
      const b = this.pool[j];
      if (this.root.children[j] !== b) this.root.insertBefore(b, this.root.children[j] ?? null);
    }
    for (let j = this.used; j < this.pool.length; j++) {
      const b = this.pool[j];
      if (b.parentNode) {
        if (document.activeElement === b) this.root.parentElement?.focus();
        b.remove();
      }
    }
    this.count = this.used;
  }
}

function markPressed(b: HTMLElement, sel: boolean): void {
  b.classList.toggle('selected', sel);
  b.setAttribute('aria-pressed', sel ? 'true' : 'false');
}

function rank(tr: Track, i: number): number {
  const k = tr.kind[i];
  if (tr.flags[i] & F.LIFE) return 6;
  switch (k) {
    case K.signal:
      return 0;
    case K.kill:
      return 0;
    case K.deadline:
    case K.k8s:
    case K.prestop:
      return 1;
    case K.exit:
      return 1;
    case K.leak:
      return 2;
    case K.error:
      return 2;
    case K.phase:
      return 3;
    case K.listener:
      return 4;
    default:
      return 5;
  }
}
