/**
 * A Markdown summary of a trace, to paste into a GitHub issue. The trace is redacted first,
 * and every trace-derived string is escaped for where it lands: table cells and prose get
 * Markdown/HTML escaping, inline code and fenced blocks get a fence longer than any backtick
 * run inside them. No `vscode` or Node imports.
 */
import type { Frame } from './protocol';
import type { Finding, Trace, TraceEvent } from './trace';
import { redactTrace } from './redact';
import { describePlan, formatDuration, formatExit, formatFrameLine, formatOffset, formatSite, leakedHandles, truncate, userFrames } from './format';

/** How many output lines before the exit to include. */
export const LOG_TAIL_LINES = 20;
/** How many evidence events to list per finding. */
export const MAX_EVIDENCE = 8;

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
  for (const line of describePlan(meta?.plan)) L.push(`- ${mdText(line)}`);
  L.push('');

  // Processes.
  if ((trace.processes ?? []).length > 0) {
    L.push('### Processes');
    L.push('');
    L.push(
      ...table(
        ['pid', 'role', 'command', 'exit', 'traced'],
        trace.processes.map((p) => [
          String(p.pid),
          p.isMain ? 'main' : `child of ${p.ppid}`,
          mdCode(truncate(p.command ?? '', 200), true),
          formatExit(p.exit),
          p.traced ? 'yes' : 'no',
        ]),
      ),
    );
    L.push('');
  }

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
      const since = h.createdAt !== undefined ? ` at ${formatOffset(h.createdAt)}` : ' (before the tool loaded)';
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
