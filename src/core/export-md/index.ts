/**
 * A Markdown summary of a trace, to paste into a GitHub issue. The trace is redacted first and
 * every figure is read from the analysis. The rooms: escape.ts (Markdown escaping), events.ts
 * (an event in one line), traffic.ts and kubernetes.ts (their sections). No `vscode` or Node imports.
 */
import type { Finding, Trace, TraceEvent } from '../../shared/trace';
import { formatDuration, formatOffset } from '../../shared/duration';
import { formatFrame, formatFrameLine } from '../../shared/frames';
import { headline } from '../../shared/headline';
import { analysisOf } from '../analysis';
import { redactTrace, rewriteStrings } from '../redact';
import { describePlan, formatExit, truncate, userFrames } from '../format';
import { mdCode, mdFence, mdLine, mdText, table } from './escape';
import { describeEvent } from './events';
import { trafficSection } from './traffic';
import { describeK8sPlan, k8sSection } from './kubernetes';

export { mdText, mdLine, mdCode, mdFence } from './escape';
export { describeEvent } from './events';
export { MAX_LOST_LISTED } from './traffic';

/** How many output lines before the exit to include. */
export const LOG_TAIL_LINES = 20;
/** How many evidence events to list per finding. */
export const MAX_EVIDENCE = 8;

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
 * Paths under `root` become relative ("src/server.js", "." for root itself), file:// URLs
 * included; other home directories become "~".
 */
function relativizer(root: string): (s: string) => string {
  const r = root.replace(/[\\/]+$/, '');
  const esc = r.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const under = r.length > 1 ? new RegExp(`(?:file://)?${esc}(?:[\\\\/]|(?![\\w.-]))`, 'g') : undefined;
  const home = /(?:\/home|\/Users|[A-Za-z]:\\Users)[\\/][^\\/\s'"`]+/g;
  return (s) => {
    let out = under && s.includes(r) ? s.replace(under, (m) => (/[\\/]$/.test(m) ? '' : '.')) : s;
    if (out.includes('/home/') || out.includes('/Users/') || out.includes('\\Users\\')) out = out.replace(home, '~');
    return out;
  };
}

/**
 * A redacted bug-report summary of a trace in GitHub-flavoured Markdown (pass `extraSecrets`
 * for exact values the caller knows, as for redactTrace). Paths under `root` (the run's working
 * directory unless given) are written relative to it, and home directories as `~`, so no local
 * absolute path is posted.
 */
export function toMarkdown(input: Trace, extraSecrets?: string[], o: { root?: string } = {}): string {
  const trace = redactTrace(input, extraSecrets);
  rewriteStrings(trace, relativizer(o.root ?? trace.meta?.cwd ?? ''));
  const meta = trace.meta;
  const cwd = meta?.cwd ?? '';
  const a = analysisOf(trace);
  const L: string[] = [];
  const exitReason = a.exitReason;

  const title = headline(a, { signal: meta?.plan?.signal, complete: meta?.complete });
  L.push(`## ${EXIT_ICON[exitReason] ?? '❔'} Shutdown Trace: ${mdText(title.text)}`);
  L.push('');
  if (meta && meta.complete === false) {
    L.push(`> ⚠️ **Incomplete trace:** ${mdText(meta.incompleteReason ?? 'no reason recorded')}. Timings and findings below cover only what was captured.`);
    L.push('');
  }
  L.push(mdLine(a.verdict));
  L.push('');

  // Summary fields: the figures every consumer shows, from the analysis.
  const rows: string[][] = [];
  rows.push(['Command', mdCode((meta?.command ?? []).join(' '), true)]);
  rows.push(['Exit reason', mdCode(exitReason, true)]);
  rows.push(['Signal → exit', a.signalToExitMs !== undefined ? formatDuration(a.signalToExitMs) : '–']);
  const grace = a.graceMs ?? meta?.plan?.graceMs;
  rows.push(['Grace period', grace !== undefined ? formatDuration(grace) : '–']);
  rows.push(['Leaked handles', String(a.leakedHandleCount)]);
  rows.push(['Run length', formatDuration(meta?.durationMs)]);
  const multiProc = (trace.processes ?? []).length > 1;
  for (const p of [...(a.phases ?? [])].sort((x, y) => x.pid - y.pid || x.start - y.start)) {
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

  L.push(...trafficSection(trace, a));
  L.push(...k8sSection(trace, a));

  // Findings.
  const findings: Finding[] = a.findings ?? [];
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

  // The leaks, as the analysis groups them: an owner (or the handle itself) with the user's line.
  const leaks = a.leaks ?? [];
  if (leaks.length > 0) {
    L.push(`### Leaked handles (${a.leakedHandleCount})`);
    L.push('');
    for (const l of leaks) {
      const first = l.handles[0];
      const where = l.site ? mdCode(formatFrame(l.site, cwd)) : 'unknown site';
      const since = first?.createdAt !== undefined ? ` at ${formatOffset(first.createdAt)}` : first?.details?.predates ? ' (before the tool loaded)' : '';
      const count = l.count > 1 ? ` (${l.count} handles)` : '';
      L.push(
        `- **${mdText(l.owner?.name ?? first?.type ?? 'handle')}** ${mdCode(truncate(l.title, 200))}${count} in pid ${l.pid}, created at ${where}${since}${l.fix ? `; fix: ${mdText(l.fix)}` : ''}`,
      );
      const frames = userFrames(first?.site ?? l.owner?.site, 5);
      if (frames.length > 0) {
        L.push('');
        const block = mdFence(frames.map((f) => formatFrameLine(f, cwd)).join('\n'), 'text');
        for (const line of block.split('\n')) L.push(`  ${line}`);
      }
    }
    L.push('');
  }

  // Last output before the exit.
  const exitT = a.window?.end;
  const lines = (trace.output ?? []).filter((o) => exitT === undefined || o.t <= exitT);
  const tail = lines.slice(-LOG_TAIL_LINES);
  if (tail.length > 0) {
    L.push(`### Last ${tail.length === 1 ? 'output line' : `${tail.length} output lines`} before exit${lines.length > tail.length ? ` (of ${lines.length})` : ''}`);
    L.push('');
    const body = tail.map((o) => `[${formatOffset(o.t).padStart(9)}]${multiProc ? ` ${o.pid}` : ''}${o.stream === 'stderr' ? ' ERR' : ''} ${String(o.text).replace(/\r?\n/g, ' ')}`).join('\n');
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
