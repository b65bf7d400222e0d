/**
 * Above the tracks: the verdict, the key facts, the findings (each a button that selects its
 * evidence on the timeline) and the leaked handles with their creation sites.
 */
import type { Finding, ExitReason } from '../../src/core/trace';
import type { Frame as StackFrame } from '../../src/core/protocol';
import { userFrame, podWouldHave } from '../../src/core/trace';
import { Model, HandleRec } from './model';
import { el, clear, displayText, fmtDur, fmtInt } from './util';

export interface SummaryCallbacks {
  selectFinding(f: Finding, index: number): void;
  selectLeak(h: HandleRec): void;
  openFrame(f: StackFrame): void;
}

const REASON: Record<ExitReason, [string, string]> = {
  graceful: ['Graceful', 'ok'],
  'forced-exit': ['Forced exit', 'warn'],
  'killed-at-deadline': ['Killed at deadline', 'bad'],
  'killed-by-signal': ['Killed by signal', 'bad'],
  crashed: ['Crashed', 'bad'],
  'exited-before-signal': ['Exited before signal', 'warn'],
  'still-running': ['Still running', 'warn'],
  unknown: ['Unknown', 'warn'],
};

const SEV_ORDER = { error: 0, warning: 1, info: 2 } as const;

export class Summary {
  readonly root: HTMLElement;
  private verdict: HTMLElement;
  private badge: HTMLElement;
  private facts: HTMLElement;
  private traffic: HTMLElement;
  private findings: HTMLElement;
  private findingsHead: HTMLElement;
  private leaks: HTMLElement;
  private leaksHead: HTMLElement;
  private leaksSection: HTMLElement;
  private findingsSection: HTMLElement;
  private lastSig = '';
  activeFinding = -1;

  constructor(private cb: SummaryCallbacks) {
    this.badge = el('span', { class: 'st-reason' });
    this.verdict = el('p', { class: 'st-verdict', 'data-testid': 'verdict', role: 'status' });
    this.facts = el('div', { class: 'st-facts' });
    this.traffic = el('div', { class: 'st-traffic' });
    this.findingsHead = el('h2', { class: 'st-h2' });
    this.findings = el('ul', { class: 'st-findings', 'aria-label': 'Findings' });
    this.leaksHead = el('h2', { class: 'st-h2' });
    this.leaks = el('ul', { class: 'st-leaks', 'aria-label': 'Leaked handles' });
    this.findingsSection = el('section', { class: 'st-panel st-findings-panel' }, this.findingsHead, this.findings);
    this.leaksSection = el('section', { class: 'st-panel st-leaks-panel' }, this.leaksHead, this.leaks);
    this.root = el(
      'header',
      { class: 'st-summary' },
      el('div', { class: 'st-verdict-row' }, this.badge, this.verdict),
      this.facts,
      this.traffic,
      el('div', { class: 'st-lists' }, this.findingsSection, this.leaksSection),
    );
  }

  /** Cheap to call often: rebuilds only when what it shows changed. */
  update(model: Model | null): void {
    const a = model?.trace.analysis;
    const sig = model
      ? `${model.trace.meta?.createdAt}|${model.live}|${a ? a.verdict + a.findings.length : ''}|${model.leaks.length}|${model.lanes.length}|${model.live ? Math.floor(model.now / 250) + ':' + model.eventsSeen : ''}|${this.activeFinding}`
      : 'none';
    if (sig === this.lastSig) return;
    this.lastSig = sig;
    if (!model) {
      this.badge.textContent = '';
      this.verdict.textContent = 'Waiting for a trace…';
      clear(this.facts);
      clear(this.findings);
      clear(this.leaks);
      this.findingsSection.hidden = true;
      this.leaksSection.hidden = true;
      return;
    }
    const meta = model.trace.meta;
    // verdict + reason badge
    if (a) {
      const [text, tone] = REASON[a.exitReason] ?? [a.exitReason, 'warn'];
      this.badge.textContent = text;
      this.badge.className = `st-reason tone-${tone}`;
      this.verdict.textContent = displayText(a.verdict, 600);
      this.verdict.className = `st-verdict tone-${tone}`;
    } else if (model.live) {
      this.badge.textContent = 'Live';
      this.badge.className = 'st-reason tone-live';
      const sig = model.firstSignalT === model.firstSignalT ? `${model.firstSignalName} sent at ${fmtDur(model.firstSignalT)}; waiting for the service to stop.` : 'Running; no signal sent yet.';
      this.verdict.textContent = `Recording… ${sig}`;
      this.verdict.className = 'st-verdict tone-live';
    } else {
      this.badge.textContent = meta?.complete === false ? 'Incomplete' : 'No analysis';
      this.badge.className = 'st-reason tone-warn';
      this.verdict.textContent = meta?.incompleteReason ? `Incomplete trace: ${displayText(meta.incompleteReason, 300)}` : 'This trace has no analysis; the timeline shows what was recorded.';
      this.verdict.className = 'st-verdict';
    }
    // facts
    clear(this.facts);
    const fact = (label: string, value: string, tone = ''): void => {
      this.facts.append(el('span', { class: `st-fact ${tone}` }, el('span', { class: 'st-fact-k', text: label }), el('span', { class: 'st-fact-v', text: value })));
    };
    if (meta?.command?.length) {
      const cmd = displayText(meta.command.join(' '), 160);
      this.facts.append(el('code', { class: 'st-cmd', title: displayText(meta.command.join(' '), 2000), text: cmd }));
    }
    if (a?.signalToExitMs !== undefined) fact('signal → exit', fmtDur(a.signalToExitMs));
    if (model.graceMs > 0) fact('grace', fmtDur(model.graceMs));
    if (a) fact('leaked handles', String(a.leakedHandleCount), a.leakedHandleCount > 0 ? 'tone-bad' : 'tone-ok');
    else if (model.leaks.length) fact('leaked handles', String(model.leaks.length), 'tone-bad');
    const phases = model.phases.filter((p) => p.depth === 0);
    if (phases.length) fact('phases', String(model.phases.length));
    fact('processes', String(model.lanes.filter((l) => l.pid !== 0).length));
    fact('events', fmtInt(model.eventsSeen));
    const dropped = meta?.counters?.droppedEvents ?? 0;
    if (dropped) fact('dropped events', fmtInt(dropped), 'tone-warn');
    // traffic during shutdown and the Kubernetes termination
    clear(this.traffic);
    const rq = a?.requests;
    if (rq) {
      const s = rq.shutdown;
      const turned = rq.refusedWhileAlive + rq.resetAtClose;
      const line = el(
        'p',
        { class: 'st-traffic-line', 'data-testid': 'traffic' },
        el('span', { class: 'st-fact-k', text: 'requests during shutdown' }),
        el('span', { class: `st-traffic-n ${rq.lost ? 'tone-bad' : 'tone-ok'}`, text: `${fmtInt(rq.lost)} lost` }),
        ' · ',
        el('span', { class: `st-traffic-n ${turned ? 'tone-warn' : ''}`, text: `${fmtInt(turned)} turned away` }),
        ' · ',
        el('span', { class: 'st-traffic-n', text: `${fmtInt(s.total)} total` }),
        el('span', { class: 'st-muted', text: ` (${fmtInt(rq.all.total)} sent in all${rq.streams.total ? `, ${rq.streams.total} SSE streams (${rq.streams.cut} cut)` : ''})` }),
      );
      this.traffic.append(line);
    }
    const k8 = a?.k8s;
    if (k8?.summary) {
      const tone = k8.fate === 'graceful' ? 'tone-ok' : k8.fate === 'not-terminated' || k8.fate === 'unknown' ? 'tone-warn' : 'tone-bad';
      this.traffic.append(
        el(
          'p',
          { class: 'st-traffic-line', 'data-testid': 'k8s' },
          el('span', { class: 'st-fact-k', text: 'kubernetes' }),
          el('span', { class: `st-traffic-n ${tone}`, text: displayText(podWouldHave(k8), 340) }),
        ),
      );
    }
    this.traffic.hidden = !this.traffic.childNodes.length;
    // findings
    clear(this.findings);
    const list = (a?.findings ?? []).map((f, i) => ({ f, i })).sort((x, y) => (SEV_ORDER[x.f.severity] ?? 3) - (SEV_ORDER[y.f.severity] ?? 3) || x.i - y.i);
    this.findingsSection.hidden = list.length === 0;
    this.findingsHead.textContent = `Findings (${list.length})`;
    for (const { f, i } of list) {
      const b = el(
        'button',
        {
          type: 'button',
          class: `st-finding sev-${f.severity}${i === this.activeFinding ? ' active' : ''}`,
          'data-testid': 'finding',
          'data-code': f.code,
          'aria-pressed': i === this.activeFinding ? 'true' : 'false',
          title: 'Show the evidence on the timeline',
        },
        el('span', { class: 'st-sev', 'aria-label': f.severity, text: f.severity === 'error' ? '✖' : f.severity === 'warning' ? '▲' : 'ℹ' }),
        el('span', { class: 'st-finding-body' }, el('span', { class: 'st-finding-title', text: displayText(f.title, 300) }), f.detail ? el('span', { class: 'st-finding-detail', text: displayText(f.detail, 600) }) : null),
      );
      b.addEventListener('click', () => this.cb.selectFinding(f, i));
      this.findings.append(el('li', null, b));
    }
    // leaks
    clear(this.leaks);
    const leaks = model.leaks;
    this.leaksSection.hidden = leaks.length === 0 && model.unidentified.length === 0;
    this.leaksHead.textContent = `Leaked handles (${leaks.length})`;
    for (const h of leaks.slice(0, 200)) {
      const fr = userFrame(h.info.site);
      const end = model.openEnd(model.laneByPid.get(h.pid) ?? null);
      const pick = el(
        'button',
        { type: 'button', class: 'st-leak-pick', title: 'Show on the timeline' },
        el('span', { class: 'st-leak-type', text: h.info.type }),
        el('span', { class: 'st-leak-label', text: displayText(h.info.label || h.info.type, 120) }),
        el('span', { class: 'st-leak-age', text: `alive ${fmtDur(end - h.start)}` }),
      );
      const siteText = model.siteText(h);
      const site = fr
        ? el('button', { type: 'button', class: 'st-leak-site', title: 'Open the creation site in the editor' }, siteText)
        : el('span', { class: 'st-leak-site unknown', text: 'creation site unknown (created before the preload, or no stack)' });
      if (fr) site.addEventListener('click', () => this.cb.openFrame(fr));
      const row = el('li', { class: 'st-leak', 'data-testid': 'leak' }, pick, site);
      // a click anywhere on the row selects the handle (the site button also opens the file)
      row.addEventListener('click', () => this.cb.selectLeak(h));
      this.leaks.append(row);
    }
    if (leaks.length > 200) this.leaks.append(el('li', { class: 'st-muted', text: `… and ${leaks.length - 200} more` }));
    if (model.unidentified.length) {
      this.leaks.append(
        el('li', { class: 'st-unidentified st-muted', text: `Also alive, not identified: ${model.unidentified.map((u) => `${displayText(u.type, 40)} × ${u.count}`).join(', ')}` }),
      );
    }
  }

  invalidate(): void {
    this.lastSig = '';
  }
}
