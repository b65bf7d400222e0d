/**
 * The details pane of the selection: what it is, its timings (absolute and relative to the
 * first signal), addresses and other facts, and its stack — each frame a button that asks the
 * host to open that file at that line. All trace text goes through textContent.
 */
import type { Frame as StackFrame, Site } from '../../src/shared/frames';
import type { HandleInfo } from '../../src/shared/wire';
import type { TraceEvent } from '../../src/shared/trace';
import { formatFrame } from '../../src/shared/frames';
import { Model, Track, exitText, KIND_NAME } from './model';
import { lostRequestEvents } from './model/traffic';
import { el, clear, displayText, fmtAt, fmtDur, displayPath, isInternalFile, fmtInt } from './util';

export interface DetailsCallbacks {
  openFrame(f: StackFrame): void;
  close(): void;
  selectKey(key: string): void;
}

type KV = [string, string | Node | undefined];

export function renderDetails(root: HTMLElement, model: Model | null, key: string | null, cb: DetailsCallbacks): void {
  clear(root);
  root.classList.toggle('empty', !key || !model);
  if (!model || !key) {
    root.append(
      el('div', { class: 'st-details-empty' }, el('p', { class: 'st-muted', text: 'Select an item on the timeline, a finding or a leaked handle to see its stack, addresses and timings.' })),
    );
    return;
  }
  const locs = model.locate(key);
  const loc = locs[0];
  const kind = loc ? KIND_NAME[loc.tr.kind[loc.i]] : key[0] === 'h' ? 'handle' : key[0] === 'p' ? 'phase' : key[0] === 'o' ? 'log' : key[0] === 'x' ? 'process' : 'event';
  const title = loc ? model.label(loc.tr, loc.i) : key;
  const closeBtn = el('button', { class: 'st-icon-btn', type: 'button', title: 'Close details (Esc)', 'aria-label': 'Close details' }, '✕');
  closeBtn.addEventListener('click', () => cb.close());
  root.append(el('div', { class: 'st-details-head' }, el('span', { class: `st-kind st-kind-${kind}`, text: kind }), el('h2', { class: 'st-details-title', text: title }), closeBtn));
  const kv: KV[] = [];
  const sections: Node[] = [];
  const rel = (t: number | undefined): string => {
    if (t === undefined || !isFinite(t)) return '—';
    const { t: s, name } = model.signalRef();
    if (s === s) {
      const d = t - s;
      return `${fmtAt(t)}  (${d >= 0 ? '+' : ''}${fmtDur(Math.abs(d))} ${d >= 0 ? 'after' : 'before'} ${displayText(name, 60)})`;
    }
    return fmtAt(t);
  };
  const timing = (s: number, e: number | undefined, openText = model.live ? 'still running' : 'never ended'): void => {
    kv.push(['Start', rel(s)]);
    if (e === undefined || e === Infinity) kv.push(['End', openText]);
    else if (e !== e) return;
    else {
      kv.push(['End', rel(e)]);
      kv.push(['Duration', fmtDur(e - s)]);
    }
  };
  const pidRow = (pid: number): void => {
    const l = model.laneByPid.get(pid);
    kv.push(['Process', l ? `${displayText(l.info.command, 160)} (pid ${pid})` : `pid ${pid}`]);
  };
  const stack = (titleText: string, site: Site | undefined): void => {
    if (!site || !site.frames?.length) return;
    sections.push(renderStack(titleText, site, model.cwd, cb));
  };
  const [type, numS] = [key[0], key.slice(2)];
  const num = Number(numS);

  if (type === 'h') {
    const h = model.handles[num];
    if (h) {
      kv.push(['Handle', displayText(h.info.label || h.info.type, 300)]);
      kv.push(['Type', h.info.type]);
      kv.push(['Keeps loop alive', h.info.ref === false ? 'no (unref’d — never a leak)' : 'yes (ref’d)']);
      pidRow(h.pid);
      if (h.openEv < 0 && h.info.createdAt === undefined && h.info.details?.predates) kv.push(['Created', 'before the tool started watching']);
      timing(h.start, h.end === Infinity ? undefined : h.end, h.leaked ? 'never closed — LEAKED' : model.live ? 'still open' : 'still open at the end');
      if (h.leaked) {
        const end = model.openEnd(model.laneByPid.get(h.pid) ?? null);
        kv.push(['Alive for', `${fmtDur(end - h.start)} (until the process ended)`]);
        // what the analysis says about the leak it belongs to
        const leak = model.leakList.find((l) => l.handles.includes(h))?.leak;
        if (leak) {
          if (leak.owner || leak.title !== h.info.label) kv.push(['Leak', displayText(leak.title, 300)]);
          if (leak.site) kv.push(['Created by your code at', displayText(formatFrame(leak.site, model.cwd), 300)]);
          if (leak.fix) kv.push(['Fix', displayText(leak.fix, 300)]);
        }
      }
      kv.push(['Id', displayText(h.info.id, 120)]);
      addDetails(kv, h.info);
      stack('Created at', h.info.site);
    }
  } else if (type === 'p') {
    const p = model.phases[num];
    if (p) {
      kv.push(['Phase', displayText(p.name, 300)]);
      pidRow(p.pid);
      kv.push(['Nesting depth', String(p.depth)]);
      timing(p.start, p.end ?? (p.durationMs !== undefined ? p.start + p.durationMs : undefined));
      if (model.graceMs > 0 && p.durationMs !== undefined) kv.push(['Share of grace period', `${((p.durationMs / model.graceMs) * 100).toFixed(1)} % of ${fmtDur(model.graceMs)}`]);
      kv.push(['Source', p.auto ? 'detected automatically' : 'reported by the app (diagnostics_channel)']);
      if (p.error) sections.push(textBlock('Error', p.error));
    }
  } else if (type === 'o') {
    const o = model.trace.output[num];
    if (o) {
      kv.push(['Stream', o.stream]);
      pidRow(o.pid);
      kv.push(['At', rel(o.t)]);
      kv.push(['Length', `${fmtInt(o.text.length)} characters`]);
      sections.push(textBlock('Text', o.text));
    }
  } else if (type === 'x') {
    const l = model.laneByPid.get(num);
    if (l) {
      const i = l.info;
      kv.push(['Command', displayText(i.command, 500)]);
      kv.push(['PID', String(i.pid)]);
      kv.push(['Parent PID', String(i.ppid)]);
      if (i.node) kv.push(['Node', displayText(i.node, 40)]);
      kv.push(['Traced', i.traced ? 'yes (preload reported from inside)' : 'no (seen from outside only)']);
      kv.push(['Role', i.isMain ? 'main process' : 'child process']);
      timing(i.start ?? 0, i.end, model.live ? 'running' : 'still running at the end');
      if (i.exit) kv.push(['Exit', exitText(i.exit.code, i.exit.signal)]);
      const a = model.trace.analysis;
      // the analysis' figure, the one the headline and the summary show
      if ((a?.servicePid !== undefined ? i.pid === a.servicePid : i.isMain) && a?.signalToExitMs !== undefined) kv.push(['Signal → exit', fmtDur(a.signalToExitMs)]);
    }
  } else if (type === 'd') {
    kv.push(['Grace period', fmtDur(model.graceMs)]);
    kv.push(['Deadline', rel(model.deadlineT)]);
    kv.push(['From', `the plan: SIGKILL ${fmtDur(model.graceMs)} after the first signal`]);
  } else if (type === 'e' || type === 'c') {
    const e = model.ev(num);
    if (e) describeEvent(e, num, kv, sections, { model, loc, rel, timing, pidRow, stack, select: cb.selectKey });
  }

  if (kv.length) {
    const dl = el('dl', { class: 'st-kv' });
    for (const [k, v] of kv) {
      if (v === undefined) continue;
      dl.append(el('dt', { text: k }), typeof v === 'string' ? el('dd', { text: v }) : el('dd', null, v));
    }
    root.append(dl);
  }
  for (const s of sections) root.append(s);
  if (locs.length === 0) root.append(el('p', { class: 'st-muted', text: 'Not drawn on the timeline.' }));
}

interface Ctx {
  model: Model;
  loc: { tr: Track; i: number } | undefined;
  rel(t: number | undefined): string;
  timing(s: number, e: number | undefined, openText?: string): void;
  pidRow(pid: number): void;
  stack(title: string, site: Site | undefined): void;
  select(key: string): void;
}

function describeEvent(e: TraceEvent, idx: number, kv: KV[], sections: Node[], c: Ctx): void {
  const { model, loc, rel } = c;
  const endEv = loc && loc.tr.ref2[loc.i] >= 0 ? model.ev(loc.tr.ref2[loc.i]) : undefined;
  const end = loc ? loc.tr.end[loc.i] : NaN;
  switch (e.kind) {
    case 'signal-sent': {
      kv.push(['Signal', e.signal + (e.nth > 1 ? ` (#${e.nth})` : '')]);
      kv.push(['Sent at', rel(e.t)]);
      kv.push(['To', `pid ${e.target}${e.delivery === 'group' ? ' and its process group' : ' (main process only)'}`]);
      if (endEv && endEv.kind === 'signal') {
        // the process's clock may run a little behind the launcher's: never "received before sent"
        kv.push(['Received at', endEv.t >= e.t ? `${rel(endEv.t)} — ${fmtDur(endEv.t - e.t)} later` : `${rel(e.t)} — as it was sent (the process's clock reads ${fmtDur(e.t - endEv.t)} earlier)`]);
        kv.push(['Listeners', endEv.listeners === 0 ? 'none — default action (the process dies at once)' : String(endEv.listeners)]);
      } else kv.push(['Received', 'not reported by the process (no preload, or it died at once)']);
      break;
    }
    case 'signal':
      kv.push(['Signal', e.signal + (e.nth > 1 ? ` (#${e.nth})` : '')]);
      c.pidRow(e.pid);
      kv.push(['Received at', rel(e.t)]);
      kv.push(['Listeners', e.listeners === 0 ? 'none — default action' : String(e.listeners)]);
      kv.push(['Sent by', 'someone other than Shutdown Trace (terminal, app, supervisor)']);
      break;
    case 'listener-start': {
      kv.push(['Listener', displayText(e.name || '(anonymous)', 200)]);
      kv.push(['Signal', e.signal]);
      c.pidRow(e.pid);
      c.timing(e.t, end === Infinity ? undefined : end);
      if (endEv && endEv.kind === 'listener-end') {
        kv.push(['Returned', endEv.returnedPromise ? `a promise, at ${fmtAt(endEv.t)}` : `at ${fmtAt(endEv.t)}`]);
        if (endEv.threw) sections.push(textBlock('Threw', endEv.threw));
      }
      for (let j = idx + 1; j < model.events.length; j++) {
        const k = model.evKind(j);
        if (k !== 'listener-settled' && k !== 'listener-start') continue;
        const x = model.ev(j);
        if (x.kind === 'listener-settled' && x.pid === e.pid && x.id === e.id) {
          kv.push(['Settled', `${x.ok ? 'resolved' : 'rejected'} at ${fmtAt(x.t)}`]);
          if (x.error) sections.push(textBlock('Rejection', x.error));
          break;
        }
        if (x.kind === 'listener-start' && x.pid === e.pid && x.id === e.id) break;
      }
      c.stack('Registered at', e.site);
      break;
    }
    case 'request-start': {
      kv.push(['Request', `${displayText(e.method, 20)} ${displayText(e.path, 400)}`]);
      c.pidRow(e.pid);
      if (endEv && endEv.kind === 'request-end') kv.push(['Status', endEv.aborted ? `aborted (status ${endEv.status})` : String(endEv.status)]);
      else kv.push(['Status', model.live ? 'in flight' : 'never finished — cut off']);
      c.timing(e.t, end === Infinity ? undefined : end, model.live ? 'in flight' : 'never finished');
      kv.push(['Server', displayText(e.server, 120)]);
      kv.push(['Request id', displayText(e.req, 120)]);
      break;
    }
    case 'load-request': {
      const o = e.outcome;
      kv.push(['Outcome', lostRequestEvents(model).has(idx) ? `${o} — lost during shutdown (the analysis counts it)` : o]);
      if (e.status !== undefined) kv.push(['Status', String(e.status)]);
      if (e.error) kv.push(['Error', displayText(e.error, 400)]);
      kv.push(['Keep-alive', e.keepAlive ? 'yes (reused connection)' : 'no (connection: close)']);
      if (e.sse) kv.push(['SSE stream', e.events !== undefined ? `${e.events} events received` : 'yes']);
      c.timing(e.t, e.end);
      kv.push(['Request id', String(e.id)]);
      break;
    }
    case 'load-start':
      kv.push(['URL', displayText(e.url, 300)]);
      kv.push(['Rate', `${e.rate} requests/s${e.sse ? `, ${e.sse} SSE streams` : ''}`]);
      kv.push(['Keep-alive', e.keepAlive ? 'yes' : 'no']);
      kv.push(['At', rel(e.t)]);
      kv.push(['Requests', model.loadCountsText()]);
      break;
    case 'load-summary':
      kv.push(['URL', displayText(e.url, 300)]);
      kv.push(['Sent', `${e.sent} (${e.recorded} recorded${e.skipped ? `, ${e.skipped} skipped` : ''})`]);
      kv.push(['Requests', model.loadCountsText()]);
      kv.push([
        'By outcome',
        Object.entries(e.byOutcome)
          .filter(([, n]) => n)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ') || 'none',
      ]);
      kv.push(['At', rel(e.t)]);
      break;
    case 'termination-start':
      kv.push(['Grace period', `${e.graceSeconds} s (terminationGracePeriodSeconds)`]);
      kv.push(['Stop signal', displayText(e.stopSignal, 40)]);
      if (e.preStop) kv.push(['preStop', displayText(e.preStop, 200)]);
      kv.push(['At', rel(e.t)]);
      if (model.k8sKillT === model.k8sKillT) kv.push(['SIGKILL due', rel(model.k8sKillT)]);
      break;
    case 'prestop-start': {
      kv.push(['Hook', `${e.action}: ${displayText(e.detail, 300)}`]);
      if (endEv && endEv.kind === 'prestop-end') {
        kv.push(['Result', endEv.ok ? 'ok' : `failed${endEv.error ? ': ' + displayText(endEv.error, 300) : ''}`]);
        if (endEv.overran) kv.push(['Overran', 'still running at the grace deadline; the kubelet stopped waiting']);
        if (endEv.status !== undefined) kv.push(['HTTP status', String(endEv.status)]);
        if (endEv.exitCode !== undefined) kv.push(['Exit code', String(endEv.exitCode)]);
        kv.push(['Duration', fmtDur(endEv.durationMs)]);
      }
      c.timing(e.t, end === Infinity ? undefined : end);
      if (endEv && endEv.kind === 'prestop-end' && endEv.output) sections.push(textBlock('Output', endEv.output));
      break;
    }
    case 'grace-extension':
      kv.push(['Extension', `+${e.seconds} s`]);
      kv.push(['Reason', displayText(e.reason, 400)]);
      kv.push(['At', rel(e.t)]);
      break;
    case 'conn-end':
      kv.push(['Connection', displayText(e.conn, 120)]);
      kv.push(['Remote', displayText(e.remote, 200)]);
      kv.push(['Ended', { 'client-closed': 'closed by the client', 'server-ended': 'ended by the server', destroyed: 'destroyed', error: 'with an error' }[e.how] ?? e.how]);
      kv.push(['Had a request', e.hadRequest ? 'yes' : 'no (idle keep-alive)']);
      kv.push(['At', rel(e.t)]);
      c.pidRow(e.pid);
      kv.push(['Server', displayText(e.server, 120)]);
      break;
    case 'listen':
      kv.push(['Listening', `${e.proto} ${displayText(e.address, 200)}`]);
      kv.push(['At', rel(e.t)]);
      c.pidRow(e.pid);
      kv.push(['Server', displayText(e.server, 120)]);
      c.stack('listen() called at', e.site);
      break;
    case 'server-close':
      kv.push(['Server', displayText(e.server, 120)]);
      c.pidRow(e.pid);
      c.timing(e.t, end === Infinity ? undefined : end, model.live ? 'waiting for connections' : 'never finished — connections kept it open');
      kv.push(['At close()', `${e.connections} connections, ${e.active} active, ${e.inFlight} requests in flight`]);
      c.stack('close() called at', e.site);
      break;
    case 'exit-call':
      kv.push(['Call', `process.exit(${e.code === undefined ? '' : displayText(String(e.code), 40)})`]);
      c.pidRow(e.pid);
      kv.push(['At', rel(e.t)]);
      kv.push(['Note', 'Handles still open here are masked leaks: the process ends, but the work they did is cut.']);
      c.stack('Called at', e.site);
      break;
    case 'process-exit': {
      kv.push(['Exit', exitText(e.code, e.signal)]);
      c.pidRow(e.pid);
      kv.push(['At', rel(e.t)]);
      if (e.signal) kv.push(['Shell shows', `exit status ${128 + (SIGNALS[e.signal] ?? 0)}`]);
      const an = model.trace.analysis;
      if (an?.signalToExitMs !== undefined && e.pid === (an.servicePid ?? model.trace.meta?.mainPid)) kv.push(['Signal → exit', fmtDur(an.signalToExitMs)]);
      const l = model.laneByPid.get(e.pid);
      if (l?.info.start !== undefined) kv.push(['Lifetime', fmtDur(e.t - l.info.start)]);
      break;
    }
    case 'error':
      kv.push(['Origin', e.origin]);
      c.pidRow(e.pid);
      kv.push(['At', rel(e.t)]);
      sections.push(textBlock('Message', e.message));
      if (e.stack) sections.push(textBlock('Stack (raw)', e.stack));
      c.stack('Thrown at', e.site);
      break;
    case 'spawn':
      kv.push(['Child PID', String(e.childPid)]);
      kv.push(['Command', displayText(e.command, 500)]);
      c.pidRow(e.pid);
      kv.push(['At', rel(e.t)]);
      c.stack('Spawned at', e.site);
      break;
    case 'snapshot': {
      kv.push([
        'Reason',
        {
          stalled: 'listeners settled but the process stayed alive',
          deadline: 'just before SIGKILL at the deadline',
          'process-exit': 'process.exit() was called',
          exit: 'the process is exiting',
          manual: 'asked for by a user',
        }[e.reason] ?? e.reason,
      ]);
      c.pidRow(e.pid);
      kv.push(['At', rel(e.t)]);
      kv.push(['Handles', String(e.handles.length)]);
      const list = el('ul', { class: 'st-snap-list' });
      for (const h of e.handles.slice(0, 200)) {
        const hi = model.handleIndex(e.pid, h.id);
        const b = el('button', { type: 'button', class: 'st-link-btn' }, `${displayText(h.label || h.type, 120)}${h.ref === false ? ' (unref)' : ''}`);
        if (hi !== undefined) b.addEventListener('click', () => c.select('h:' + hi));
        list.append(el('li', null, b));
      }
      sections.push(el('section', { class: 'st-section' }, el('h3', { text: 'Alive at the snapshot' }), list));
      if (e.unidentified?.length) kv.push(['Not identified', e.unidentified.map((u) => `${displayText(u.type, 40)} × ${u.count}`).join(', ')]);
      break;
    }
    case 'active-count':
      kv.push(['Live handles', String(e.count)]);
      c.pidRow(e.pid);
      kv.push(['At', rel(e.t)]);
      break;
    case 'deadline':
      kv.push(['Grace period', fmtDur(e.graceMs)]);
      kv.push(['Deadline', rel(e.t)]);
      break;
    case 'kill-sent':
      kv.push(['Signal', 'SIGKILL (cannot be caught: nothing after it runs)']);
      kv.push(['To', `pid ${e.target}`]);
      kv.push(['At', rel(e.t)]);
      break;
    case 'orphan':
      kv.push(['Orphan', `pid ${e.pid} (parent ${e.ppid})`]);
      kv.push(['Command', displayText(e.command, 500)]);
      kv.push(['Outcome', e.stopped ? 'stopped by Shutdown Trace' : 'left running']);
      kv.push(['At', rel(e.t)]);
      break;
    case 'note':
      kv.push(['At', rel(e.t)]);
      sections.push(textBlock('Note', e.text));
      break;
    case 'platform':
      kv.push(['At', rel(e.t)]);
      kv.push(['Platform', e.what]);
      if (e.signal) kv.push(['Signal', `${e.signal}${e.delivered === undefined ? '' : e.delivered ? ' (delivered)' : ' (dropped)'}`]);
      if (e.message) kv.push(['Message', displayText(e.message, 500)]);
      sections.push(textBlock('What happened', e.text));
      break;
    case 'collector-rejected':
      kv.push(['At', rel(e.t)]);
      kv.push(['Reason', displayText(e.reason, 400)]);
      break;
    case 'dropped':
      kv.push(['Dropped events', String(e.count)]);
      c.pidRow(e.pid);
      kv.push(['At', rel(e.t)]);
      break;
    case 'before-exit':
      kv.push(['beforeExit code', String(e.code)]);
      c.pidRow(e.pid);
      kv.push(['At', rel(e.t)]);
      break;
    case 'spawned':
    case 'exit':
    case 'handle-open':
    case 'handle-close':
    case 'phase-start':
    case 'phase-end':
    case 'listener-end':
    case 'listener-settled':
    case 'request-end':
    case 'server-closed':
    case 'prestop-end':
      // shown as part of their item (a process, handle, phase, listener, request, server, hook), never selected alone
      kv.push(['Event', e.kind]);
      kv.push(['At', rel(e.t)]);
      break;
    default:
      describeNewer(e);
      kv.push(['Event', displayText((e as { kind: unknown }).kind, 80)]);
      kv.push(['At', rel((e as { t: number }).t)]);
  }
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGUSR1: 10, SIGUSR2: 12, SIGPIPE: 13, SIGTERM: 15 };

function addDetails(kv: KV[], h: HandleInfo): void {
  if (!h.details) return;
  for (const k of Object.keys(h.details).slice(0, 40)) {
    const v = h.details[k];
    kv.push([displayText(k, 40), displayText(String(v), 400)]);
  }
}

function textBlock(title: string, text: string): HTMLElement {
  const MAX = 20_000;
  const shown = displayText(text, MAX, false);
  const block = el('section', { class: 'st-section' }, el('h3', { text: title }), el('pre', { class: 'st-pre', text: shown }));
  if (text.length > MAX) block.append(el('p', { class: 'st-muted', text: `Showing the first ${fmtInt(MAX)} of ${fmtInt(text.length)} characters.` }));
  return block;
}

export function renderStack(title: string, site: Site, cwd: string, cb: Pick<DetailsCallbacks, 'openFrame'>): HTMLElement {
  const list = el('ol', { class: 'st-frames' });
  site.frames.slice(0, 100).forEach((f, k) => {
    const file = displayPath(String(f.file ?? ''));
    const text = displayText(formatFrame({ ...f, file }, cwd), 400);
    const internal = isInternalFile(file) || file.includes('/node_modules/');
    const isUser = k === site.user;
    const li = el('li', { class: `st-frame-row${isUser ? ' user' : ''}${internal ? ' internal' : ''}` });
    li.append(el('span', { class: 'st-fn', text: displayText(f.fn || '(anonymous)', 120) }));
    if (isInternalFile(file)) {
      li.append(el('span', { class: 'st-frame-static', text }));
    } else {
      const b = el('button', { type: 'button', class: 'st-frame', 'data-testid': 'frame', title: 'Open in editor' }, text);
      b.addEventListener('click', () => cb.openFrame(f));
      li.append(b);
    }
    if (isUser) li.append(el('span', { class: 'st-user-tag', text: 'your code' }));
    list.append(li);
  });
  return el('section', { class: 'st-section' }, el('h3', { text: title }), list);
}

/** Every kind has its case above (a kind added to TraceEvent fails to compile); a newer one gets the generic rows. */
function describeNewer(_e: never): void {}
