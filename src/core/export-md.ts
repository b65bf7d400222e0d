/**
 * A Markdown summary of a trace, to paste into a GitHub issue. The trace is redacted first,
 * and every trace-derived string is escaped for where it lands: table cells and prose get
 * Markdown/HTML escaping, inline code and fenced blocks get a fence longer than any backtick
 * run inside them. No `vscode` or Node imports.
 */
import type { Frame } from '../shared/frames';
import type { Finding, RequestAccounting, Trace, TraceEvent } from '../shared/trace';
import type { LoadOutcome } from '../shared/traffic';
import { podWouldHave } from '../shared/kubernetes';
import { redactTrace } from './redact';
import { describePlan, describeWhen, formatExit, formatSite, leakedHandles, truncate, userFrames } from './format';
import { formatDuration, formatOffset } from '../shared/duration';
import { formatFrameLine } from '../shared/frames';

/** How many output lines before the exit to include. */
export const LOG_TAIL_LINES = 20;
/** How many evidence events to list per finding. */
export const MAX_EVIDENCE = 8;
/** How many lost requests to list in "Traffic during shutdown". */
export const MAX_LOST_LISTED = 5;

// ------------------------------------------------------------------ escaping

/**
 * Escapes trace-derived text for Markdown prose and table cells: Markdown punctuation that
 * could start emphasis, links, code or a table column is backslash-escaped, `&`, `<`, `>`
 * become entities (so no HTML gets through), and line breaks become `<br>` (a table row
 * stays one row).
 */
export function mdText(s: unknown): string {
  const str = s === undefined || s === null ? '' : String(s);
  return str
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|~#!])/g, '\\$1')
    .replace(/\r\n|\r|\n/g, '<br>');
}

/** mdText for text that starts a line: a leading list marker, setext underline or ordered-list number is escaped too. */
export function mdLine(s: unknown): string {
  return mdText(s)
    .replace(/^(\s*)([-+=])/, '$1\\$2')
    .replace(/^(\s*\d+)([.)])/, '$1\\$2');
}

/** Inline code for any text: a fence longer than the longest backtick run inside, newlines flattened; `|` escaped when in a table. */
export function mdCode(s: unknown, inTable = false): string {
  let str = (s === undefined || s === null ? '' : String(s)).replace(/\r\n|\r|\n/g, ' ');
  if (inTable) str = str.replace(/\|/g, '\\|');
  if (str === '') return '';
  const longest = Math.max(0, ...(str.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = str.startsWith('`') || str.endsWith('`') || (str.startsWith(' ') && str.endsWith(' ')) ? ' ' : '';
  return `${fence}${pad}${str}${pad}${fence}`;
}

/** A fenced code block whose fence cannot be closed by the content. */
export function mdFence(body: string, lang = ''): string {
  const longest = Math.max(0, ...(body.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${lang}\n${body.replace(/\r\n|\r/g, '\n')}\n${fence}`;
}

function table(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

// ------------------------------------------------------------------ descriptions

const SEVERITY_ICON: Record<string, string> = { error: '🔴', warning: '🟠', info: '🔵' };
const EXIT_ICON: Record<string, string> = {
  graceful: '✅',
  'forced-exit': '🟠',
  'killed-at-deadline': '🔴',
  'killed-by-signal': '🔴',
  crashed: '🔴',
  'exited-before-signal': '🟠',
  'still-running': '⏳',
  unknown: '❔',
};

/**
 * One line, plain text (not yet escaped), describing an event. With the trace, end events
 * name what they end (the phase's name, the handle's label).
 */
export function describeEvent(e: TraceEvent, cwd?: string, trace?: Trace): string {
  const find = <K extends TraceEvent['kind']>(kind: K, match: (x: Extract<TraceEvent, { kind: K }>) => boolean) =>
    (trace?.events ?? []).find((x) => x.kind === kind && x.pid === e.pid && match(x as Extract<TraceEvent, { kind: K }>)) as Extract<TraceEvent, { kind: K }> | undefined;
  switch (e.kind) {
    case 'spawned':
      return `spawned pid ${e.pid}: ${e.command}`;
    case 'signal-sent':
      return `tool sent ${e.signal}${e.nth > 1 ? ` (#${e.nth})` : ''} to ${e.delivery === 'group' ? 'process group of ' : ''}pid ${e.target}`;
    case 'deadline':
      return `grace deadline (${formatDuration(e.graceMs)}) reached`;
    case 'kill-sent':
      return `tool sent SIGKILL to pid ${e.target}`;
    case 'process-exit':
      return `pid ${e.pid} ${formatExit({ code: e.code, signal: e.signal })}`;
    case 'orphan':
      return `pid ${e.pid} (${e.command}) outlived its parent ${e.ppid}${e.stopped ? ', stopped by the tool' : ''}`;
    case 'collector-rejected':
      return `collector rejected a connection: ${e.reason}`;
    case 'note':
    case 'platform':
      return e.text;
    case 'signal':
      return `pid ${e.pid} received ${e.signal}${e.nth > 1 ? ` (#${e.nth})` : ''}, ${e.listeners} listener${e.listeners === 1 ? '' : 's'}`;
    case 'listener-start':
      return `${e.signal} listener ${e.name ?? ''} started${e.site ? ` (${formatSite(e.site, cwd)})` : ''}`.replace('  ', ' ');
    case 'listener-end':
      return `${e.signal} listener returned${e.threw !== undefined ? `, threw: ${e.threw}` : e.returnedPromise ? ' a promise' : ''}`;
    case 'listener-settled':
      return `${e.signal} listener's promise ${e.ok ? 'resolved' : `rejected${e.error ? `: ${e.error}` : ''}`}`;
    case 'listen':
      return `${e.proto} server listening on ${e.address}`;
    case 'server-close':
      return `server.close() with ${e.connections} connection${e.connections === 1 ? '' : 's'}, ${e.inFlight} request${e.inFlight === 1 ? '' : 's'} in flight${e.site ? ` (${formatSite(e.site, cwd)})` : ''}`;
    case 'server-closed':
      return 'server closed';
    case 'conn-end':
      return `connection from ${e.remote} ended (${e.how})`;
    case 'request-start':
      return `request ${e.method} ${e.path}`;
    case 'phase-start':
      return `phase "${e.name}" started`;
    case 'phase-end': {
      const start = find('phase-start', (x) => x.id === e.id);
      return `phase ${start ? `"${start.name}" ` : ''}ended${e.error ? ` with error: ${e.error}` : ''}`;
    }
    case 'exit-call':
      return `process.exit(${e.code ?? ''}) called${e.site ? ` at ${formatSite(e.site, cwd)}` : ''}`;
    case 'before-exit':
      return `beforeExit (code ${e.code})`;
    case 'exit':
      return `exit event (code ${e.code})`;
    case 'error':
      return `${e.origin}: ${e.message}${e.site ? ` (${formatSite(e.site, cwd)})` : ''}`;
    case 'handle-open':
      return `${e.handle.type} opened: ${e.handle.label}${e.handle.site ? ` (${formatSite(e.handle.site, cwd)})` : ''}`;
    case 'handle-close': {
      const open = find('handle-open', (x) => x.handle?.id === e.id);
      return open ? `${open.handle.type} closed: ${open.handle.label}` : `handle ${e.id} closed`;
    }
    case 'request-end': {
      const start = find('request-start', (x) => x.req === e.req && x.server === e.server);
      return `request ${start ? `${start.method} ${start.path} ` : ''}ended ${e.aborted ? '(aborted)' : `with ${e.status}`}`;
    }
    case 'spawn':
      return `spawned child pid ${e.childPid}: ${e.command}`;
    case 'snapshot':
      return `handle snapshot (${e.reason}): ${(e.handles ?? []).filter((h) => h.ref).length} ref'd handle(s)`;
    case 'active-count':
      return `${e.count} active resources`;
    case 'dropped':
      return `${e.count} events dropped`;
    // ---- issue #5
    case 'load-start':
      return `load started: ${e.rate} requests/s at ${e.url}${e.keepAlive ? ' (keep-alive)' : ''}${e.sse ? `, ${e.sse} event stream${e.sse === 1 ? '' : 's'}` : ''}`;
    case 'load-request': {
      const what = e.sse ? `event stream #${e.id}` : `request #${e.id}`;
      const took = formatDuration(e.end - e.t);
      const status = e.status !== undefined ? ` (HTTP ${e.status})` : '';
      const tail = e.sse && e.events !== undefined ? `, ${e.events} event${e.events === 1 ? '' : 's'}` : '';
      return `${what} ${OUTCOME_PHRASE[e.outcome] ?? e.outcome}${status} after ${took}${tail}${e.error ? `: ${e.error}` : ''}`;
    }
    case 'load-summary':
      return `load ended: ${e.sent} request${e.sent === 1 ? '' : 's'} sent${e.streams ? `, ${e.streams} stream${e.streams === 1 ? '' : 's'}` : ''} (${outcomeList(e.byOutcome)})`;
    case 'termination-start':
      return `pod termination began: terminationGracePeriodSeconds ${e.graceSeconds}, stop signal ${e.stopSignal}${e.preStop ? `, preStop ${e.preStop}` : ''}`;
    case 'prestop-start':
      return `preStop ${e.detail} started${e.action === 'exec' && e.hookPid ? ` (pid ${e.hookPid})` : ''}`;
    case 'prestop-end':
      return `preStop ${e.overran ? 'still running at the grace deadline: the kubelet stopped waiting' : e.ok ? 'finished' : `failed${e.error ? `: ${e.error}` : ''}`} after ${formatDuration(e.durationMs)}${e.exitCode !== undefined && e.exitCode !== null && !e.overran ? ` (exit code ${e.exitCode})` : ''}${e.status !== undefined ? ` (HTTP ${e.status})` : ''}`;
    case 'grace-extension':
      return `grace extended by ${e.seconds} s: ${e.reason}`;
    default:
      return (e as { kind: string }).kind;
  }
}

function mainExitTime(trace: Trace): number | undefined {
  const mainPid = trace.meta?.mainPid ?? trace.processes?.find((p) => p.isMain)?.pid;
  const main = trace.processes?.find((p) => p.pid === mainPid);
  if (main?.end !== undefined) return main.end;
  const ev = (trace.events ?? []).find((e) => e.kind === 'process-exit' && e.pid === mainPid);
  return ev?.t;
}

function frameBlock(frames: Frame[], cwd: string): string {
  return mdFence(frames.map((f) => formatFrameLine(f, cwd)).join('\n'), 'text');
}

// ------------------------------------------------------------------ traffic and Kubernetes (issue #5)

const OUTCOME_PHRASE: Record<LoadOutcome, string> = { ok: 'answered', refused: 'refused', reset: 'reset', timeout: 'timed out', 'http-5xx': 'answered 5xx', 'other-error': 'failed' };
const OUTCOME_COLUMNS: [LoadOutcome, string][] = [['ok', 'ok'], ['refused', 'refused'], ['reset', 'reset'], ['timeout', 'timed out'], ['http-5xx', '5xx'], ['other-error', 'other errors']];

function outcomeList(b: Partial<Record<LoadOutcome, number>> | undefined): string {
  return OUTCOME_COLUMNS.filter(([o]) => (b?.[o] ?? 0) > 0).map(([o, w]) => `${b![o]} ${w}`).join(', ') || 'none';
}

/**
 * How a load request counts, as the analysis counts it (analysis.ts accountRequests):
 * `lost` (in the shutdown window, no proper answer), `turned-away` (refused by the closed
 * listener, or reset in its accept queue after close() was called, while the process still
 * ran), `answered`, `after-exit` (sent after the main process exited), `before-shutdown`
 * (failed before termination began), `stream` (a server-sent-event stream).
 */
export type RequestRole = 'lost' | 'turned-away' | 'answered' | 'after-exit' | 'before-shutdown' | 'stream';

/** The shutdown window as the analysis draws it: termination start (or the first signal) to the main process's exit; and the first server.close(). */
function shutdownWindow(trace: Trace): { start?: number; exitAt: number; closeAt: number } {
  const events = trace.events ?? [];
  const mainPid = trace.meta?.mainPid ?? trace.processes?.find((p) => p.isMain)?.pid;
  const first = events.find((e) => e.kind === 'termination-start') ?? events.find((e) => e.kind === 'signal-sent') ?? events.find((e) => e.kind === 'signal');
  const exitAt = events.find((e) => e.kind === 'process-exit' && e.pid === mainPid)?.t ?? trace.processes?.find((p) => p.pid === mainPid)?.end ?? Infinity;
  const closes = events.filter((e) => e.kind === 'server-close').map((e) => e.t);
  return { start: first?.t, exitAt, closeAt: closes.length ? Math.min(...closes) : Infinity };
}

export function requestRoles(trace: Trace): Map<TraceEvent, RequestRole> {
  const { start, exitAt, closeAt } = shutdownWindow(trace);
  const roles = new Map<TraceEvent, RequestRole>();
  for (const e of trace.events ?? []) {
    if (e.kind !== 'load-request') continue;
    let role: RequestRole;
    if (e.sse) role = 'stream';
    else if (e.t >= exitAt) role = 'after-exit';
    else if (start !== undefined && e.end >= start) {
      if (e.outcome === 'ok') role = 'answered';
      else if (e.outcome === 'refused' || (e.outcome === 'reset' && e.t >= closeAt)) role = 'turned-away';
      else role = 'lost';
    } else role = e.outcome === 'ok' ? 'answered' : 'before-shutdown';
    roles.set(e, role);
  }
  return roles;
}

/** The moment the shutdown window opens, in words: "the start of termination", "SIGTERM". */
function windowLabel(trace: Trace): string {
  const events = trace.events ?? [];
  if (events.some((e) => e.kind === 'termination-start')) return 'the start of termination';
  const s = events.find((e) => e.kind === 'signal-sent' || e.kind === 'signal') as { signal?: string } | undefined;
  return s?.signal ?? 'the signal';
}

function countsFrom(spans: Extract<TraceEvent, { kind: 'load-request' }>[]): Record<LoadOutcome, number> {
  const b: Record<LoadOutcome, number> = { ok: 0, refused: 0, reset: 0, timeout: 0, 'http-5xx': 0, 'other-error': 0 };
  for (const s of spans) if (s.outcome in b) b[s.outcome]++;
  return b;
}

function trafficSection(trace: Trace): string[] {
  const events = trace.events ?? [];
  const meta = trace.meta;
  const spans = events.filter((e): e is Extract<TraceEvent, { kind: 'load-request' }> => e.kind === 'load-request');
  const started = events.find((e): e is Extract<TraceEvent, { kind: 'load-start' }> => e.kind === 'load-start');
  const summary = events.find((e): e is Extract<TraceEvent, { kind: 'load-summary' }> => e.kind === 'load-summary');
  if (!meta?.load && !started && spans.length === 0) return [];
  const roles = requestRoles(trace);
  const plain = spans.filter((s) => !s.sse);
  const streams = spans.filter((s) => s.sse);
  const of = (r: RequestRole) => plain.filter((s) => roles.get(s) === r);
  const lostSpans = of('lost');
  const turnedAway = of('turned-away');
  const acc: RequestAccounting | undefined = trace.analysis?.requests;
  const L: string[] = ['### Traffic during shutdown', ''];

  const url = started?.url ?? acc?.url ?? meta?.load?.url ?? meta?.load?.target ?? '';
  const rate = started?.rate ?? meta?.load?.rate;
  const keepAlive = started?.keepAlive ?? meta?.load?.keepAlive;
  const sse = started?.sse ?? meta?.load?.sse ?? 0;
  const how = [
    rate ? `${rate} request${rate === 1 ? '' : 's'}/s` : undefined,
    url ? `at ${mdCode(url)}` : undefined,
    rate ? (keepAlive ? '(keep-alive)' : '(a new connection each)') : undefined,
  ].filter(Boolean).join(' ');
  const tail = meta?.load?.tailMs;
  L.push(`${how || 'Load'}${sse ? `${how ? ', plus' : ''} ${sse} server-sent-event stream${sse === 1 ? '' : 's'}` : ''}, from when the service listened until ${tail !== undefined ? `${formatDuration(tail)} after` : 'just after'} its main process exited.${started ? '' : ' The load never started (the service did not listen, or the target could not be resolved).'}`);
  L.push('');

  const w = shutdownWindow(trace);
  const shutdownB = acc?.shutdown.byOutcome ?? countsFrom(plain.filter((s) => w.start !== undefined && s.t < w.exitAt && s.end >= w.start));
  const allB = acc?.all.byOutcome ?? countsFrom(plain);
  const sum = (b: Record<LoadOutcome, number>) => OUTCOME_COLUMNS.reduce((n, [o]) => n + (b[o] ?? 0), 0);
  L.push(
    ...table(
      ['Requests', ...OUTCOME_COLUMNS.map(([, w]) => w), 'total'],
      [
        [`During shutdown (from ${mdText(windowLabel(trace))} to the exit)`, ...OUTCOME_COLUMNS.map(([o]) => String(shutdownB[o] ?? 0)), String(acc?.shutdown.total ?? sum(shutdownB))],
        ['Whole run', ...OUTCOME_COLUMNS.map(([o]) => String(allB[o] ?? 0)), String(acc?.all.total ?? sum(allB))],
      ],
    ),
  );
  L.push('');

  const lost = acc?.lost ?? lostSpans.length;
  const refusedWhileAlive = acc?.refusedWhileAlive ?? turnedAway.filter((s) => s.outcome === 'refused').length;
  const resetAtClose = acc?.resetAtClose ?? turnedAway.filter((s) => s.outcome === 'reset').length;
  const afterExit = acc?.afterExit ?? of('after-exit').length;
  const before = acc?.failedBeforeShutdown ?? of('before-shutdown').length;
  const label = mdText(windowLabel(trace));
  const lostHow = lostSpans.length ? ` (${outcomeList(countsFrom(lostSpans))})` : '';
  L.push(`- ${lost > 0 ? '🔴' : '✅'} **Lost: ${lost}**: requests in flight at ${label} or sent after it before the main process exited that got no proper answer${lostHow}.`);
  const awayN = refusedWhileAlive + resetAtClose;
  L.push(
    awayN > 0
      ? `- 🟠 **Turned away: ${awayN}** (not counted as lost): ${refusedWhileAlive} refused by the closed listener${resetAtClose ? `, ${resetAtClose} reset in its accept queue as close() ran` : ''}, while the process still ran. A load balancer still routing here would fail them.`
      : '- ✅ **Turned away: 0**: no connection was refused while the process still ran.',
  );
  if (afterExit) L.push(`- Sent after the main process exited: ${afterExit} (the port was closed; never counted as lost).`);
  if (before) L.push(`- 🟠 Failed before shutdown began: ${before} (check the load target and path, or the service's readiness).`);
  if (streams.length || acc?.streams.total) {
    const st = acc?.streams ?? { total: streams.length, endedByServer: streams.filter((s) => s.outcome === 'ok').length, cut: streams.filter((s) => s.outcome === 'reset').length, other: streams.filter((s) => s.outcome !== 'ok' && s.outcome !== 'reset').length };
    L.push(`- ${st.cut + st.other > 0 ? '🔴' : '✅'} Event streams: ${st.total}, ${st.endedByServer} ended by the service, ${st.cut} cut${st.other ? `, ${st.other} other` : ''}.`);
  }
  const unrecorded = acc?.unrecorded ?? 0;
  if (unrecorded) L.push(`- Not recorded as spans (over the cap): ${unrecorded}.`);
  if (summary?.skipped) L.push(`- Skipped: ${summary.skipped} (the launcher fell behind; not sent).`);
  L.push('');

  if (lostSpans.length > 0) {
    const shown = lostSpans.slice(0, MAX_LOST_LISTED);
    L.push(`${lostSpans.length > shown.length ? `First ${shown.length} of ${lostSpans.length} lost requests` : `Lost request${lostSpans.length === 1 ? '' : 's'}`}:`);
    L.push('');
    L.push(
      ...table(
        ['#', 'sent', 'ended', 'outcome', 'error'],
        shown.map((s) => [
          String(s.id),
          formatOffset(s.t),
          `${formatOffset(s.end)} (${formatDuration(s.end - s.t)})`,
          `${mdText(s.outcome)}${s.status !== undefined ? ` (HTTP ${s.status})` : ''}`,
          s.error ? mdCode(truncate(s.error, 200), true) : '–',
        ]),
      ),
    );
    L.push('');
  }
  return L;
}

/** The signal plan of a --k8s run: the plan's moment starts the termination, the rest is the kubelet's. */
function describeK8sPlan(trace: Trace): string[] {
  const k = trace.meta.k8s!;
  const plan = trace.meta.plan;
  const lines: string[] = [];
  lines.push(plan?.when?.mode === 'never' ? 'Termination (Kubernetes, --k8s): not started by the tool' : `Termination (Kubernetes, --k8s): ${describeWhen(plan?.when)}`);
  if (k.preStop) lines.push(`preStop: ${describePreStopPlan(k.preStop)}, then the stop signal`);
  lines.push(`Stop signal: ${k.stopSignal} to the main process only (as the kubelet sends it)`);
  lines.push(`SIGKILL: terminationGracePeriodSeconds ${k.graceSeconds} counted from the start of termination, minus preStop in whole seconds, at least 2 s after the stop signal`);
  return lines;
}

function describePreStopPlan(p: NonNullable<NonNullable<Trace['meta']['k8s']>['preStop']>): string {
  if (p.action === 'sleep') return `sleep ${formatDuration(p.ms)}`;
  if (p.action === 'exec') return `exec ${p.command}`;
  return `httpGet ${p.url}`;
}

const FATE_ICON: Record<string, string> = { graceful: '✅', killed: '🔴', 'died-by-signal': '🔴', crashed: '🔴', 'not-terminated': '🟠', unknown: '❔' };

function k8sSection(trace: Trace): string[] {
  const meta = trace.meta;
  const k = meta?.k8s;
  const events = trace.events ?? [];
  const start = events.find((e): e is Extract<TraceEvent, { kind: 'termination-start' }> => e.kind === 'termination-start');
  if (!k && !start) return [];
  const out = trace.analysis?.k8s;
  const ps = events.find((e): e is Extract<TraceEvent, { kind: 'prestop-start' }> => e.kind === 'prestop-start');
  const pe = events.find((e): e is Extract<TraceEvent, { kind: 'prestop-end' }> => e.kind === 'prestop-end');
  const ext = events.find((e): e is Extract<TraceEvent, { kind: 'grace-extension' }> => e.kind === 'grace-extension');
  const mainPid = meta?.mainPid ?? trace.processes?.find((p) => p.isMain)?.pid;
  const sig = events.find((e): e is Extract<TraceEvent, { kind: 'signal-sent' }> => e.kind === 'signal-sent' && (start === undefined || e.t >= start.t));
  const kill = events.find((e): e is Extract<TraceEvent, { kind: 'kill-sent' }> => e.kind === 'kill-sent');
  const exit = events.find((e): e is Extract<TraceEvent, { kind: 'process-exit' }> => e.kind === 'process-exit' && e.pid === mainPid);
  const main = trace.processes?.find((p) => p.pid === mainPid);
  const t0 = start?.t ?? out?.startedAt ?? k?.startedAt;
  const since = (t: number) => (t0 !== undefined ? ` (${formatDuration(t - t0)} after termination began)` : '');
  const graceSeconds = start?.graceSeconds ?? out?.graceSeconds ?? k?.graceSeconds;
  const stopSignal = start?.stopSignal ?? out?.stopSignal ?? k?.stopSignal ?? 'SIGTERM';
  const schedule = out?.schedule ?? k?.schedule;
  const L: string[] = ['### Kubernetes termination', ''];
  if (out) L.push(`${FATE_ICON[out.fate] ?? '❔'} **${mdText(podWouldHave(out).replace(/^a/, 'A'))}.**`, '');
  else if (!start) L.push('🟠 **Not terminated: the run ended before the termination began.**', '');

  const rows: string[][] = [];
  rows.push(['terminationGracePeriodSeconds', graceSeconds !== undefined ? `${graceSeconds} s` : '–']);
  rows.push(['Stop signal', mdCode(stopSignal, true)]);
  const preStopText = start?.preStop ?? out?.preStop ?? ps?.detail;
  if (!preStopText && !ps) rows.push(['preStop', 'none']);
  else {
    const kind = ps?.action;
    let result = 'did not run';
    if (ps && pe) {
      const how = pe.overran
        ? `⚠️ still running at the ${graceSeconds ?? '?'} s grace deadline: the kubelet stopped waiting (overran)`
        : pe.ok
          ? 'finished'
          : `❌ failed${pe.error ? `: ${mdText(truncate(pe.error, 200))}` : ''}`;
      const code = !pe.overran && pe.exitCode !== undefined && pe.exitCode !== null ? `, exit code ${pe.exitCode}` : '';
      const status = pe.status !== undefined ? `, HTTP ${pe.status}` : '';
      result = `ran ${formatDuration(pe.durationMs)}, from ${formatOffset(ps.t)}: ${how}${code}${status}`;
    } else if (ps) result = `started at ${formatOffset(ps.t)}, never ended in the trace`;
    const p = k?.preStop;
    const what = p?.action === 'sleep' ? `sleep ${formatDuration(p.ms)}` : p?.action === 'exec' ? `exec ${mdCode(truncate(p.command, 200), true)}` : p?.action === 'httpGet' ? `httpGet ${mdCode(truncate(p.url, 200), true)}` : `${kind ? `${mdText(kind)} ` : ''}${mdCode(truncate(preStopText ?? '', 200), true)}`;
    rows.push(['preStop', `${what}: ${result}`]);
  }
  rows.push(['Termination began', t0 !== undefined ? `${formatOffset(t0)} (the grace period counts from here)` : 'never']);
  rows.push(['Stop signal sent', sig ? `${mdText(sig.signal)} to pid ${sig.target} at ${formatOffset(sig.t)}${since(sig.t)}` : 'never']);
  const killDue = schedule && t0 !== undefined ? t0 + schedule.killAtMs : undefined;
  let killText: string;
  if (kill) killText = `sent at ${formatOffset(kill.t)}${since(kill.t)}`;
  else if (killDue !== undefined) killText = `not needed: due at ${formatOffset(killDue)} (${formatDuration(schedule!.killAtMs)} after termination began)${exit ? `, the main process ended before` : ''}`;
  else killText = 'not sent';
  if (kill && schedule) killText += `; due ${formatDuration(schedule.killAtMs)} after termination began, ${schedule.remainingSeconds} s after the stop signal`;
  rows.push(['SIGKILL', killText]);
  const extApplied = ext ?? (schedule?.extended ? { seconds: schedule.remainingSeconds, reason: schedule.overran ? 'preStop overran the grace period' : `the kubelet's ${schedule.remainingSeconds} s minimum after the stop signal`, t: undefined } : undefined);
  rows.push(['Grace extension', extApplied ? `applied: SIGKILL ${extApplied.seconds} s after the stop signal${extApplied.t !== undefined ? ` (at ${formatOffset(extApplied.t)})` : ''}; ${mdText(extApplied.reason)}` : 'none']);
  if (schedule && !schedule.overran && schedule.preStopSeconds > 0) {
    rows.push(['Kubelet arithmetic', `${graceSeconds} s − ${schedule.preStopSeconds} s of preStop (whole seconds) = ${schedule.remainingSeconds} s after the stop signal`]);
  }
  const endAt = exit?.t ?? main?.end;
  rows.push(['Main process ended', endAt !== undefined ? `${formatOffset(endAt)}${since(endAt)}, ${formatExit(main?.exit ?? (exit ? { code: exit.code, signal: exit.signal } : undefined))}` : 'still running when the trace ended']);
  L.push(...table(['Step', 'Value'], rows));
  L.push('');
  if (pe?.output) {
    L.push('preStop output (last lines):');
    L.push('');
    L.push(mdFence(pe.output.split(/\r?\n/).slice(-10).join('\n'), 'text'));
    L.push('');
  }
  return L;
}

// ------------------------------------------------------------------ the summary

/**
 * A redacted bug-report summary of a trace in GitHub-flavoured Markdown (pass `extraSecrets`
 * for exact values the caller knows, as for redactTrace).
 */
export function toMarkdown(input: Trace, extraSecrets?: string[]): string {
  const trace = redactTrace(input, extraSecrets);
  const meta = trace.meta;
  const cwd = meta?.cwd ?? '';
  const a = trace.analysis;
  const L: string[] = [];
  const exitReason = a?.exitReason ?? 'unknown';

  L.push(`## ${EXIT_ICON[exitReason] ?? '❔'} Shutdown Trace: ${mdText(a?.verdict ?? 'no analysis (the run did not finish)')}`);
  L.push('');
  if (meta && meta.complete === false) {
    L.push(`> ⚠️ **Incomplete trace:** ${mdText(meta.incompleteReason ?? 'no reason recorded')}. Timings and findings below cover only what was captured.`);
    L.push('');
  }

  // Summary fields (the seeds' observability fields).
  const rows: string[][] = [];
  rows.push(['Command', mdCode((meta?.command ?? []).join(' '), true)]);
  rows.push(['Exit reason', mdCode(exitReason, true)]);
  rows.push(['Signal → exit', a?.signalToExitMs !== undefined ? formatDuration(a.signalToExitMs) : '–']);
  const grace = a?.graceMs ?? meta?.plan?.graceMs;
  rows.push(['Grace period', grace !== undefined ? formatDuration(grace) : '–']);
  rows.push(['Leaked handles', String(a?.leakedHandleCount ?? leakedHandles(trace).length)]);
  rows.push(['Run length', formatDuration(meta?.durationMs)]);
  const multiProc = (trace.processes ?? []).length > 1;
  for (const p of [...(a?.phases ?? [])].sort((x, y) => x.pid - y.pid || x.start - y.start)) {
    const dur = p.durationMs ?? (p.end !== undefined ? p.end - p.start : undefined);
    const name = `${'↳ '.repeat(Math.max(0, p.depth))}${mdText(p.name)}${multiProc ? ` (pid ${p.pid})` : ''}`;
    const value = dur !== undefined ? formatDuration(dur) : 'did not finish';
    rows.push([`Phase: ${name}`, `${value}${p.error !== undefined ? ` ❌ ${mdText(truncate(p.error, 200))}` : ''}`]);
  }
  L.push(...table(['Field', 'Value'], rows));
  L.push('');

  // Signal plan.
  L.push('### Signal plan');
  L.push('');
  for (const line of meta?.k8s ? describeK8sPlan(trace) : describePlan(meta?.plan)) L.push(`- ${mdText(line)}`);
  L.push('');

  // Processes.
  if ((trace.processes ?? []).length > 0) {
    L.push('### Processes');
    L.push('');
    L.push(
      ...table(
        ['pid', 'role', 'command', 'exit', 'ended', 'traced'],
        trace.processes.map((p) => [
          String(p.pid),
          p.isMain ? 'main' : `child of ${p.ppid}`,
          mdCode(truncate(p.command ?? '', 200), true),
          formatExit(p.exit, p.end !== undefined),
          formatOffset(p.end),
          p.traced ? 'yes' : 'no',
        ]),
      ),
    );
    L.push('');
  }

  // Traffic during shutdown and Kubernetes termination (issue #5).
  L.push(...trafficSection(trace));
  L.push(...k8sSection(trace));

  // Findings.
  const findings: Finding[] = a?.findings ?? [];
  if (findings.length > 0) {
    L.push('### Findings');
    L.push('');
    for (const f of findings) {
      L.push(`- ${SEVERITY_ICON[f.severity] ?? '•'} **${mdText(f.title)}** (${mdCode(f.code)})`);
      if (f.detail) L.push(`  ${mdLine(f.detail)}`);
      const ev = (f.evidence ?? []).map((i) => ({ i, e: trace.events?.[i] })).filter((x) => x.e !== undefined) as { i: number; e: TraceEvent }[];
      for (const { e } of ev.slice(0, MAX_EVIDENCE)) L.push(`  - \`${formatOffset(e.t)}\` ${mdText(truncate(describeEvent(e, cwd, trace), 300))}`);
      if (ev.length > MAX_EVIDENCE) L.push(`  - … and ${ev.length - MAX_EVIDENCE} more`);
    }
    L.push('');
  }

  // Leaked handles.
  const leaks = leakedHandles(trace);
  if (leaks.length > 0) {
    L.push(`### Leaked handles (${leaks.length})`);
    L.push('');
    for (const l of leaks) {
      const h = l.handle;
      const where = h.site ? mdCode(formatSite(h.site, cwd)) : 'unknown site';
      const since = h.createdAt !== undefined ? ` at ${formatOffset(h.createdAt)}` : h.details?.predates ? ' (before the tool loaded)' : '';
      const seen = l.reason === 'finding' ? '' : `; still open at the ${mdText(l.reason)} snapshot (${formatOffset(l.t)})`;
      L.push(`- **${mdText(h.type)}** ${mdCode(truncate(h.label, 200))} in pid ${l.pid}, created at ${where}${since}${seen}`);
      const frames = userFrames(h.site, 5);
      if (frames.length > 0) {
        L.push('');
        for (const line of frameBlock(frames, cwd).split('\n')) L.push(`  ${line}`);
      }
    }
    L.push('');
  }

  // Last output before the exit.
  const exitT = mainExitTime(trace);
  const lines = (trace.output ?? []).filter((o) => exitT === undefined || o.t <= exitT);
  const tail = lines.slice(-LOG_TAIL_LINES);
  if (tail.length > 0) {
    L.push(`### Last ${tail.length === 1 ? 'output line' : `${tail.length} output lines`} before exit${lines.length > tail.length ? ` (of ${lines.length})` : ''}`);
    L.push('');
    const body = tail
      .map((o) => `[${formatOffset(o.t).padStart(9)}]${multiProc ? ` ${o.pid}` : ''}${o.stream === 'stderr' ? ' ERR' : ''} ${String(o.text).replace(/\r?\n/g, ' ')}`)
      .join('\n');
    L.push(mdFence(body, 'text'));
    L.push('');
  }

  // Tool counters, only when something was lost or refused.
  const c = meta?.counters;
  const counterRows: string[][] = [];
  if (c) {
    if (c.droppedEvents) counterRows.push(['Dropped events', String(c.droppedEvents)]);
    if (c.rejectedConnections) counterRows.push(['Rejected collector connections', String(c.rejectedConnections)]);
    if (c.malformedFrames) counterRows.push(['Malformed frames', String(c.malformedFrames)]);
    if (c.outputLinesTruncated) counterRows.push(['Output lines truncated', String(c.outputLinesTruncated)]);
  }
  if (counterRows.length > 0) {
    L.push('### Tool counters');
    L.push('');
    L.push(...table(['Counter', 'Count'], counterRows));
    L.push('');
  }

  // Environment.
  L.push('### Environment');
  L.push('');
  L.push(`- ${mdText(meta?.tool ?? 'shutdown-trace')} ${mdText(meta?.toolVersion ?? '?')}, Node ${mdText(meta?.node ?? '?')} on ${mdText(meta?.platform ?? '?')}`);
  const otherNodes = [...new Set((trace.processes ?? []).map((p) => p.node).filter((n): n is string => !!n && n !== meta?.node))];
  if (otherNodes.length > 0) L.push(`- Other Node versions in the process tree: ${otherNodes.map((n) => mdText(n)).join(', ')}`);
  if (meta?.createdAt) L.push(`- Recorded ${mdText(meta.createdAt)}`);
  L.push('');
  L.push('<sub>Generated by Shutdown Trace. Commands, output and errors were redacted; check before posting.</sub>');
  return L.join('\n') + '\n';
}
