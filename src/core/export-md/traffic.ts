/** "Traffic during shutdown": the analysis' request accounting and its lost requests, as Markdown. */
import type { Analysis, Trace, TraceEvent } from '../../shared/trace';
import type { LoadOutcome } from '../../shared/traffic';
import { formatDuration, formatOffset } from '../../shared/duration';
import { truncate } from '../format';
import { mdCode, mdText, table } from './escape';
import { OUTCOME_COLUMNS, outcomeList } from './events';

/** How many lost requests to list. */
export const MAX_LOST_LISTED = 5;

type LoadRequest = Extract<TraceEvent, { kind: 'load-request' }>;

/** Reads `a.requests` (with its roles) and `a.window`; counts nothing itself. */
export function trafficSection(trace: Trace, a: Analysis): string[] {
  const events = trace.events ?? [];
  const meta = trace.meta;
  const acc = a.requests;
  if (!acc?.roles) return [];
  const roles = acc.roles;
  const started = events.find((e): e is Extract<TraceEvent, { kind: 'load-start' }> => e.kind === 'load-start');
  const summary = events.find((e): e is Extract<TraceEvent, { kind: 'load-summary' }> => e.kind === 'load-summary');
  const spansAt = (ix: number[]) => ix.map((i) => events[i]).filter((e): e is LoadRequest => e?.kind === 'load-request');
  const lostSpans = spansAt(roles.lost);
  const L: string[] = ['### Traffic during shutdown', ''];

  const url = started?.url ?? acc.url ?? meta?.load?.url ?? meta?.load?.target ?? '';
  const rate = started?.rate ?? meta?.load?.rate;
  const keepAlive = started?.keepAlive ?? meta?.load?.keepAlive;
  const sse = started?.sse ?? meta?.load?.sse ?? 0;
  const how = [rate ? `${rate} request${rate === 1 ? '' : 's'}/s` : undefined, url ? `at ${mdCode(url)}` : undefined, rate ? (keepAlive ? '(keep-alive)' : '(a new connection each)') : undefined]
    .filter(Boolean)
    .join(' ');
  const tail = meta?.load?.tailMs;
  L.push(
    `${how || 'Load'}${sse ? `${how ? ', plus' : ''} ${sse} server-sent-event stream${sse === 1 ? '' : 's'}` : ''}, from when the service listened until ${tail !== undefined ? `${formatDuration(tail)} after` : 'just after'} its main process exited.${started ? '' : ' The load never started (the service did not listen, or the target could not be resolved).'}`,
  );
  L.push('');

  const label = mdText(a.window?.opener ?? 'the signal');
  const row = (b: Record<LoadOutcome, number>) => OUTCOME_COLUMNS.map(([o]) => String(b[o] ?? 0));
  L.push(
    ...table(
      ['Requests', ...OUTCOME_COLUMNS.map(([, w]) => w), 'total'],
      [
        [`During shutdown (from ${label} to the exit)`, ...row(acc.shutdown.byOutcome), String(acc.shutdown.total)],
        ['Whole run', ...row(acc.all.byOutcome), String(acc.all.total)],
      ],
    ),
  );
  L.push('');

  const lost = acc.lost;
  const lostHow = lostSpans.length ? ` (${outcomeList(countsOf(lostSpans))})` : '';
  L.push(`- ${lost > 0 ? '🔴' : '✅'} **Lost: ${lost}**: requests in flight at ${label} or sent after it before the main process exited that got no proper answer${lostHow}.`);
  const awayN = acc.refusedWhileAlive + acc.resetAtClose;
  L.push(
    awayN > 0
      ? `- 🟠 **Turned away: ${awayN}** (not counted as lost): ${acc.refusedWhileAlive} refused by the closed listener${acc.resetAtClose ? `, ${acc.resetAtClose} reset in its accept queue as close() ran` : ''}, while the process still ran. A load balancer still routing here would fail them.`
      : '- ✅ **Turned away: 0**: no connection was refused while the process still ran.',
  );
  if (acc.afterExit) L.push(`- Sent after the main process exited: ${acc.afterExit} (the port was closed; never counted as lost).`);
  if (acc.failedBeforeShutdown) L.push(`- 🟠 Failed before shutdown began: ${acc.failedBeforeShutdown} (check the load target and path, or the service's readiness).`);
  const st = acc.streams;
  if (st.total) L.push(`- ${st.cut + st.other > 0 ? '🔴' : '✅'} Event streams: ${st.total}, ${st.endedByServer} ended by the service, ${st.cut} cut${st.other ? `, ${st.other} other` : ''}.`);
  if (acc.unrecorded) L.push(`- Not recorded as spans (over the cap): ${acc.unrecorded}.`);
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

function countsOf(spans: LoadRequest[]): Record<LoadOutcome, number> {
  const b: Record<LoadOutcome, number> = { ok: 0, refused: 0, reset: 0, timeout: 0, 'http-5xx': 0, 'other-error': 0 };
  for (const s of spans) if (s.outcome in b) b[s.outcome]++;
  return b;
}
