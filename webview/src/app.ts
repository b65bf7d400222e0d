/**
 * The timeline app: owns the model, the viewport and the selection; wires the host messages,
 * the canvas renderer, the accessible item layer, the summary, the details pane and the
 * keyboard/mouse interaction. Frames are coalesced with requestAnimationFrame.
 */
import type { HostToWebview } from '../../src/shared/messages';
import type { Frame as StackFrame } from '../../src/shared/frames';
import type { Trace, TraceEvent, Finding, OutputLine } from '../../src/shared/trace';
import { validateTrace, parseTrace } from '../../src/shared/trace-file';
import { Host } from './host';
import { Model, Track, F, HandleRec } from './model';
import { Viewport } from './view';
import { Renderer, Frame, hitTest, GUTTER, AXIS_H, setGutter, GUTTER_NARROW, GUTTER_WIDE } from './render';
import { ItemLayer } from './layer';
import { Summary } from './summary';
import { renderDetails } from './details';
import { readPalette, Palette } from './theme';
import { el, clear, fmtDur, fmtAt, displayText } from './util';
import type { PanelAction } from '../../src/shared/messages';
import { decodeTraceColumns } from '../../src/shared/trace-columns';

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

interface SavedState {
  v: 1;
  trace: string;
  t0: number;
  t1: number;
  follow: boolean;
  sel: string | null;
  scrollTop: number;
  finding: number;
}

type Loc = { tr: Track; i: number };

const ZOOM_STEP = 1.6;
/** Live events whose marker must reach the item layer in the frame that draws it. */
const URGENT_KINDS = new Set(['signal', 'signal-sent', 'kill-sent', 'deadline', 'process-exit', 'exit']);

export class App {
  readonly host = new Host();
  model: Model | null = null;
  readonly view = new Viewport();
  pal: Palette;
  selection: string | null = null;
  private selLocs: Loc[] = [];
  private evidenceKeys: string[] = [];
  private evLocs: Loc[] = [];
  private locVersion = -1;
  private hover: Loc | null = null;
  private traceKey = '';
  private rafId = 0;
  private layerTimer = 0;
  private saveTimer = 0;
  private summaryTimer = 0;
  private cssW = 1;
  private cssH = 1;
  /** Set by the ResizeObserver: measure() reads the DOM again. */
  private sizeDirty = true;
  /** The timeline's scrollTop, kept by its scroll events (reading it in a frame would force a layout). */
  private scrollY = 0;
  readonly stats: Stats = { ready: false, loads: 0, events: 0, buildMs: 0, loadMs: 0, firstPaintMs: 0, frameMs: 0, maxFrameMs: 0, frames: 0, domItems: 0, syncMs: 0, appends: 0, appendMs: 0, paintedAt: 0 };

  // DOM
  readonly root: HTMLElement;
  private banner: HTMLElement;
  private summary: Summary;
  private toolbar: HTMLElement;
  private nextLeakBtn!: HTMLButtonElement;
  private rangeEl: HTMLElement;
  private statusEl: HTMLElement;
  private commandsEl: HTMLElement;
  readonly timeline: HTMLElement;
  private canvas: HTMLCanvasElement;
  private spacer: HTMLElement;
  private itemsEl: HTMLElement;
  private emptyEl: HTMLElement;
  private details: HTMLElement;
  private tooltip: HTMLElement;
  private renderer: Renderer;
  private layer: ItemLayer;

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

  receive(m: HostToWebview): void {
    const t = performance.now();
    try {
      switch (m.type) {
        case 'starting':
          this.showStarting(typeof m.label === 'string' ? m.label : 'the service', typeof m.command === 'string' ? m.command : '');
          break;
        case 'empty':
          this.showEmpty(typeof m.activeFile === 'string' ? m.activeFile : undefined);
          break;
        case 'reveal':
          this.revealTarget(m.leak, m.event);
          break;
        case 'trace':
          // a host may also post the trace as JSON text: far cheaper to clone than a big object graph
          if (typeof (m.trace as unknown) === 'string') this.loadTrace(parseTrace(m.trace as unknown as string, 'The trace'), !!m.live, t, null);
          else this.loadTrace(m.trace, !!m.live, t, null);
          break;
        case 'trace-columns':
          this.loadTrace(decodeTraceColumns(m.columns), !!m.live, t, null, true);
          break;
        case 'append':
          this.append(m.events, m.output, m.processes, m.now);
          break;
        case 'finished':
          // a big final trace comes as JSON text too (see 'trace')
          this.finished(typeof (m.trace as unknown) === 'string' ? parseTrace(m.trace as unknown as string, 'The final trace') : m.trace, m.analysis, t);
          break;
        case 'finished-columns':
          this.finished(decodeTraceColumns(m.columns), m.analysis, t, true);
          break;
        case 'error':
          this.showError(typeof m.message === 'string' ? m.message : 'Unknown error');
          break;
        case 'theme':
          this.setTheme(m.kind);
          break;
        default:
          // a message type from a newer host: ignored
          tolerate(m);
      }
    } catch (e) {
      if ((e as Error).name === 'TraceFormatError') {
        this.showError((e as Error).message);
        return;
      }
      this.showError(`The timeline could not show this: ${(e as Error).message}`);
      // eslint-disable-next-line no-console
      console.error(e);
    }
  }

  receiveText(text: string, source: string): void {
    const t = performance.now();
    try {
      const trace = parseTrace(text, source);
      this.loadTrace(trace, false, t, null);
    } catch (e) {
      this.showError((e as Error).message);
    }
  }

  /** `columns`: decoded from columns, whose decoder checked the envelope and every column's type. */
  private loadTrace(trace: Trace, live: boolean, tRecv: number, keepView: [number, number] | null, columns = false): void {
    if (!columns) validateTrace(trace, 'The trace');
    this.clearError();
    const t0 = performance.now();
    const model = new Model(trace, live);
    this.stats.buildMs = performance.now() - t0;
    this.model = model;
    this.stats.events = model.eventsSeen;
    this.stats.loads++;
    this.emptyEl.hidden = true;
    clear(this.emptyEl);
    this.summary.root.hidden = false;
    this.toolbar.hidden = false;
    this.timeline.classList.add('has-trace');
    this.fitMode = 'shutdown';
    const key = traceKeyOf(trace);
    const saved = this.host.getState() as SavedState | undefined;
    const sameAsBefore = key === this.traceKey;
    this.traceKey = key;
    this.measure(true);
    this.hover = null;
    this.locVersion = -1;
    if (keepView) {
      this.view.set(keepView[0], keepView[1]);
    } else if (!sameAsBefore && saved && saved.v === 1 && saved.trace === key && saved.t1 > saved.t0) {
      // restore after a reload
      this.view.set(saved.t0, saved.t1);
      this.view.follow = saved.follow && live;
      this.selection = saved.sel;
      this.summary.activeFinding = saved.finding ?? -1;
      const f = saved.finding >= 0 ? trace.analysis?.findings?.[saved.finding] : undefined;
      this.evidenceKeys = f ? model.findingKeys(f) : [];
      requestAnimationFrame(() => (this.timeline.scrollTop = saved.scrollTop || 0));
    } else if (!sameAsBefore) {
      this.selection = null;
      this.evidenceKeys = [];
      this.summary.activeFinding = -1;
      this.summary.activeLeak = -1;
      this.fitView();
      this.view.follow = live;
    } else {
      if (this.view.follow) this.fitView();
    }
    this.summary.invalidate();
    this.summary.update(model);
    this.renderDetails();
    this.updateCommands();
    this.drawNow();
    this.stats.loadMs = performance.now() - tRecv;
    requestAnimationFrame(() => {
      this.stats.paintedAt = performance.now();
      this.stats.firstPaintMs = this.stats.paintedAt - tRecv;
      this.syncLayer();
    });
    this.saveState();
  }

  private append(events: TraceEvent[], output: OutputLine[], processes: Trace['processes'], now: number): void {
    const model = this.model;
    if (!model) return;
    const t = performance.now();
    const evs = Array.isArray(events) ? events : [];
    const good = evs.filter((e) => e && typeof e === 'object' && typeof e.kind === 'string' && typeof e.t === 'number' && typeof e.pid === 'number');
    if (good.length !== evs.length) this.showError(`${evs.length - good.length} malformed live event(s) were ignored.`);
    model.apply(good, Array.isArray(output) ? output.filter((o) => o && typeof o.t === 'number') : [], Array.isArray(processes) ? processes : [], typeof now === 'number' ? now : 0);
    // a signal, a kill or an exit is listed as an item with the frame that draws it, not up to a layer throttle later
    if (good.some((e) => URGENT_KINDS.has(e.kind))) this.urgentLayer = true;
    this.stats.events = model.eventsSeen;
    this.stats.appends++;
    this.stats.appendMs = performance.now() - t;
    if (this.view.follow) this.fitView();
    this.invalidate();
    if (!this.summaryTimer)
      this.summaryTimer = window.setTimeout(() => {
        this.summaryTimer = 0;
        this.summary.update(this.model);
      }, 200);
  }

  private finished(trace: Trace, analysis: Trace['analysis'], tRecv: number, columns = false): void {
    const model = this.model;
    const full: Trace = { ...trace, analysis: analysis ?? trace.analysis };
    if (!columns) validateTrace(full, 'The final trace');
    if (model && model.live && traceKeyOf(full) === this.traceKey && full.events.length >= model.events.length) {
      // Same run: catch up and swap in the analysis without rebuilding everything.
      model.live = false;
      model.trace.meta = full.meta;
      model.apply(full.events.slice(model.events.length), full.output.slice(model.trace.output.length), full.processes, full.meta.durationMs ?? 0);
      if (full.analysis) model.setAnalysis(full.analysis);
      else model.finalize();
      this.stats.events = model.eventsSeen;
      if (this.view.follow) this.fitView();
      this.view.follow = false;
      this.locVersion = -1;
      this.summary.invalidate();
      this.summary.update(model);
      this.renderDetails();
      this.updateCommands();
      this.invalidate();
      this.saveState();
      return;
    }
    const keep: [number, number] | null = model && traceKeyOf(full) === this.traceKey && !this.view.follow ? [this.view.t0, this.view.t1] : null;
    this.loadTrace(full, false, tRecv, keep, columns);
  }

  // ---------------------------------------------------------------- errors, status, theme

  showError(message: string): void {
    clear(this.banner);
    const close = el('button', { type: 'button', class: 'st-icon-btn', 'aria-label': 'Dismiss', title: 'Dismiss' }, '✕');
    close.addEventListener('click', () => this.clearError());
    this.banner.append(el('div', { class: 'st-error', 'data-testid': 'error', role: 'alert' }, el('span', { class: 'st-error-icon', text: '!' }), el('span', { class: 'st-error-text', text: displayText(message, 2000, false) }), close));
  }

  clearError(): void {
    clear(this.banner);
  }

  private statusTimer = 0;
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

  private updateCommands(): void {
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
  private measure(force = false): void {
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

  private bounds(): [number, number] | undefined {
    return this.model ? this.model.extent() : undefined;
  }

  /** What Fit shows: the shutdown (signal → deadline), or the whole run (Fit again). */
  private fitMode: 'shutdown' | 'all' = 'shutdown';

  fitView(): void {
    const t = this.fitTarget(this.fitMode);
    if (t) this.view.set(t[0], t[1]);
  }

  /** The window Fit shows in a mode (the whole run when there is no shutdown to frame). */
  private fitTarget(mode: 'shutdown' | 'all'): [number, number] | undefined {
    if (!this.model) return undefined;
    const w = (mode === 'shutdown' ? this.shutdownWindow() : undefined) ?? this.model.extent();
    const v = new Viewport();
    v.fit(w[0], w[1], this.bounds());
    return [v.t0, v.t1];
  }

  /**
   * The shutdown: from the signal (or the start of a Kubernetes termination) to the grace
   * deadline when the run reached it or is live, else to the end of the run, with the deadline
   * too when it is near enough to read. Undefined before any signal.
   */
  shutdownWindow(): [number, number] | undefined {
    const m = this.model;
    if (!m) return undefined;
    const s = m.graceStart();
    if (s !== s) return undefined;
    const [lo, hi] = m.extent();
    // the end of the last process, not of the trace (the launcher's tail after the exit is empty)
    const ends = m.lanes.filter((l) => l.pid !== 0).map((l) => l.info.end);
    const lastEnd = m.live ? Math.max(m.now, m.tMax) : ends.length && ends.every((e) => e !== undefined) ? Math.max(...(ends as number[])) : m.tMax;
    const dl = m.k8sKillT === m.k8sKillT ? m.k8sKillT : m.deadlineT;
    let end = lastEnd;
    if (dl === dl && (m.live || m.killT === m.killT || lastEnd >= dl || dl - s <= 3 * Math.max(1, lastEnd - s))) end = Math.max(end, dl);
    end = Math.min(hi, Math.max(end, s + 1));
    // a little room before the signal; a shutdown that was over at once (no handler, an exit)
    // gets a tenth of the run, what led up to it
    let start = s - (end - s) * 0.04;
    start = Math.min(start, end - (hi - lo) * 0.1);
    return [Math.max(lo, start), end];
  }

  fit(): void {
    if (this.model) {
      // Fit shows the shutdown; Fit again (nothing moved since) the whole run, and back.
      const shown = (mode: 'shutdown' | 'all'): boolean => {
        const t = this.fitTarget(mode);
        const tol = Math.max(1e-6, this.view.span * 1e-3);
        return !!t && Math.abs(this.view.t0 - t[0]) <= tol && Math.abs(this.view.t1 - t[1]) <= tol;
      };
      if (this.fitMode === 'shutdown' && shown('shutdown') && this.shutdownWindow()) this.fitMode = 'all';
      else if (this.fitMode === 'all' && shown('all')) this.fitMode = 'shutdown';
      else this.fitMode = 'shutdown';
    }
    this.fitView();
    this.view.follow = !!this.model?.live;
    this.changed();
  }

  zoomBy(f: number, anchorT?: number): void {
    if (!this.model) return;
    const a = anchorT ?? this.zoomAnchor();
    this.view.zoomAt(f, a, this.bounds());
    this.view.follow = false;
    this.changed();
  }

  private zoomAnchor(): number {
    // keep the selection in place if it is on screen, else the centre
    const l = this.selLocs[0];
    if (l) {
      const s = l.tr.start[l.i];
      if (s >= this.view.t0 && s <= this.view.t1) return s;
    }
    return (this.view.t0 + this.view.t1) / 2;
  }

  panBy(px: number): void {
    if (!this.model) return;
    this.view.panPx(px, this.bounds());
    this.view.follow = false;
    this.changed();
  }

  private changed(): void {
    this.invalidate();
    this.saveStateSoon();
  }

  invalidate(): void {
    if (this.rafId) return;
    this.rafId = requestAnimationFrame(() => {
      this.rafId = 0;
      this.drawNow();
    });
  }

  private refreshLocs(): void {
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
  private benchmarking = false;
  private urgentLayer = false;

  private updateRange(): void {
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
  private scheduleLayer(): void {
    // in a task of its own, never inside the frame that draws (a frame pays for the canvas only)
    if (!this.layerTimer) this.layerTimer = window.setTimeout(() => this.syncLayer(), Math.max(0, 60 - (performance.now() - this.lastSyncAt)));
  }
  private lastSyncAt = -1e9;

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

  select(key: string | null, opts: { keepEvidence?: boolean; reveal?: boolean } = {}): void {
    const m = this.model;
    this.selection = key;
    if (this.summary.activeLeak !== -1) {
      this.summary.activeLeak = -1;
      delete this.timeline.dataset.leak;
      this.summary.update(m);
    }
    if (!opts.keepEvidence) {
      this.evidenceKeys = [];
      if (this.summary.activeFinding !== -1) {
        this.summary.activeFinding = -1;
        this.summary.update(m);
      }
    }
    this.locVersion = -1;
    this.refreshLocs();
    // the details pane first: it takes room from the timeline, which the reveal must know
    this.renderDetails();
    if (opts.reveal && this.selLocs.length) this.reveal(this.selLocs);
    this.layer.markSelected(key);
    const ev = key && m ? m.eventOfKey(key) : -1;
    if (ev >= 0) this.host.post({ type: 'select', eventIndex: ev });
    this.invalidate();
    this.syncLayerSoon();
    this.saveStateSoon();
  }

  private syncLayerSoon(): void {
    clearTimeout(this.layerTimer);
    this.layerTimer = window.setTimeout(() => this.syncLayer(), 0);
  }


  private renderDetails(): void {
    const show = !!this.model && (!!this.selection || this.summary.activeFinding >= 0);
    if (this.details.hidden === show) {
      this.details.hidden = !show;
      this.sizeDirty = true;
      this.invalidate();
    }
    renderDetails(this.details, this.model, this.selection, {
      openFrame: (f) => this.openFrame(f),
      close: () => {
        this.select(null);
        this.timeline.focus();
      },
      selectKey: (k) => this.select(k, { reveal: true }),
    });
    const f = this.summary.activeFinding >= 0 ? this.model?.trace.analysis?.findings?.[this.summary.activeFinding] : undefined;
    if (f) {
      this.details.classList.remove('empty');
      this.details.prepend(
        el(
          'div',
          { class: `st-details-finding sev-${f.severity}` },
          el('div', { class: 'st-details-finding-title', text: displayText(f.title, 300) }),
          el('div', { class: 'st-details-finding-detail', text: displayText(f.detail, 1000) }),
          el('div', { class: 'st-muted', text: this.evidenceKeys.length ? `${this.evidenceKeys.length} item(s) of evidence outlined on the timeline.` : 'No timeline evidence recorded for this finding.' }),
        ),
      );
    }
  }

  openFrame(f: StackFrame): void {
    this.host.post({ type: 'open-frame', file: String(f.file), line: Number(f.line) || 1, col: Number(f.col) || 1 });
  }

  selectFinding(f: Finding, index: number): void {
    const m = this.model;
    if (!m) return;
    const keys = m.findingKeys(f);
    this.evidenceKeys = keys;
    this.summary.activeFinding = index;
    this.summary.update(m);
    this.locVersion = -1;
    this.select(keys[0] ?? null, { keepEvidence: true });
    const locs = keys.flatMap((k) => m.locate(k));
    if (locs.length) this.zoomTo(locs);
  }

  selectLeak(h: HandleRec, row = -1): void {
    const m = this.model;
    if (!m) return;
    const hi = m.handles.indexOf(h);
    if (hi < 0) return;
    this.select('h:' + hi, { reveal: true });
    const rowIdx = row >= 0 ? row : this.summary.leakTargets(m).indexOf(h);
    this.summary.activeLeak = rowIdx;
    this.summary.update(m);
    this.timeline.dataset.leak = String(rowIdx);
  }

  /** L / Shift+L: the next (previous) leak of the list, in the verdict's order. */
  nextLeak(dir: 1 | -1): void {
    const m = this.model;
    if (!m) return;
    const targets = this.summary.leakTargets(m);
    const n = targets.length;
    if (!n) {
      this.status('No leaks in this trace.');
      return;
    }
    let k = this.summary.activeLeak;
    for (let step = 0; step < n; step++) {
      k = k < 0 ? (dir > 0 ? 0 : n - 1) : (k + dir + n) % n;
      const h = targets[k];
      if (h) {
        this.selectLeak(h, k);
        this.status(`Leak ${k + 1} of ${n}`);
        return;
      }
    }
  }

  /** From the editor: select a leak (index into analysis.leaks) or an event, and bring it into view. */
  private revealTarget(leak: unknown, event: unknown): void {
    const m = this.model;
    if (!m) return;
    if (typeof leak === 'number') {
      const h = this.summary.leakTargets(m)[leak];
      if (h) {
        this.selectLeak(h, leak);
        this.timeline.focus();
        return;
      }
    }
    if (typeof event === 'number' && event >= 0) {
      const key = m.keyForEvent(event);
      if (key) this.select(key, { reveal: true });
    }
  }

  // ---------------------------------------------------------------- states without a trace

  private showStarting(label: string, command: string): void {
    if (this.model) return; // a trace already arrived: it wins
    this.clearError();
    this.summary.showState('starting', `Starting ${displayText(label, 120)}…`, command ? displayText(command, 300) : '');
    this.summary.root.hidden = false;
    this.toolbar.hidden = true;
    this.emptyState('Waiting for the first events…', 'The timeline fills in as soon as the service starts.', []);
  }

  private showEmpty(activeFile?: string): void {
    this.model = null;
    this.traceKey = '';
    this.timeline.classList.remove('has-trace');
    this.clearError();
    this.summary.showState('empty', 'No trace yet');
    // the box in the middle says it all; no empty toolbar or summary around it
    this.summary.root.hidden = true;
    this.toolbar.hidden = true;
    const actions: [string, PanelAction, boolean][] = [
      [activeFile ? `Run ${displayText(activeFile, 60)}` : 'Run the active file', 'run-active-file', !!activeFile],
      ['Run an npm script…', 'run-script', false],
      ['Try the example', 'open-example', !activeFile],
      ['Open a trace file…', 'open-trace', false],
      ['Walkthrough', 'walkthrough', false],
    ];
    this.emptyState(
      'Nothing traced yet',
      `Shutdown Trace starts a service, sends it SIGTERM once it listens, and shows what its shutdown did. ${activeFile ? `${displayText(activeFile, 80)} is open: run it, or pick something else.` : 'Open a JavaScript or TypeScript file to run it, or start with the example.'}`,
      actions,
    );
    clear(this.commandsEl);
    this.renderDetails();
  }

  private emptyState(title: string, text: string, actions: [string, PanelAction, boolean][]): void {
    clear(this.emptyEl);
    const buttons = el('div', { class: 'st-empty-actions' });
    for (const [label, action, primary] of actions) {
      const b = el('button', { type: 'button', class: `st-cmd-btn${primary ? ' primary' : ''}`, 'data-action': action }, label);
      b.addEventListener('click', () => this.host.post({ type: 'action', action }));
      buttons.append(b);
    }
    this.emptyEl.append(el('div', { class: 'st-empty-box', 'data-testid': 'empty' }, el('p', { class: 'st-empty-title', text: title }), el('p', { class: 'st-muted', text }), actions.length ? buttons : null));
    this.emptyEl.hidden = false;
  }

  private spanOf(locs: Loc[]): [number, number] {
    const m = this.model!;
    let lo = Infinity;
    let hi = -Infinity;
    for (const { tr, i } of locs) {
      let e = tr.end[i];
      if (e !== e) e = tr.start[i];
      else if (e === Infinity) e = m.openEnd(tr.lane);
      lo = Math.min(lo, tr.start[i]);
      hi = Math.max(hi, e);
    }
    return [lo, hi];
  }

  /** Zoom so all locs are in view (with margin), and scroll their first row into view. */
  private zoomTo(locs: Loc[]): void {
    const [lo, hi] = this.spanOf(locs);
    const m = this.model!;
    const [elo, ehi] = m.extent();
    if (hi - lo < (ehi - elo) * 0.01) {
      const span = Math.min(this.view.span, (ehi - elo) * 0.5);
      const c = (lo + hi) / 2;
      this.view.set(c - span / 2, c + span / 2, this.bounds());
    } else {
      const pad = (hi - lo) * 0.12;
      this.view.set(lo - pad, hi + pad, this.bounds());
    }
    this.view.follow = false;
    this.scrollRowIntoView(locs[0].tr);
    this.changed();
  }

  /** Pan (not zoom) so the item is on screen, and scroll its row into view. */
  private reveal(locs: Loc[]): void {
    const [lo, hi] = this.spanOf(locs);
    const v = this.view;
    if (hi < v.t0 || lo > v.t1) {
      if (hi - lo > v.span) this.view.set(lo - (hi - lo) * 0.05, hi + (hi - lo) * 0.05, this.bounds());
      else {
        const c = (lo + hi) / 2;
        this.view.set(c - v.span / 2, c + v.span / 2, this.bounds());
      }
      this.view.follow = false;
    }
    this.scrollRowIntoView(locs[0].tr);
    this.changed();
  }

  private scrollRowIntoView(tr: Track): void {
    const m = this.model!;
    this.measure(true);
    m.layout();
    const r = m.rows.find((x) => x.track === tr);
    if (!r) return;
    const st = this.timeline.scrollTop;
    const visTop = st;
    const visBot = st + this.cssH - AXIS_H;
    if (r.y < visTop || r.y + r.h > visBot) this.timeline.scrollTop = Math.max(0, r.y - 40);
  }

  // ---------------------------------------------------------------- persistence

  private saveStateSoon(): void {
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

  // ---------------------------------------------------------------- interaction

  private wire(): void {
    const tl = this.timeline;
    new ResizeObserver(() => {
      this.sizeDirty = true;
      if (!this.model) return;
      this.invalidate();
    }).observe(tl);
    // VS Code changes the theme by body class and by the --vscode-* variables on <html>
    const themeObserver = new MutationObserver(() => this.refreshPalette());
    themeObserver.observe(document.body, { attributes: true, attributeFilter: ['class'] });
    themeObserver.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
    const mq = window.matchMedia?.('(prefers-color-scheme: dark)');
    mq?.addEventListener?.('change', () => this.refreshPalette());

    tl.addEventListener('scroll', () => {
      this.scrollY = tl.scrollTop;
      this.invalidate();
      this.saveStateSoon();
    });

    tl.addEventListener(
      'wheel',
      (e: WheelEvent) => {
        if (!this.model) return;
        e.preventDefault();
        let dx = e.deltaX;
        let dy = e.deltaY;
        if (e.deltaMode === 1) {
          dx *= 16;
          dy *= 16;
        } else if (e.deltaMode === 2) {
          dx *= this.cssW;
          dy *= this.cssH;
        }
        if (e.shiftKey && !e.ctrlKey && !e.metaKey) {
          tl.scrollTop += dy || dx;
          return;
        }
        if (!e.ctrlKey && !e.metaKey && Math.abs(dx) > Math.abs(dy)) {
          this.panBy(dx);
          return;
        }
        const rect = tl.getBoundingClientRect();
        const x = e.clientX - rect.left - GUTTER;
        const anchor = x >= 0 ? this.view.t(x) : (this.view.t0 + this.view.t1) / 2;
        this.zoomBy(Math.exp(-dy * (e.ctrlKey ? 0.01 : 0.002)), anchor);
      },
      { passive: false },
    );

    let drag: { x: number; y: number; t0: number; t1: number; st: number; moved: boolean; id: number } | null = null;
    tl.addEventListener('pointerdown', (e: PointerEvent) => {
      if (!this.model || e.button !== 0) return;
      const rect = tl.getBoundingClientRect();
      if (e.clientX - rect.left >= tl.clientWidth) return; // scrollbar
      drag = { x: e.clientX, y: e.clientY, t0: this.view.t0, t1: this.view.t1, st: tl.scrollTop, moved: false, id: e.pointerId };
    });
    window.addEventListener('pointermove', (e: PointerEvent) => {
      if (drag && e.pointerId === drag.id) {
        const dx = e.clientX - drag.x;
        const dy = e.clientY - drag.y;
        if (!drag.moved && Math.abs(dx) + Math.abs(dy) > 4) {
          drag.moved = true;
          tl.classList.add('dragging');
          this.hideTooltip();
        }
        if (drag.moved) {
          const dt = (dx / this.view.width) * (drag.t1 - drag.t0);
          this.view.set(drag.t0 - dt, drag.t1 - dt, this.bounds());
          this.view.follow = false;
          tl.scrollTop = drag.st - dy;
          this.changed();
        }
        return;
      }
      this.onHover(e);
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
        this.select(item.dataset.key ?? null);
        return;
      }
      if (!tl.contains(target)) return;
      const hit = this.hitAt(e.clientX, e.clientY);
      this.select(hit ? this.model!.keyOf(hit.tr, hit.i) : null);
    });
    tl.addEventListener('pointerleave', () => {
      if (this.hoverRaf) cancelAnimationFrame(this.hoverRaf);
      this.hoverRaf = 0;
      if (this.hover) {
        this.hover = null;
        this.invalidate();
      }
      this.hideTooltip();
    });
    tl.addEventListener('dblclick', (e: MouseEvent) => {
      const hit = this.hitAt(e.clientX, e.clientY);
      if (hit) this.zoomTo([hit]);
    });
    // keyboard activation of items (Enter/Space → click with detail 0)
    this.itemsEl.addEventListener('click', (e: MouseEvent) => {
      if (e.detail !== 0) return;
      const item = (e.target as HTMLElement).closest('.tl-item') as HTMLElement | null;
      if (item) this.select(item.dataset.key ?? null);
    });
    this.itemsEl.addEventListener('focusin', (e: FocusEvent) => {
      const item = (e.target as HTMLElement).closest('.tl-item') as HTMLElement | null;
      if (!item) return;
      // keep the focused item visible under the sticky axis
      const top = item.offsetTop - tl.scrollTop;
      if (top < AXIS_H) tl.scrollTop = Math.max(0, item.offsetTop - AXIS_H - 8);
    });
    document.addEventListener('keydown', (e) => this.onKey(e));
  }

  private hitAt(clientX: number, clientY: number): Loc | null {
    const fr = this.frame();
    if (!fr) return null;
    const rect = this.timeline.getBoundingClientRect();
    return hitTest(fr, this.renderer.boxes, clientX - rect.left, clientY - rect.top);
  }

  private hoverRaf = 0;
  private onHover(e: PointerEvent): void {
    if (!this.model) return;
    const tl = this.timeline;
    const rect = tl.getBoundingClientRect();
    if (e.clientX < rect.left || e.clientX > rect.right || e.clientY < rect.top || e.clientY > rect.bottom) {
      if (this.hoverRaf) cancelAnimationFrame(this.hoverRaf);
      this.hoverRaf = 0;
      if (this.hover) {
        this.hover = null;
        this.invalidate();
      }
      this.hideTooltip();
      return;
    }
    const cx = e.clientX;
    const cy = e.clientY;
    if (this.hoverRaf) cancelAnimationFrame(this.hoverRaf);
    this.hoverRaf = requestAnimationFrame(() => {
      this.hoverRaf = 0;
      const hit = this.hitAt(cx, cy);
      const same = hit && this.hover && hit.tr === this.hover.tr && hit.i === this.hover.i;
      if (!same) {
        this.hover = hit;
        this.invalidate();
      }
      if (hit) this.showTooltip(hit, cx, cy);
      else this.hideTooltip();
    });
  }

  private showTooltip(l: Loc, cx: number, cy: number): void {
    const m = this.model!;
    const { tr, i } = l;
    const tt = this.tooltip;
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

  private hideTooltip(): void {
    if (!this.tooltip.hidden) this.tooltip.hidden = true;
  }

  private onKey(e: KeyboardEvent): void {
    if (!this.model) return;
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const target = e.target as HTMLElement | null;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    const inTimeline = !!target && (target === document.body || this.timeline.contains(target) || this.toolbar.contains(target));
    switch (e.key) {
      case '+':
      case '=':
        this.zoomBy(ZOOM_STEP);
        break;
      case '-':
      case '_':
        this.zoomBy(1 / ZOOM_STEP);
        break;
      case '0':
      case 'f':
      case 'F':
        this.fit();
        break;
      case 'ArrowLeft':
        if (!inTimeline) return;
        this.panBy(-this.view.width * (e.shiftKey ? 0.5 : 0.1));
        break;
      case 'ArrowRight':
        if (!inTimeline) return;
        this.panBy(this.view.width * (e.shiftKey ? 0.5 : 0.1));
        break;
      case 'ArrowUp':
        if (!inTimeline) return;
        this.timeline.scrollTop -= 40;
        break;
      case 'ArrowDown':
        if (!inTimeline) return;
        this.timeline.scrollTop += 40;
        break;
      case 'Home': {
        if (!inTimeline) return;
        const [lo] = this.model.extent();
        this.view.set(lo - this.view.span * 0.03, lo + this.view.span * 0.97, this.bounds());
        this.view.follow = false;
        this.changed();
        break;
      }
      case 'End': {
        if (!inTimeline) return;
        const [, hi] = this.model.extent();
        this.view.set(hi - this.view.span * 0.97, hi + this.view.span * 0.03, this.bounds());
        this.changed();
        break;
      }
      case 'Escape':
        if (this.selection || this.evidenceKeys.length) this.select(null);
        this.hideTooltip();
        break;
      case 'l':
      case 'L':
        this.nextLeak(e.shiftKey ? -1 : 1);
        break;
      default:
        return;
    }
    e.preventDefault();
  }

  // ---------------------------------------------------------------- hooks for tests and benchmarks

  private exposeHooks(): void {
    const w = window as unknown as Record<string, unknown>;
    w.__shutdownTraceStats = this.stats;
    w.__shutdownTrace = {
      view: () => ({ t0: this.view.t0, t1: this.view.t1, follow: this.view.follow }),
      zoom: (f: number) => this.zoomBy(f),
      pan: (px: number) => this.panBy(px),
      fit: () => this.fit(),
      nextLeak: () => this.nextLeak(1),
      select: (k: string | null) => this.select(k, { reveal: true }),
      drawNow: () => this.drawNow(),
      /**
       * n synchronous zoom/pan frames. `avg/p95/max`: draw time (JS); `rasterP95/rasterMax`:
       * draw + raster (forced by a 1-pixel read back), i.e. the whole frame's CPU cost.
       */
      benchFrames: (n = 60) => {
        const times: number[] = [];
        const totals: number[] = [];
        const ctx = this.canvas.getContext('2d')!;
        this.benchmarking = true;
        for (let k = 0; k < n; k++) {
          const phase = k % 4;
          if (phase === 0) this.view.zoomAt(1.25, (this.view.t0 + this.view.t1) / 2, this.bounds());
          else if (phase === 1) this.view.panPx(this.view.width * 0.07, this.bounds());
          else if (phase === 2) this.view.zoomAt(0.8, (this.view.t0 + this.view.t1) / 2, this.bounds());
          else this.view.panPx(-this.view.width * 0.07, this.bounds());
          const t0 = performance.now();
          times.push(this.drawNow());
          ctx.getImageData(0, 0, 1, 1);
          totals.push(performance.now() - t0);
        }
        this.benchmarking = false;
        this.syncLayerSoon();
        const q = (a: number[], p: number): number => a.slice().sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(a.length * p))];
        return { avg: times.reduce((a, b) => a + b, 0) / n, p95: q(times, 0.95), max: q(times, 1), rasterP95: q(totals, 0.95), rasterMax: q(totals, 1) };
      },
    };
  }
}

function rel(m: Model, t: number): string {
  const s = m.firstSignalT;
  if (s !== s) return '';
  const d = t - s;
  return `  (${d >= 0 ? '+' : ''}${fmtDur(Math.abs(d))} ${d >= 0 ? 'after' : 'before'} ${m.firstSignalName})`;
}

function fmtTick0(t: number): string {
  return Math.abs(t) < 1e-9 ? '0 ms' : fmtDur(t).replace('−', '−');
}

function traceKeyOf(t: Trace): string {
  const m = t.meta;
  return `${m?.createdAt ?? ''}|${(m?.command ?? []).join(' ')}|${m?.mainPid ?? ''}`;
}

/** The exhaustive check of a switch that tolerates unknown message types at run time. */
function tolerate(_m: never): void {}
