/**
 * The timeline app: owns the model, the viewport and the selection; wires the host messages,
 * the canvas renderer, the accessible item layer, the summary, the details pane and the
 * keyboard/mouse interaction. Frames are coalesced with requestAnimationFrame.
 */
import type { HostToWebview } from '../../src/shared/messages';
import type { Frame as StackFrame } from '../../src/shared/frames';
import type { Trace, TraceEvent, Finding, OutputLine } from '../../src/shared/trace';
import { Host } from './host';
import { Model, Track, HandleRec } from './model';
import type { ColumnEvents } from './model/columns';
import { Viewport } from './view';
import { Renderer, Frame, GUTTER, AXIS_H, setGutter, GUTTER_NARROW, GUTTER_WIDE } from './render';
import { ItemLayer } from './layer';
import { Summary } from './summary';
import { readPalette, Palette } from './theme';
import { el, clear, fmtDur, displayText } from './util';
import type { PanelAction } from '../../src/shared/messages';
import * as navigate from './app/navigate';
import * as selection from './app/selection';
import * as empty from './app/empty';
import * as input from './app/input';
import * as hooks from './app/hooks';
import * as load from './app/load';
import { ZOOM_STEP, type SavedState, type Loc } from './app/shared';

export interface Stats {
  /** Bundle started. */
  ready: boolean;
  /** Traces loaded so far. */
  loads: number;
  /** Events in the current model. */
  events: number;
  /** Model build time of the last trace load, ms. */
  buildMs: number;
  /** Message received → first frame drawn (synchronous work), ms. */
  loadMs: number;
  /** Message received → the animation frame after the first draw (≈ first paint), ms. */
  firstPaintMs: number;
  /** Last frame's draw time, ms. */
  frameMs: number;
  maxFrameMs: number;
  frames: number;
  /** Accessible item layer: items listed and the last sync time. */
  domItems: number;
  syncMs: number;
  /** Appends applied (live). */
  appends: number;
  appendMs: number;
  /** performance.now() when the first frame of the last trace was painted. */
  paintedAt: number;
}

export class App {
  readonly host = new Host();
  model: Model | null = null;
  readonly view = new Viewport();
  pal: Palette;
  selection: string | null = null;
  selLocs: Loc[] = [];
  evidenceKeys: string[] = [];
  evLocs: Loc[] = [];
  locVersion = -1;
  hover: Loc | null = null;
  traceKey = '';
  rafId = 0;
  layerTimer = 0;
  saveTimer = 0;
  summaryTimer = 0;
  cssW = 1;
  cssH = 1;
  /** Set by the ResizeObserver: measure() reads the DOM again. */
  sizeDirty = true;
  /** The timeline's scrollTop, kept by its scroll events (reading it in a frame would force a layout). */
  scrollY = 0;
  /** What Fit shows: the shutdown (signal → deadline), or the whole run (Fit again). */
  fitMode: 'shutdown' | 'all' = 'shutdown';
  hoverRaf = 0;
  readonly stats: Stats = {
    ready: false,
    loads: 0,
    events: 0,
    buildMs: 0,
    loadMs: 0,
    firstPaintMs: 0,
    frameMs: 0,
    maxFrameMs: 0,
    frames: 0,
    domItems: 0,
    syncMs: 0,
    appends: 0,
    appendMs: 0,
    paintedAt: 0,
  };

  // DOM
  readonly root: HTMLElement;
  banner: HTMLElement;
  summary: Summary;
  toolbar: HTMLElement;
  nextLeakBtn!: HTMLButtonElement;
  rangeEl: HTMLElement;
  statusEl: HTMLElement;
  commandsEl: HTMLElement;
  readonly timeline: HTMLElement;
  canvas: HTMLCanvasElement;
  spacer: HTMLElement;
  itemsEl: HTMLElement;
  emptyEl: HTMLElement;
  details: HTMLElement;
  tooltip: HTMLElement;
  renderer: Renderer;
  layer: ItemLayer;

  constructor(mount: HTMLElement) {
    this.root = mount;
    clear(mount);
    const body = document.body;
    if (!/\bvscode-/.test(body.className)) body.classList.add('st-standalone');
    this.pal = readPalette();

    this.banner = el('div', { class: 'st-banner-area' });
    this.summary = new Summary({
      selectFinding: (f, i) => this.selectFinding(f, i),
      selectLeak: (h, index) => this.selectLeak(h, index),
      openFrame: (f) => this.openFrame(f),
    });
    const btn = (testid: string, text: string, label: string, fn: () => void): HTMLButtonElement => {
      const b = el('button', { type: 'button', class: 'st-tool', 'data-testid': testid, title: label, 'aria-label': label }, text);
      b.addEventListener('click', fn);
      return b;
    };
    this.rangeEl = el('span', { class: 'st-range', 'data-testid': 'range', 'aria-live': 'polite' });
    this.statusEl = el('span', { class: 'st-status', role: 'status' });
    this.commandsEl = el('span', { class: 'st-commands' });
    this.toolbar = el(
      'div',
      { class: 'st-toolbar', role: 'toolbar', 'aria-label': 'Timeline' },
      el(
        'span',
        { class: 'st-tool-group' },
        btn('zoom-out', '−', 'Zoom out (−)', () => this.zoomBy(1 / ZOOM_STEP)),
        btn('zoom-in', '+', 'Zoom in (+)', () => this.zoomBy(ZOOM_STEP)),
        btn('fit', 'Fit', 'Fit: from the signal to the deadline (F or 0); again: the whole run', () => this.fit()),
        (this.nextLeakBtn = btn('next-leak', 'Next leak', 'Select the next leak (L; Shift+L: the previous one)', () => this.nextLeak(1))),
      ),
      this.rangeEl,
      el('span', { class: 'st-hint', text: 'wheel: zoom · drag or ←/→: pan · F: fit · L: next leak · Esc: clear' }),
      this.statusEl,
      this.commandsEl,
    );
    this.canvas = el('canvas', { class: 'st-canvas', 'aria-hidden': 'true' });
    this.spacer = el('div', { class: 'st-spacer' });
    this.itemsEl = el('div', { class: 'st-items', role: 'group', 'aria-label': 'Timeline items' });
    this.emptyEl = el('div', { class: 'st-empty', text: 'Waiting for a trace…' });
    this.timeline = el(
      'div',
      { class: 'st-timeline', 'data-testid': 'timeline', tabindex: '0', role: 'region', 'aria-label': 'Timeline. Plus and minus zoom, arrows pan, F fits, Tab moves through items, Enter selects.' },
      this.canvas,
      this.spacer,
      this.itemsEl,
      this.emptyEl,
    );
    // Shown only while something is selected: the timeline gets the space first.
    this.details = el('aside', { class: 'st-details empty', 'data-testid': 'details', 'aria-label': 'Details', 'aria-live': 'polite', hidden: true });
    this.tooltip = el('div', { class: 'st-tooltip', role: 'tooltip', hidden: true });
    mount.append(this.banner, this.summary.root, this.toolbar, el('div', { class: 'st-main' }, this.timeline, this.details), this.tooltip);

    this.renderer = new Renderer(this.canvas);
    this.layer = new ItemLayer(this.itemsEl);
    this.summary.update(null);
    this.renderDetails();
    this.wire();
    this.host.onUndeliverable = (m) => {
      if (m.type === 'open-frame') this.status(`Open ${displayText(m.file, 200)}:${m.line}:${m.col} in your editor (no editor is connected to this page).`);
      else this.status('This page is not connected to a running Shutdown Trace.');
    };
    this.exposeHooks();
    this.stats.ready = true;
    this.host.start(
      (m) => this.receive(m),
      (message) => this.showError(message),
      (text, source) => this.receiveText(text, source),
    );
  }

  // ---------------------------------------------------------------- messages

  // messages from the host: app/load.ts
  // ---------------------------------------------------------------- errors, status, theme

  showError(message: string): void {
    clear(this.banner);
    const close = el('button', { type: 'button', class: 'st-icon-btn', 'aria-label': 'Dismiss', title: 'Dismiss' }, '✕');
    close.addEventListener('click', () => this.clearError());
    this.banner.append(
      el(
        'div',
        { class: 'st-error', 'data-testid': 'error', role: 'alert' },
        el('span', { class: 'st-error-icon', text: '!' }),
        el('span', { class: 'st-error-text', text: displayText(message, 2000, false) }),
        close,
      ),
    );
  }

  clearError(): void {
    clear(this.banner);
  }

  statusTimer = 0;
  status(text: string): void {
    this.statusEl.textContent = text;
    clearTimeout(this.statusTimer);
    this.statusTimer = window.setTimeout(() => (this.statusEl.textContent = ''), 6000);
  }

  setTheme(kind: string): void {
    const b = document.body.classList;
    b.remove('vscode-light', 'vscode-dark', 'vscode-high-contrast', 'vscode-high-contrast-light', 'st-standalone');
    if (kind === 'light') b.add('vscode-light');
    else if (kind === 'dark') b.add('vscode-dark');
    else if (kind === 'high-contrast') b.add('vscode-high-contrast');
    else if (kind === 'high-contrast-light') b.add('vscode-high-contrast', 'vscode-high-contrast-light');
    this.refreshPalette();
  }

  refreshPalette(): void {
    this.pal = readPalette();
    this.invalidate();
  }

  updateCommands(): void {
    clear(this.commandsEl);
    if (!this.host.commands || !this.model) return;
    const cmd = (label: string, command: 'send-signal' | 'kill' | 'stop' | 'export' | 'copy-summary' | 'rerun', signal?: string, tone = '', short = label): void => {
      // a short label when the panel is narrow (half an editor)
      const b = el('button', { type: 'button', class: `st-cmd-btn ${tone}`, title: label }, el('span', { class: 'long', text: label }), el('span', { class: 'short', text: short }));
      b.addEventListener('click', () => this.host.post({ type: 'command', command, signal }));
      this.commandsEl.append(b);
    };
    if (this.model.live) {
      cmd('Send SIGTERM', 'send-signal', 'SIGTERM', '', 'SIGTERM');
      cmd('Send SIGINT', 'send-signal', 'SIGINT', '', 'SIGINT');
      cmd('Kill', 'kill', undefined, 'danger');
      cmd('Stop', 'stop');
    } else {
      cmd('Re-run', 'rerun');
      cmd('Copy summary', 'copy-summary', undefined, '', 'Copy');
      cmd('Export…', 'export', undefined, '', 'Export');
    }
  }

  // ---------------------------------------------------------------- view

  /**
   * The timeline's size, read from the DOM only when it may have changed (a resize, a load, a
   * reveal): a read after any DOM change forces a layout, which a zoom or pan frame must not pay.
   */
  measure(force = false): void {
    if (!force && !this.sizeDirty) return;
    this.sizeDirty = false;
    this.scrollY = this.timeline.scrollTop;
    const g = this.timeline.clientWidth > 0 && this.timeline.clientWidth < 700 ? GUTTER_NARROW : GUTTER_WIDE;
    if (g !== GUTTER) {
      setGutter(g);
      this.timeline.dataset.gutter = String(g);
    }
    this.cssW = Math.max(GUTTER + 50, this.timeline.clientWidth);
    this.cssH = Math.max(AXIS_H + 20, this.timeline.clientHeight);
    this.view.width = this.cssW - GUTTER;
  }

  invalidate(): void {
    if (this.rafId) return;
    this.rafId = requestAnimationFrame(() => {
      this.rafId = 0;
      this.drawNow();
    });
  }

  refreshLocs(): void {
    const m = this.model;
    if (!m) return;
    if (this.locVersion === m.version) return;
    this.locVersion = m.version;
    this.selLocs = this.selection ? m.locate(this.selection) : [];
    this.evLocs = this.evidenceKeys.flatMap((k) => m.locate(k));
  }

  frame(): Frame | null {
    const m = this.model;
    if (!m) return null;
    this.refreshLocs();
    return {
      model: m,
      view: this.view,
      pal: this.pal,
      width: this.cssW,
      height: this.cssH,
      scrollTop: this.scrollY,
      selected: this.selLocs.map((l) => ({ ...l, x: 0, y: 0, w: 0, h: 0 })),
      evidence: this.evLocs,
      hover: this.hover,
    };
  }

  /** Draw synchronously; returns the frame time in ms. */
  drawNow(): number {
    const t = performance.now();
    const m = this.model;
    if (!m) return 0;
    this.measure();
    m.layout();
    const contentH = AXIS_H + m.height + 16;
    const spacerH = Math.max(0, contentH - this.cssH);
    const sh = spacerH + 'px';
    if (this.spacer.style.height !== sh) this.spacer.style.height = sh;
    const ih = contentH + 'px';
    if (this.itemsEl.style.height !== ih) this.itemsEl.style.height = ih;
    this.renderer.resize(this.cssW, this.cssH, window.devicePixelRatio || 1);
    const fr = this.frame()!;
    this.renderer.draw(fr);
    const dt = performance.now() - t;
    this.stats.frameMs = dt;
    this.stats.frames++;
    if (dt > this.stats.maxFrameMs) this.stats.maxFrameMs = dt;
    this.updateRange();
    if (this.urgentLayer && !this.benchmarking) {
      this.urgentLayer = false;
      this.syncLayer();
    } else if (!this.benchmarking) this.scheduleLayer();
    return dt;
  }
  benchmarking = false;
  urgentLayer = false;

  updateRange(): void {
    const v = this.view;
    const main = `${fmtTick0(v.t0)} – ${fmtTick0(v.t1)}`;
    const span = `  ·  span ${fmtDur(v.span)}`;
    if (this.rangeEl.textContent !== main + span) {
      clear(this.rangeEl);
      this.rangeEl.append(main, el('span', { class: 'st-range-span', text: span }));
    }
    const leaks = !!this.model && this.summary.leakTargets(this.model).some(Boolean);
    if (this.nextLeakBtn.hidden === leaks) this.nextLeakBtn.hidden = !leaks;
    this.timeline.dataset.t0 = v.t0.toFixed(3);
    this.timeline.dataset.t1 = v.t1.toFixed(3);
  }

  /**
   * The item layer follows the canvas with a throttle: right after a draw when the last sync is
   * at least 60 ms old, else once at the end of that 60 ms. So it lags a frame by at most 60 ms
   * (live markers show up in the DOM at once) and costs at most one sync per 60 ms while
   * zooming or panning.
   */
  scheduleLayer(): void {
    // in a task of its own, never inside the frame that draws (a frame pays for the canvas only)
    if (!this.layerTimer) this.layerTimer = window.setTimeout(() => this.syncLayer(), Math.max(0, 60 - (performance.now() - this.lastSyncAt)));
  }
  lastSyncAt = -1e9;

  syncLayer(): void {
    clearTimeout(this.layerTimer);
    this.layerTimer = 0;
    this.lastSyncAt = performance.now();
    const fr = this.frame();
    if (!fr) return;
    const t = performance.now();
    this.layer.sync(fr, this.renderer.boxes, this.selection);
    this.stats.domItems = this.layer.count;
    this.stats.syncMs = performance.now() - t;
  }

  // ---------------------------------------------------------------- selection

  // ---------------------------------------------------------------- persistence

  saveStateSoon(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = window.setTimeout(() => this.saveState(), 150);
  }

  saveState(): void {
    if (!this.model) return;
    const s: SavedState = {
      v: 1,
      trace: this.traceKey,
      t0: this.view.t0,
      t1: this.view.t1,
      follow: this.view.follow,
      sel: this.selection,
      scrollTop: this.timeline.scrollTop,
      finding: this.summary.activeFinding,
    };
    this.host.setState(s);
  }

  // ---------------------------------------------------------------- in their own files

  receive(m: HostToWebview): void {
    return load.receive(this, m);
  }
  receiveText(text: string, source: string): void {
    return load.receiveText(this, text, source);
  }
  loadTrace(trace: Trace, live: boolean, tRecv: number, keepView: [number, number] | null, cols: ColumnEvents | null = null): void {
    return load.loadTrace(this, trace, live, tRecv, keepView, cols);
  }
  append(events: TraceEvent[], output: OutputLine[], processes: Trace['processes'], now: number): void {
    return load.append(this, events, output, processes, now);
  }
  finished(trace: Trace, analysis: Trace['analysis'], tRecv: number, cols: ColumnEvents | null = null): void {
    return load.finished(this, trace, analysis, tRecv, cols);
  }

  bounds(): [number, number] | undefined {
    return navigate.bounds(this);
  }
  fitView(): void {
    return navigate.fitView(this);
  }
  fitTarget(mode: 'shutdown' | 'all'): [number, number] | undefined {
    return navigate.fitTarget(this, mode);
  }
  shutdownWindow(): [number, number] | undefined {
    return navigate.shutdownWindow(this);
  }
  fit(): void {
    return navigate.fit(this);
  }
  zoomBy(f: number, anchorT?: number): void {
    return navigate.zoomBy(this, f, anchorT);
  }
  zoomAnchor(): number {
    return navigate.zoomAnchor(this);
  }
  panBy(px: number): void {
    return navigate.panBy(this, px);
  }
  changed(): void {
    return navigate.changed(this);
  }
  spanOf(locs: Loc[]): [number, number] {
    return navigate.spanOf(this, locs);
  }
  zoomTo(locs: Loc[]): void {
    return navigate.zoomTo(this, locs);
  }
  reveal(locs: Loc[]): void {
    return navigate.reveal(this, locs);
  }
  scrollRowIntoView(tr: Track): void {
    return navigate.scrollRowIntoView(this, tr);
  }
  select(key: string | null, opts: { keepEvidence?: boolean; reveal?: boolean } = {}): void {
    return selection.select(this, key, opts);
  }
  syncLayerSoon(): void {
    return selection.syncLayerSoon(this);
  }
  renderDetails(): void {
    return selection.renderDetails(this);
  }
  openFrame(f: StackFrame): void {
    return selection.openFrame(this, f);
  }
  selectFinding(f: Finding, index: number): void {
    return selection.selectFinding(this, f, index);
  }
  selectLeak(h: HandleRec, row = -1): void {
    return selection.selectLeak(this, h, row);
  }
  nextLeak(dir: 1 | -1): void {
    return selection.nextLeak(this, dir);
  }
  revealTarget(leak: unknown, event: unknown): void {
    return selection.revealTarget(this, leak, event);
  }
  showStarting(label: string, command: string): void {
    return empty.showStarting(this, label, command);
  }
  showEmpty(activeFile?: string): void {
    return empty.showEmpty(this, activeFile);
  }
  emptyState(title: string, text: string, actions: [string, PanelAction, boolean][]): void {
    return empty.emptyState(this, title, text, actions);
  }
  wire(): void {
    return input.wire(this);
  }
  hitAt(clientX: number, clientY: number): Loc | null {
    return input.hitAt(this, clientX, clientY);
  }
  onHover(e: PointerEvent): void {
    return input.onHover(this, e);
  }
  showTooltip(l: Loc, cx: number, cy: number): void {
    return input.showTooltip(this, l, cx, cy);
  }
  hideTooltip(): void {
    return input.hideTooltip(this);
  }
  onKey(e: KeyboardEvent): void {
    return input.onKey(this, e);
  }
  exposeHooks(): void {
    return hooks.exposeHooks(this);
  }
}

function fmtTick0(t: number): string {
  return Math.abs(t) < 1e-9 ? '0 ms' : fmtDur(t).replace('−', '−');
}
