/**
 * Traffic during shutdown: the shutdown window, the one definition of how a request counts
 * (lost, turned away, after the exit, failed before), the accounting, and its findings.
 * Every consumer (reports, exports, the viewer) reads these results from the analysis.
 */
import type { Trace, TraceEvent, Analysis, RequestAccounting, RequestRoles, ShutdownWindow } from '../../shared/trace';
import type { RequestRole } from '../../shared/request-roles';
import { plural } from './words';

type Ev<K extends TraceEvent['kind']> = Extract<TraceEvent, { kind: K }>;
type LoadSpanEvent = Ev<'load-request'>;

const OUTCOME_WORDS: Record<LoadSpanEvent['outcome'], string> = { ok: 'ok', refused: 'refused', reset: 'reset', timeout: 'timed out', 'http-5xx': 'answered 5xx', 'other-error': 'other errors' };

function describeOutcomes(spans: LoadSpanEvent[]): string {
  const n = new Map<string, number>();
  for (const s of spans) n.set(s.outcome, (n.get(s.outcome) ?? 0) + 1);
  return [...n].map(([o, c]) => `${c} ${OUTCOME_WORDS[o as LoadSpanEvent['outcome']]}`).join(', ') || 'none';
}

/** The window as computed, with Infinity for "never" (the trace's ShutdownWindow leaves those out). */
interface Window {
  start?: number;
  end: number;
  closeAt: number;
  /** Remote ports of the connections the service had accepted when it closed its listeners; undefined when the trace does not say. */
  accepted?: Set<number>;
  opener: string;
}

/** Termination start (preStop with --k8s, else the first signal), the main process's exit, the first server.close(). */
function windowOf(trace: Trace): Window {
  const { events, meta } = trace;
  const mainPid = meta.mainPid ?? trace.processes.find((p) => p.isMain)?.pid;
  const term = events.find((e) => e.kind === 'termination-start');
  const sent = events.find((e): e is Ev<'signal-sent'> => e.kind === 'signal-sent');
  const arrived = events.find((e): e is Ev<'signal'> => e.kind === 'signal');
  const exit = events.find((e) => e.kind === 'process-exit' && e.pid === mainPid);
  const main = trace.processes.find((p) => p.pid === mainPid);
  const closes = events.filter((e): e is Ev<'server-close'> => e.kind === 'server-close');
  const listing = closes.filter((c) => c.remotePorts);
  return {
    start: term?.t ?? sent?.t ?? arrived?.t,
    end: exit?.t ?? main?.end ?? Infinity,
    closeAt: closes.length ? Math.min(...closes.map((c) => c.t)) : Infinity,
    accepted: listing.length ? new Set(listing.flatMap((c) => c.remotePorts!)) : undefined,
    opener: term ? 'the start of termination' : ((sent ?? arrived)?.signal ?? 'the signal'),
  };
}

/** The shutdown window as the analysis records it. */
export function shutdownWindow(trace: Trace): ShutdownWindow {
  const w = windowOf(trace);
  return {
    ...(w.start !== undefined ? { start: w.start } : {}),
    opener: w.opener,
    ...(Number.isFinite(w.end) ? { end: w.end } : {}),
    ...(Number.isFinite(w.closeAt) ? { closeAt: w.closeAt } : {}),
  };
}

/**
 * A reset of a connection the service never accepted: sent after close(), or reset when close()
 * ran while its connection still waited in the kernel's accept queue (the event loop had not
 * taken it yet, e.g. while the signal's listeners ran): its port is not among the connections
 * the service held at close().
 */
function resetInAcceptQueue(r: LoadSpanEvent, w: Window): boolean {
  if (r.outcome !== 'reset') return false;
  if (r.t >= w.closeAt) return true;
  return r.localPort !== undefined && w.accepted !== undefined && r.end >= w.closeAt && !w.accepted.has(r.localPort);
}

/**
 * How one load request counts. In the window (in flight at its start or sent after it, before
 * the exit): answered, turned away (refused by the closed listener, or reset in its accept
 * queue as close() ran), or lost (any other failure). Outside it: after the exit (never lost),
 * or failed before the shutdown.
 */
function roleOf(r: LoadSpanEvent, w: Window): RequestRole {
  if (r.sse) return 'stream';
  if (r.t >= w.end) return 'after-exit';
  if (w.start !== undefined && r.end >= w.start) {
    if (r.outcome === 'ok') return 'answered';
    if (r.outcome === 'refused' || resetInAcceptQueue(r, w)) return 'turned-away';
    return 'lost';
  }
  return r.outcome === 'ok' ? 'answered' : 'before-shutdown';
}

function emptyCounts() {
  return { total: 0, byOutcome: { ok: 0, refused: 0, reset: 0, timeout: 0, 'http-5xx': 0, 'other-error': 0 } };
}

/** Every request accounted for, with which ones are lost, turned away, after the exit, failed before. */
export function accountRequests(trace: Trace): RequestAccounting | undefined {
  const { events, meta } = trace;
  const started = events.find((e): e is Ev<'load-start'> => e.kind === 'load-start');
  const summary = events.find((e): e is Ev<'load-summary'> => e.kind === 'load-summary');
  if (!meta.load && !started) return undefined;
  const w = windowOf(trace);
  const all = emptyCounts();
  const shutdown = emptyCounts();
  const roles: RequestRoles = { lost: [], turnedAway: [], afterExit: [], beforeShutdown: [] };
  let resetAtClose = 0;
  const streams = { total: 0, endedByServer: 0, cut: 0, other: 0 };
  events.forEach((r, i) => {
    if (r.kind !== 'load-request') return;
    const role = roleOf(r, w);
    if (role === 'stream') {
      streams.total++;
      if (r.outcome === 'ok') streams.endedByServer++;
      else if (r.outcome === 'reset') streams.cut++;
      else streams.other++;
      return;
    }
    all.total++;
    all.byOutcome[r.outcome]++;
    if (role === 'after-exit') roles.afterExit.push(i);
    else if (role === 'before-shutdown') roles.beforeShutdown.push(i);
    else if (w.start !== undefined && r.end >= w.start) {
      shutdown.total++;
      shutdown.byOutcome[r.outcome]++;
      if (role === 'lost') roles.lost.push(i);
      else if (role === 'turned-away') {
        roles.turnedAway.push(i);
        if (r.outcome === 'reset') resetAtClose++;
      }
    }
  });
  return {
    url: started?.url ?? meta.load?.url ?? '',
    all,
    shutdown,
    lost: roles.lost.length,
    refusedWhileAlive: shutdown.byOutcome.refused,
    resetAtClose,
    failedBeforeShutdown: roles.beforeShutdown.length,
    afterExit: roles.afterExit.length,
    streams,
    unrecorded: summary ? Math.max(0, summary.sent + summary.streams - summary.recorded) : 0,
    roles,
  };
}

/** The lost-requests and open-streams findings; a verdict that says how many were lost. */
export function addRequestFindings(trace: Trace, a: Analysis, requests: RequestAccounting): void {
  const { events } = trace;
  const findings = a.findings;
  const w = windowOf(trace);
  const roles = requests.roles!;
  const spansAt = (ix: number[]) => ix.map((i) => events[i] as LoadSpanEvent);
  const b = requests.shutdown.byOutcome;
  const resetMid = b.reset - requests.resetAtClose;
  const turnedAway = requests.refusedWhileAlive + requests.resetAtClose;
  const parts = [
    resetMid && `${resetMid} reset mid-request`,
    b.timeout && `${b.timeout} timed out`,
    b['http-5xx'] && `${b['http-5xx']} answered 5xx`,
    b['other-error'] && `${b['other-error']} failed otherwise`,
  ].filter(Boolean);
  const during = `${plural(requests.shutdown.total, 'request')} were in flight at ${w.opener} or sent after it until the main process exited`;
  const refusedText = turnedAway
    ? ` ${plural(turnedAway, 'new connection')} ${turnedAway === 1 ? 'was' : 'were'} turned away while the process still ran (${requests.refusedWhileAlive} refused by the closed listener${requests.resetAtClose ? `, ${requests.resetAtClose} reset in its accept queue as close() ran` : ''}): a load balancer that still routes here fails them, which a preStop sleep or a short delay before server.close() covers.`
    : '';
  const after = requests.afterExit ? ` ${plural(requests.afterExit, 'request')} sent after it exited ${requests.afterExit === 1 ? 'was' : 'were'} not counted.` : '';
  if (w.start === undefined || (requests.all.total === 0 && requests.streams.total > 0)) {
    // No termination happened, or streams only: no plain request to count as lost.
  } else if (requests.lost > 0) {
    findings.push({
      code: 'lost-requests',
      severity: 'error',
      title: `${plural(requests.lost, 'request')} lost during shutdown: ${parts.join(', ')}`,
      detail: `${during}; ${requests.lost} of them got no proper answer.${refusedText}${after}`,
      evidence: roles.lost.slice(0, 500),
    });
    a.verdict = `${a.verdict} ${plural(requests.lost, 'request')} lost during shutdown (${parts.join(', ')}).`;
  } else {
    findings.push({
      code: 'lost-requests',
      severity: turnedAway ? 'warning' : 'info',
      title: `No request lost during shutdown${turnedAway ? `; ${turnedAway} turned away after the listener closed` : ''}`,
      detail: `${during}; every one that reached the service was answered (${b.ok} ok).${refusedText}${after}`,
      evidence: roles.turnedAway.slice(0, 500),
    });
  }
  if (requests.failedBeforeShutdown > 0) {
    const before = roles.beforeShutdown;
    findings.push({
      code: 'lost-requests',
      severity: 'warning',
      title: `${plural(requests.failedBeforeShutdown, 'request')} failed before shutdown began`,
      detail: `They were not answered while the service was supposed to be serving (${describeOutcomes(spansAt(before))}): check the --load target and path, or the service's readiness.`,
      evidence: before.slice(0, 200),
    });
  }
  const st = requests.streams;
  if (st.total > 0 && w.start !== undefined) {
    const streams: number[] = [];
    events.forEach((e, i) => {
      if (e.kind === 'load-request' && e.sse) streams.push(i);
    });
    if (st.cut + st.other > 0) {
      findings.push({
        code: 'open-streams',
        severity: 'error',
        title: `${plural(st.cut + st.other, 'event stream')} never ended by the app`,
        detail: `Of ${plural(st.total, 'server-sent-event stream')}, ${st.endedByServer} ${st.endedByServer === 1 ? 'was' : 'were'} ended by the service; ${st.cut + st.other} ${st.cut + st.other === 1 ? 'was' : 'were'} cut (${describeOutcomes(spansAt(streams).filter((r) => r.outcome !== 'ok'))}). A stream never ends on its own, so it holds server.close() open until the app ends it (res.end() on shutdown) or the process is killed.`,
        evidence: streams,
      });
    } else {
      findings.push({
        code: 'open-streams',
        severity: 'info',
        title: `${plural(st.total, 'event stream')} ended by the service`,
        detail: 'Every server-sent-event stream was ended by the app during shutdown, so none held server.close() open.',
        evidence: streams,
      });
    }
  }
}
