/**
 * Messages from the host: a whole trace (an object, JSON text, or columns), live appends, the
 * final trace with its analysis, errors, theme, and the panel's own states. One exhaustive switch
 * over the message type; a type from a newer host is ignored.
 */
import type { App } from '../app';
import type { HostToWebview } from '../../../src/shared/messages';
import type { Trace, TraceEvent, OutputLine } from '../../../src/shared/trace';
import { validateTrace, parseTrace } from '../../../src/shared/trace-file';
import { Model } from '../model';
import { ColumnEvents } from '../model/columns';
import { clear } from '../util';
import { traceKeyOf, URGENT_KINDS, type SavedState } from './shared';

export function receive(a: App, m: HostToWebview): void {
  const t = performance.now();
  try {
    switch (m.type) {
      case 'starting':
        a.showStarting(typeof m.label === 'string' ? m.label : 'the service', typeof m.command === 'string' ? m.command : '');
        break;
      case 'empty':
        a.showEmpty(typeof m.activeFile === 'string' ? m.activeFile : undefined);
        break;
      case 'reveal':
        a.revealTarget(m.leak, m.event);
        break;
      case 'trace':
        // a host may also post the trace as JSON text: far cheaper to clone than a big object graph
        if (typeof (m.trace as unknown) === 'string') a.loadTrace(parseTrace(m.trace as unknown as string, 'The trace'), !!m.live, t, null);
        else a.loadTrace(m.trace, !!m.live, t, null);
        break;
      case 'trace-columns': {
        const cols = new ColumnEvents(m.columns);
        a.loadTrace(cols.trace(), !!m.live, t, null, cols);
        break;
      }
      case 'append':
        a.append(m.events, m.output, m.processes, m.now);
        break;
      case 'finished':
        // a big final trace comes as JSON text too (see 'trace')
        a.finished(typeof (m.trace as unknown) === 'string' ? parseTrace(m.trace as unknown as string, 'The final trace') : m.trace, m.analysis, t);
        break;
      case 'finished-columns': {
        const cols = new ColumnEvents(m.columns);
        a.finished(cols.trace(), m.analysis, t, cols);
        break;
      }
      case 'error':
        a.showError(typeof m.message === 'string' ? m.message : 'Unknown error');
        break;
      case 'theme':
        a.setTheme(m.kind);
        break;
      default:
        // a message type from a newer host: ignored
        tolerate(m);
    }
  } catch (e) {
    if ((e as Error).name === 'TraceFormatError') {
      a.showError((e as Error).message);
      return;
    }
    a.showError(`The timeline could not show a: ${(e as Error).message}`);

    console.error(e);
  }
}

export function receiveText(a: App, text: string, source: string): void {
  const t = performance.now();
  try {
    const trace = parseTrace(text, source);
    a.loadTrace(trace, false, t, null);
  } catch (e) {
    a.showError((e as Error).message);
  }
}

/** `cols`: the trace came in columns (their reader checked the envelope and every column); its events are made on demand. */
export function loadTrace(a: App, trace: Trace, live: boolean, tRecv: number, keepView: [number, number] | null, cols: ColumnEvents | null = null): void {
  if (!cols) validateTrace(trace, 'The trace');
  a.clearError();
  const t0 = performance.now();
  const model = new Model(trace, live, cols);
  a.stats.buildMs = performance.now() - t0;
  a.model = model;
  a.stats.events = model.eventsSeen;
  a.stats.loads++;
  a.emptyEl.hidden = true;
  clear(a.emptyEl);
  a.summary.root.hidden = false;
  a.toolbar.hidden = false;
  a.timeline.classList.add('has-trace');
  a.fitMode = 'shutdown';
  const key = traceKeyOf(trace);
  const saved = a.host.getState() as SavedState | undefined;
  const sameAsBefore = key === a.traceKey;
  a.traceKey = key;
  a.measure(true);
  a.hover = null;
  a.locVersion = -1;
  if (keepView) {
    a.view.set(keepView[0], keepView[1]);
  } else if (!sameAsBefore && saved && saved.v === 1 && saved.trace === key && saved.t1 > saved.t0) {
    // restore after a reload
    a.view.set(saved.t0, saved.t1);
    a.view.follow = saved.follow && live;
    a.selection = saved.sel;
    a.summary.activeFinding = saved.finding ?? -1;
    const f = saved.finding >= 0 ? trace.analysis?.findings?.[saved.finding] : undefined;
    a.evidenceKeys = f ? model.findingKeys(f) : [];
    requestAnimationFrame(() => (a.timeline.scrollTop = saved.scrollTop || 0));
  } else if (!sameAsBefore) {
    a.selection = null;
    a.evidenceKeys = [];
    a.summary.activeFinding = -1;
    a.summary.activeLeak = -1;
    a.fitView();
    a.view.follow = live;
  } else {
    if (a.view.follow) a.fitView();
  }
  a.summary.invalidate();
  a.summary.update(model);
  a.renderDetails();
  a.updateCommands();
  a.drawNow();
  a.stats.loadMs = performance.now() - tRecv;
  requestAnimationFrame(() => {
    a.stats.paintedAt = performance.now();
    a.stats.firstPaintMs = a.stats.paintedAt - tRecv;
    a.syncLayer();
  });
  a.saveState();
}

export function append(a: App, events: TraceEvent[], output: OutputLine[], processes: Trace['processes'], now: number): void {
  const model = a.model;
  if (!model) return;
  const t = performance.now();
  const evs = Array.isArray(events) ? events : [];
  const good = evs.filter((e) => e && typeof e === 'object' && typeof e.kind === 'string' && typeof e.t === 'number' && typeof e.pid === 'number');
  if (good.length !== evs.length) a.showError(`${evs.length - good.length} malformed live event(s) were ignored.`);
  model.apply(good, Array.isArray(output) ? output.filter((o) => o && typeof o.t === 'number') : [], Array.isArray(processes) ? processes : [], typeof now === 'number' ? now : 0);
  // a signal, a kill or an exit is listed as an item with the frame that draws it, not up to a layer throttle later
  if (good.some((e) => URGENT_KINDS.has(e.kind))) a.urgentLayer = true;
  a.stats.events = model.eventsSeen;
  a.stats.appends++;
  a.stats.appendMs = performance.now() - t;
  if (a.view.follow) a.fitView();
  a.invalidate();
  if (!a.summaryTimer)
    a.summaryTimer = window.setTimeout(() => {
      a.summaryTimer = 0;
      a.summary.update(a.model);
    }, 200);
}

export function finished(a: App, trace: Trace, analysis: Trace['analysis'], tRecv: number, cols: ColumnEvents | null = null): void {
  const model = a.model;
  const full: Trace = { ...trace, analysis: analysis ?? trace.analysis };
  if (!cols) validateTrace(full, 'The final trace');
  if (model && model.live && traceKeyOf(full) === a.traceKey && full.events.length >= model.events.length) {
    // Same run: catch up and swap in the analysis without rebuilding everything.
    model.live = false;
    model.trace.meta = full.meta;
    const tail = cols ? cols.range(model.events.length, cols.n) : full.events.slice(model.events.length);
    model.apply(tail, full.output.slice(model.trace.output.length), full.processes, full.meta.durationMs ?? 0);
    if (full.analysis) model.setAnalysis(full.analysis);
    else model.finalize();
    a.stats.events = model.eventsSeen;
    if (a.view.follow) a.fitView();
    a.view.follow = false;
    a.locVersion = -1;
    a.summary.invalidate();
    a.summary.update(model);
    a.renderDetails();
    a.updateCommands();
    a.invalidate();
    a.saveState();
    return;
  }
  const keep: [number, number] | null = model && traceKeyOf(full) === a.traceKey && !a.view.follow ? [a.view.t0, a.view.t1] : null;
  a.loadTrace(full, false, tRecv, keep, cols);
}

/** The exhaustive check of a switch that tolerates unknown message types at run time. */
function tolerate(_m: never): void {}
