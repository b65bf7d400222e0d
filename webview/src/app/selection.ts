/** The selection: an item, a finding with its evidence, a leak (L / Shift+L), a reveal from the editor; the details pane. */
import type { App } from '../app';
import type { Frame as StackFrame } from '../../../src/shared/frames';
import type { Finding } from '../../../src/shared/trace';
import { type HandleRec } from '../model';
import { renderDetails as renderDetailsPane } from '../details';
import { el, displayText } from '../util';

export function select(a: App, key: string | null, opts: { keepEvidence?: boolean; reveal?: boolean } = {}): void {
  const m = a.model;
  a.selection = key;
  if (a.summary.activeLeak !== -1) {
    a.summary.activeLeak = -1;
    delete a.timeline.dataset.leak;
    a.summary.update(m);
  }
  if (!opts.keepEvidence) {
    a.evidenceKeys = [];
    if (a.summary.activeFinding !== -1) {
      a.summary.activeFinding = -1;
      a.summary.update(m);
    }
  }
  a.locVersion = -1;
  a.refreshLocs();
  // the details pane first: it takes room from the timeline, which the reveal must know
  a.renderDetails();
  if (opts.reveal && a.selLocs.length) a.reveal(a.selLocs);
  a.layer.markSelected(key);
  const ev = key && m ? m.eventOfKey(key) : -1;
  if (ev >= 0) a.host.post({ type: 'select', eventIndex: ev });
  a.invalidate();
  a.syncLayerSoon();
  a.saveStateSoon();
}

export function syncLayerSoon(a: App): void {
  clearTimeout(a.layerTimer);
  a.layerTimer = window.setTimeout(() => a.syncLayer(), 0);
}

export function renderDetails(a: App): void {
  const show = !!a.model && (!!a.selection || a.summary.activeFinding >= 0);
  if (a.details.hidden === show) {
    a.details.hidden = !show;
    a.sizeDirty = true;
    a.invalidate();
  }
  renderDetailsPane(a.details, a.model, a.selection, {
    openFrame: (f) => a.openFrame(f),
    close: () => {
      a.select(null);
      a.timeline.focus();
    },
    selectKey: (k) => a.select(k, { reveal: true }),
  });
  const f = a.summary.activeFinding >= 0 ? a.model?.trace.analysis?.findings?.[a.summary.activeFinding] : undefined;
  if (f) {
    a.details.classList.remove('empty');
    a.details.prepend(
      el(
        'div',
        { class: `st-details-finding sev-${f.severity}` },
        el('div', { class: 'st-details-finding-title', text: displayText(f.title, 300) }),
        el('div', { class: 'st-details-finding-detail', text: displayText(f.detail, 1000) }),
        el('div', { class: 'st-muted', text: a.evidenceKeys.length ? `${a.evidenceKeys.length} item(s) of evidence outlined on the timeline.` : 'No timeline evidence recorded for a finding.' }),
      ),
    );
  }
}

export function openFrame(a: App, f: StackFrame): void {
  a.host.post({ type: 'open-frame', file: String(f.file), line: Number(f.line) || 1, col: Number(f.col) || 1 });
}

export function selectFinding(a: App, f: Finding, index: number): void {
  const m = a.model;
  if (!m) return;
  const keys = m.findingKeys(f);
  a.evidenceKeys = keys;
  a.summary.activeFinding = index;
  a.summary.update(m);
  a.locVersion = -1;
  a.select(keys[0] ?? null, { keepEvidence: true });
  const locs = keys.flatMap((k) => m.locate(k));
  if (locs.length) a.zoomTo(locs);
}

export function selectLeak(a: App, h: HandleRec, row = -1): void {
  const m = a.model;
  if (!m) return;
  const hi = m.handles.indexOf(h);
  if (hi < 0) return;
  a.select('h:' + hi, { reveal: true });
  const rowIdx = row >= 0 ? row : a.summary.leakTargets(m).indexOf(h);
  a.summary.activeLeak = rowIdx;
  a.summary.update(m);
  a.timeline.dataset.leak = String(rowIdx);
}

/** L / Shift+L: the next (previous) leak of the list, in the verdict's order. */
export function nextLeak(a: App, dir: 1 | -1): void {
  const m = a.model;
  if (!m) return;
  const targets = a.summary.leakTargets(m);
  const n = targets.length;
  if (!n) {
    a.status('No leaks in a trace.');
    return;
  }
  let k = a.summary.activeLeak;
  for (let step = 0; step < n; step++) {
    k = k < 0 ? (dir > 0 ? 0 : n - 1) : (k + dir + n) % n;
    const h = targets[k];
    if (h) {
      a.selectLeak(h, k);
      a.status(`Leak ${k + 1} of ${n}`);
      return;
    }
  }
}

/** From the editor: select a leak (index into analysis.leaks) or an event, and bring it into view. */
export function revealTarget(a: App, leak: unknown, event: unknown): void {
  const m = a.model;
  if (!m) return;
  if (typeof leak === 'number') {
    const h = a.summary.leakTargets(m)[leak];
    if (h) {
      a.selectLeak(h, leak);
      a.timeline.focus();
      return;
    }
  }
  if (typeof event === 'number' && event >= 0) {
    const key = m.keyForEvent(event);
    if (key) a.select(key, { reveal: true });
  }
}
