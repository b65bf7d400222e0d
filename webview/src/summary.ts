/**
 * Above the tracks: the verdict as a short headline (the analysis' full verdict under it, two
 * lines until clicked), the leaks (`analysis.leaks`, in the verdict's order, each with its
 * creation site and fix), the key facts, and the findings (each a button that selects its
 * evidence on the timeline). Laid out so the headline and the first leak fit at half width.
 */
import type { Finding } from '../../src/shared/trace';
import type { Frame as StackFrame } from '../../src/shared/frames';
import { userFrame, formatFrame } from '../../src/shared/frames';
import { podWouldHave } from '../../src/shared/kubernetes';
import { Model, HandleRec } from './model';
import { headline } from '../../src/shared/headline';
import { el, clear, displayText, fmtDur, fmtInt } from './util';

export interface SummaryCallbacks {
  selectFinding(f: Finding, index: number): void;
  /** A leak row: `index` into analysis.leaks, or -1 for a trace without it (then `h` is the handle). */
  selectLeak(h: HandleRec, index: number): void;
  openFrame(f: StackFrame): void;
}

const ICON = { ok: '✔', warn: '▲', bad: '✖', live: '●' } as const;
const SEV_ORDER = { error: 0, warning: 1, info: 2 } as const;

export class Summary {
  readonly root: HTMLElement;
  private verdict: HTMLElement;
  private verdictFull: HTMLElement;
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
  /** The selected leak row (index into the rows shown), for L / Shift+L and the highlight. */
  activeLeak = -1;

  constructor(private cb: SummaryCallbacks) {
    this.badge = el('span', { class: 'st-reason', 'aria-hidden': 'true' });
    this.verdict = el('h1', { class: 'st-verdict', 'data-testid': 'verdict', role: 'status' });
    this.verdictFull = el('p', { class: 'st-verdict-full', 'data-testid': 'verdict-full', title: 'Click to show all of it' });
    this.verdictFull.addEventListener('click', () => this.verdictFull.classList.toggle('expanded'));
    this.facts = el('div', { class: 'st-facts' });
    this.traffic = el('div', { class: 'st-traffic' });
    this.findingsHead = el('h2', { class: 'st-h2' });
    this.findings = el('ul', { class: 'st-findings', 'aria-label': 'Findings' });
    this.leaksHead = el('h2', { class: 'st-h2' });
    this.leaks = el('ul', { class: 'st-leaks', 'aria-label': 'Leaks' });
    this.findingsSection = el('section', { class: 'st-panel st-findings-panel' }, this.findingsHead, this.findings);
    this.leaksSection = el('section', { class: 'st-panel st-leaks-panel' }, this.leaksHead, this.leaks);
    this.root = el(
      'header',
      { class: 'st-summary' },
      el('div', { class: 'st-verdict-row' }, this.badge, this.verdict),
      this.verdictFull,
      this.leaksSection,
      this.facts,
      this.traffic,
      this.findingsSection,
    );
  }

  /** A state without a trace: starting a run, or nothing to show yet. */
  showState(kind: 'starting' | 'empty' | 'waiting', text: string, detail = ''): void {
    this.lastSig = `state|${kind}|${text}|${detail}`;
    this.badge.textContent = kind === 'starting' ? ICON.live : '';
    this.badge.className = `st-reason ${kind === 'starting' ? 'tone-live st-pulse' : ''}`;
    this.verdict.textContent = text;
    this.verdict.className = `st-verdict ${kind === 'starting' ? 'tone-live' : ''}`;
    this.verdictFull.textContent = detail;
    this.verdictFull.hidden = !detail;
    for (const n of [this.facts, this.findings, this.leaks, this.traffic]) clear(n);
    this.findingsSection.hidden = true;
    this.leaksSection.hidden = true;
    this.traffic.hidden = true;
  }

  /** Cheap to call often: rebuilds only when what it shows changed. */
  update(model: Model | null): void {
    const a = model?.trace.analysis;
    const sig = model
      ? `${model.trace.meta?.createdAt}|${model.live}|${a ? a.verdict + a.findings.length : ''}|${model.leaks.length}|${model.lanes.length}|${model.live ? Math.floor(model.now / 250) + ':' + model.eventsSeen : ''}|${this.activeFinding}|${this.activeLeak}`
      : 'none';
    if (sig === this.lastSig) return;
    this.lastSig = sig;
    if (!model) {
      this.showState('waiting', 'Waiting for a trace…');
      return;
    }
    const meta = model.trace.meta;
    // headline + the whole verdict under it
    if (a) {
      const h = headline(a, { signal: meta?.plan?.signal, complete: meta?.complete });
      this.badge.textContent = ICON[h.tone];
      this.badge.className = `st-reason tone-${h.tone}`;
      this.verdict.textContent = displayText(h.text, 200);
      this.verdict.className = `st-verdict tone-${h.tone}`;
      this.verdictFull.textContent = displayText(a.verdict, 600);
      this.verdictFull.hidden = !a.verdict;
    } else if (model.live) {
      this.badge.textContent = ICON.live;
      this.badge.className = 'st-reason tone-live st-pulse';
      const s = model.firstSignalT === model.firstSignalT ? `${model.firstSignalName} sent at ${fmtDur(model.firstSignalT)}; waiting for the service to stop.` : 'Running; no signal sent yet.';
      this.verdict.textContent = `Recording… ${s}`;
      this.verdict.className = 'st-verdict tone-live';
      this.verdictFull.hidden = true;
    } else {
      this.badge.textContent = ICON.warn;
      this.badge.className = 'st-reason tone-warn';
      this.verdict.textContent = meta?.complete === false ? 'Incomplete trace' : 'No analysis';
      this.verdict.className = 'st-verdict';
      this.verdictFull.textContent = meta?.incompleteReason ? `Incomplete trace: ${displayText(meta.incompleteReason, 300)}` : 'This trace has no analysis; the timeline shows what was recorded.';
      this.verdictFull.hidden = false;
    }
    this.renderLeaks(model);
    // facts
    clear(this.facts);
    const fact = (label: string, value: string, tone = ''): void => {
      this.facts.append(el('span', { class: `st-fact ${tone}` }, el('span', { class: 'st-fact-k', text: label }), el('span', { class: 'st-fact-v', text: value })));
    };
    if (a?.signalToExitMs !== undefined) fact('signal → exit', fmtDur(a.signalToExitMs));
    if (model.graceMs > 0) fact('grace', fmtDur(model.graceMs));
    if (a) fact('leaked handles', String(a.leakedHandleCount), a.leakedHandleCount > 0 ? 'tone-bad' : 'tone-ok');
    else if (model.leaks.length) fact('leaked handles', String(model.leaks.length), 'tone-bad');
    if (model.phases.length) fact('phases', String(model.phases.length));
    fact('processes', String(model.lanes.filter((l) => l.pid !== 0).length));
    fact('events', fmtInt(model.eventsSeen));
    const dropped = meta?.counters?.droppedEvents ?? 0;
    if (dropped) fact('dropped events', fmtInt(dropped), 'tone-warn');
    if (meta?.command?.length) {
      const cmd = displayText(meta.command.join(' '), 160);
      this.facts.append(el('code', { class: 'st-cmd', title: displayText(meta.command.join(' '), 2000), text: cmd }));
    }
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
          title: `${displayText(f.title, 300)}\n${displayText(f.detail, 600)}\n\nClick: show the evidence on the timeline`,
        },
        el('span', { class: 'st-sev', 'aria-label': f.severity, text: f.severity === 'error' ? '✖' : f.severity === 'warning' ? '▲' : 'ℹ' }),
        el(
          'span',
          { class: 'st-finding-body' },
          el('span', { class: 'st-finding-title', text: displayText(f.title, 300) }),
          f.detail ? el('span', { class: 'st-finding-detail', text: displayText(f.detail, 600) }) : null,
        ),
      );
      b.addEventListener('click', () => this.cb.selectFinding(f, i));
      this.findings.append(el('li', null, b));
    }
  }

  /** Leak rows: analysis.leaks when the trace has it, else the handles the findings name. */
  private renderLeaks(model: Model): void {
    clear(this.leaks);
    type Row = { title: string; type: string; frame?: StackFrame; site: string; alive?: number; fix?: string; count: number; h?: HandleRec; index: number; user: boolean };
    const rows: Row[] = [];
    if (model.leakList.length) {
      for (const { leak, index, handles } of model.leakList) {
        const h = handles[0];
        const end = h ? model.openEnd(model.laneByPid.get(h.pid) ?? null) : NaN;
        const start = handles.length ? Math.min(...handles.map((x) => x.start)) : NaN;
        rows.push({
          title: leak.title,
          type: leak.owner ? 'leak' : (h?.info.type ?? leak.handles[0]?.type ?? 'handle'),
          frame: leak.site,
          site: leak.site ? displayText(formatFrame(leak.site, model.cwd), 160) : '',
          alive: end === end && start === start ? end - start : undefined,
          fix: leak.fix,
          count: leak.count,
          h,
          index,
          user: leak.inUserCode,
        });
      }
    } else {
      for (const h of model.leaks.slice(0, 200)) {
        const fr = userFrame(h.info.site);
        const end = model.openEnd(model.laneByPid.get(h.pid) ?? null);
        rows.push({ title: h.info.label || h.info.type, type: h.info.type, frame: fr, site: fr ? model.siteText(h) : '', alive: end - h.start, count: 1, h, index: -1, user: true });
      }
    }
    this.leaksSection.hidden = rows.length === 0 && model.unidentified.length === 0;
    this.leaksHead.textContent = model.leakList.length ? `Leaks (${rows.length})` : `Leaked handles (${model.leaks.length})`;
    rows.slice(0, 200).forEach((r, k) => {
      const pick = el(
        'button',
        { type: 'button', class: 'st-leak-pick', title: 'Show on the timeline (L: next leak)' },
        el('span', { class: 'st-leak-type', text: displayText(r.type, 30) }),
        el('span', { class: 'st-leak-label', text: displayText(r.title, 120) + (r.count > 1 ? ` ×${r.count}` : '') }),
      );
      const site = r.frame
        ? el('button', { type: 'button', class: 'st-leak-site', title: 'Open the creation site in the editor' }, r.site)
        : el('span', { class: 'st-leak-site unknown', text: 'creation site unknown' });
      const frame = r.frame;
      if (frame) site.addEventListener('click', () => this.cb.openFrame(frame));
      const meta = el('span', { class: 'st-leak-age', text: r.alive !== undefined ? `alive ${fmtDur(r.alive)}` : '' });
      const row = el(
        'li',
        { class: `st-leak${k === this.activeLeak ? ' active' : ''}${r.user ? '' : ' lib'}`, 'data-testid': 'leak', title: r.fix ? `Fix: ${displayText(r.fix, 200)}` : '' },
        pick,
        site,
        meta,
        r.fix ? el('span', { class: 'st-leak-fix', text: `fix: ${displayText(r.fix, 120)}` }) : null,
      );
      // a click anywhere on the row selects the handle (the site button also opens the file)
      const h = r.h;
      if (h) row.addEventListener('click', () => this.cb.selectLeak(h, r.index));
      this.leaks.append(row);
    });
    if (rows.length > 200) this.leaks.append(el('li', { class: 'st-muted', text: `… and ${rows.length - 200} more` }));
    if (model.unidentified.length) {
      this.leaks.append(el('li', { class: 'st-unidentified st-muted', text: `Also alive, not identified: ${model.unidentified.map((u) => `${displayText(u.type, 40)} × ${u.count}`).join(', ')}` }));
    }
  }

  /** The handle of each leak row, in list order (for L / Shift+L); undefined where a leak has none on the timeline. */
  leakTargets(model: Model): (HandleRec | undefined)[] {
    if (model.leakList.length) return model.leakList.map((l) => l.handles[0]);
    return model.leaks.slice(0, 200);
  }

  invalidate(): void {
    this.lastSig = '';
  }
}
