/** Mouse, wheel and keyboard: zoom, pan, drag, hover tooltips, clicks on items, keys. */
import type { App } from '../app';
import { F } from '../model';
import { hitTest, GUTTER, AXIS_H } from '../render';
import { el, clear, fmtDur, fmtAt, displayText } from '../util';
import { ZOOM_STEP, rel, type Loc } from './shared';

// ---------------------------------------------------------------- interaction

export function wire(a: App): void {
  const tl = a.timeline;
  new ResizeObserver(() => {
    a.sizeDirty = true;
    if (!a.model) return;
    a.invalidate();
  }).observe(tl);
  // VS Code changes the theme by body class and by the --vscode-* variables on <html>
  const themeObserver = new MutationObserver(() => a.refreshPalette());
  themeObserver.observe(document.body, { attributes: true, attributeFilter: ['class'] });
  themeObserver.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
  const mq = window.matchMedia?.('(prefers-color-scheme: dark)');
  mq?.addEventListener?.('change', () => a.refreshPalette());

  tl.addEventListener('scroll', () => {
    a.scrollY = tl.scrollTop;
    a.invalidate();
    a.saveStateSoon();
  });

  tl.addEventListener(
    'wheel',
    (e: WheelEvent) => {
      if (!a.model) return;
      e.preventDefault();
      let dx = e.deltaX;
      let dy = e.deltaY;
      if (e.deltaMode === 1) {
        dx *= 16;
        dy *= 16;
      } else if (e.deltaMode === 2) {
        dx *= a.cssW;
        dy *= a.cssH;
      }
      if (e.shiftKey && !e.ctrlKey && !e.metaKey) {
        tl.scrollTop += dy || dx;
        return;
      }
      if (!e.ctrlKey && !e.metaKey && Math.abs(dx) > Math.abs(dy)) {
        a.panBy(dx);
        return;
      }
      const rect = tl.getBoundingClientRect();
      const x = e.clientX - rect.left - GUTTER;
      const anchor = x >= 0 ? a.view.t(x) : (a.view.t0 + a.view.t1) / 2;
      a.zoomBy(Math.exp(-dy * (e.ctrlKey ? 0.01 : 0.002)), anchor);
    },
    { passive: false },
  );

  let drag: { x: number; y: number; t0: number; t1: number; st: number; moved: boolean; id: number } | null = null;
  tl.addEventListener('pointerdown', (e: PointerEvent) => {
    if (!a.model || e.button !== 0) return;
    const rect = tl.getBoundingClientRect();
    if (e.clientX - rect.left >= tl.clientWidth) return; // scrollbar
    drag = { x: e.clientX, y: e.clientY, t0: a.view.t0, t1: a.view.t1, st: tl.scrollTop, moved: false, id: e.pointerId };
  });
  window.addEventListener('pointermove', (e: PointerEvent) => {
    if (drag && e.pointerId === drag.id) {
      const dx = e.clientX - drag.x;
      const dy = e.clientY - drag.y;
      if (!drag.moved && Math.abs(dx) + Math.abs(dy) > 4) {
        drag.moved = true;
        tl.classList.add('dragging');
        a.hideTooltip();
      }
      if (drag.moved) {
        const dt = (dx / a.view.width) * (drag.t1 - drag.t0);
        a.view.set(drag.t0 - dt, drag.t1 - dt, a.bounds());
        a.view.follow = false;
        tl.scrollTop = drag.st - dy;
        a.changed();
      }
      return;
    }
    a.onHover(e);
  });
  window.addEventListener('pointerup', (e: PointerEvent) => {
    if (!drag || e.pointerId !== drag.id) return;
    const d = drag;
    drag = null;
    tl.classList.remove('dragging');
    if (d.moved) return;
    // a click: the item under the pointer (the DOM item if one was hit, else the canvas)
    const target = e.target as HTMLElement | null;
    const item = target?.closest?.('.tl-item') as HTMLElement | null;
    if (item && tl.contains(item)) {
      a.select(item.dataset.key ?? null);
      return;
    }
    if (!tl.contains(target)) return;
    const hit = a.hitAt(e.clientX, e.clientY);
    a.select(hit ? a.model!.keyOf(hit.tr, hit.i) : null);
  });
  tl.addEventListener('pointerleave', () => {
    if (a.hoverRaf) cancelAnimationFrame(a.hoverRaf);
    a.hoverRaf = 0;
    if (a.hover) {
      a.hover = null;
      a.invalidate();
    }
    a.hideTooltip();
  });
  tl.addEventListener('dblclick', (e: MouseEvent) => {
    const hit = a.hitAt(e.clientX, e.clientY);
    if (hit) a.zoomTo([hit]);
  });
  // keyboard activation of items (Enter/Space → click with detail 0)
  a.itemsEl.addEventListener('click', (e: MouseEvent) => {
    if (e.detail !== 0) return;
    const item = (e.target as HTMLElement).closest('.tl-item') as HTMLElement | null;
    if (item) a.select(item.dataset.key ?? null);
  });
  a.itemsEl.addEventListener('focusin', (e: FocusEvent) => {
    const item = (e.target as HTMLElement).closest('.tl-item') as HTMLElement | null;
    if (!item) return;
    // keep the focused item visible under the sticky axis
    const top = item.offsetTop - tl.scrollTop;
    if (top < AXIS_H) tl.scrollTop = Math.max(0, item.offsetTop - AXIS_H - 8);
  });
  document.addEventListener('keydown', (e) => a.onKey(e));
}

export function hitAt(a: App, clientX: number, clientY: number): Loc | null {
  const fr = a.frame();
  if (!fr) return null;
  const rect = a.timeline.getBoundingClientRect();
  return hitTest(fr, a.renderer.boxes, clientX - rect.left, clientY - rect.top);
}

export function onHover(a: App, e: PointerEvent): void {
  if (!a.model) return;
  const tl = a.timeline;
  const rect = tl.getBoundingClientRect();
  if (e.clientX < rect.left || e.clientX > rect.right || e.clientY < rect.top || e.clientY > rect.bottom) {
    if (a.hoverRaf) cancelAnimationFrame(a.hoverRaf);
    a.hoverRaf = 0;
    if (a.hover) {
      a.hover = null;
      a.invalidate();
    }
    a.hideTooltip();
    return;
  }
  const cx = e.clientX;
  const cy = e.clientY;
  if (a.hoverRaf) cancelAnimationFrame(a.hoverRaf);
  a.hoverRaf = requestAnimationFrame(() => {
    a.hoverRaf = 0;
    const hit = a.hitAt(cx, cy);
    const same = hit && a.hover && hit.tr === a.hover.tr && hit.i === a.hover.i;
    if (!same) {
      a.hover = hit;
      a.invalidate();
    }
    if (hit) a.showTooltip(hit, cx, cy);
    else a.hideTooltip();
  });
}

export function showTooltip(a: App, l: Loc, cx: number, cy: number): void {
  const m = a.model!;
  const { tr, i } = l;
  const tt = a.tooltip;
  clear(tt);
  const lines: string[] = [];
  const s = tr.start[i];
  let e = tr.end[i];
  if (tr.type === 'counts') {
    lines.push(`at ${fmtAt(s)}`);
    tt.append(el('div', { class: 'st-tt-title', text: `${tr.value![i]} live handles` }));
  } else {
    tt.append(el('div', { class: 'st-tt-title', text: m.label(tr, i) }));
    if (e !== e) lines.push(`at ${fmtAt(s)}${rel(m, s)}`);
    else {
      if (e === Infinity) e = NaN;
      lines.push(`${fmtAt(s)} → ${e === e ? fmtAt(e) : m.live ? 'now' : 'end'}${rel(m, s)}`);
      if (e === e) lines.push(`duration ${fmtDur(e - s)}`);
    }
    const k = m.keyOf(tr, i);
    if (k.startsWith('o:')) {
      const o = m.trace.output[Number(k.slice(2))];
      if (o) tt.append(el('pre', { class: 'st-tt-pre', text: displayText(o.text, 600, false) }));
    }
    if (tr.flags[i] & F.LEAK) lines.push('leaked: never closed, kept the process alive');
    lines.push(...m.tipLines(tr, i));
  }
  for (const line of lines) tt.append(el('div', { class: 'st-tt-line', text: line }));
  tt.hidden = false;
  const w = tt.offsetWidth;
  const h = tt.offsetHeight;
  let x = cx + 14;
  let y = cy + 16;
  if (x + w > window.innerWidth - 4) x = Math.max(4, cx - w - 10);
  if (y + h > window.innerHeight - 4) y = Math.max(4, cy - h - 10);
  tt.style.left = x + 'px';
  tt.style.top = y + 'px';
}

export function hideTooltip(a: App): void {
  if (!a.tooltip.hidden) a.tooltip.hidden = true;
}

export function onKey(a: App, e: KeyboardEvent): void {
  if (!a.model) return;
  if (e.altKey || e.ctrlKey || e.metaKey) return;
  const target = e.target as HTMLElement | null;
  if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
  const inTimeline = !!target && (target === document.body || a.timeline.contains(target) || a.toolbar.contains(target));
  switch (e.key) {
    case '+':
    case '=':
      a.zoomBy(ZOOM_STEP);
      break;
    case '-':
    case '_':
      a.zoomBy(1 / ZOOM_STEP);
      break;
    case '0':
    case 'f':
    case 'F':
      a.fit();
      break;
    case 'ArrowLeft':
      if (!inTimeline) return;
      a.panBy(-a.view.width * (e.shiftKey ? 0.5 : 0.1));
      break;
    case 'ArrowRight':
      if (!inTimeline) return;
      a.panBy(a.view.width * (e.shiftKey ? 0.5 : 0.1));
      break;
    case 'ArrowUp':
      if (!inTimeline) return;
      a.timeline.scrollTop -= 40;
      break;
    case 'ArrowDown':
      if (!inTimeline) return;
      a.timeline.scrollTop += 40;
      break;
    case 'Home': {
      if (!inTimeline) return;
      const [lo] = a.model.extent();
      a.view.set(lo - a.view.span * 0.03, lo + a.view.span * 0.97, a.bounds());
      a.view.follow = false;
      a.changed();
      break;
    }
    case 'End': {
      if (!inTimeline) return;
      const [, hi] = a.model.extent();
      a.view.set(hi - a.view.span * 0.97, hi + a.view.span * 0.03, a.bounds());
      a.changed();
      break;
    }
    case 'Escape':
      if (a.selection || a.evidenceKeys.length) a.select(null);
      a.hideTooltip();
      break;
    case 'l':
    case 'L':
      a.nextLeak(e.shiftKey ? -1 : 1);
      break;
    default:
      return;
  }
  e.preventDefault();
}
