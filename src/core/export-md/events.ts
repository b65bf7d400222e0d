/** Events in one line of plain text (escaped where they land), for the findings' evidence. */
import type { Trace, TraceEvent } from '../../shared/trace';
import type { LoadOutcome } from '../../shared/traffic';
import { formatDuration } from '../../shared/duration';
import { formatExit, formatSite } from '../format';

const OUTCOME_PHRASE: Record<LoadOutcome, string> = { ok: 'answered', refused: 'refused', reset: 'reset', timeout: 'timed out', 'http-5xx': 'answered 5xx', 'other-error': 'failed' };
export const OUTCOME_COLUMNS: [LoadOutcome, string][] = [
  ['ok', 'ok'],
  ['refused', 'refused'],
  ['reset', 'reset'],
  ['timeout', 'timed out'],
  ['http-5xx', '5xx'],
  ['other-error', 'other errors'],
];

export function outcomeList(b: Partial<Record<LoadOutcome, number>> | undefined): string {
  return (
    OUTCOME_COLUMNS.filter(([o]) => (b?.[o] ?? 0) > 0)
      .map(([o, w]) => `${b![o]} ${w}`)
      .join(', ') || 'none'
  );
}

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
    default: {
      // A kind from a newer writer: named, not described.
      const newer: never = e;
      return (newer as { kind: string }).kind;
    }
  }
}
