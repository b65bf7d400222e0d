/** The terminal report printed after a run and by `show`. */
import type { Trace } from '../shared/trace';
import { formatFrame, leakFrame } from '../shared/frames';
import { podWouldHave } from '../shared/kubernetes';
import { analyze } from '../core/analysis';
import { terminalSafe } from '../core/terminal-safe';
import { printable } from './printable';
import { formatDuration } from '../shared/duration';

const fmtMs = (ms: number | undefined): string => formatDuration(ms);

/** Prints from the trace's meta, processes and analysis only: printable() makes those safe (redacted, no control characters). */
export function renderReport(input: Trace, o: { tracePath?: string; color?: boolean } = {}): string {
  const trace = printable(input);
  const tracePath = o.tracePath === undefined ? undefined : terminalSafe(o.tracePath);
  const a = trace.analysis ?? analyze(trace);
  const c = (code: string, s: string) => (o.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const sev = { error: c('31', '✖'), warning: c('33', '▲'), info: c('36', '●') };
  const lines: string[] = [];
  lines.push(c('1', 'Shutdown Trace'));
  lines.push(`  ${a.verdict}`);
  lines.push('');
  const main = trace.processes.find((p) => p.isMain);
  const se = a.serviceExit ?? main?.exit;
  const exit = se ? (se.signal ? `killed by ${se.signal}` : `code ${se.code}`) : 'still running';
  const runner =
    main && a.servicePid !== undefined && a.servicePid !== main.pid
      ? `; service pid ${a.servicePid} under the runner ${main.command.split(' ').slice(0, 2).join(' ')}${main.exit ? `, which ${main.exit.signal ? `died by ${main.exit.signal}` : `exited ${main.exit.code}`}` : ''}`
      : '';
  lines.push(`  exit reason      ${a.exitReason} (${exit}${runner})`);
  lines.push(`  signal → exit    ${fmtMs(a.signalToExitMs)} of ${fmtMs(a.graceMs)} grace`);
  lines.push(`  leaked handles   ${a.leakedHandleCount}`);
  const rq = a.requests;
  if (rq) {
    const by = rq.shutdown.byOutcome;
    const parts = Object.entries(by)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${n} ${k}`);
    lines.push(
      `  traffic          ${rq.lost ? c('31', `${rq.lost} lost`) : '0 lost'} of ${rq.shutdown.total} during shutdown (${parts.join(', ') || 'none'}); ${rq.refusedWhileAlive + rq.resetAtClose} turned away after close()`,
    );
    if (rq.streams.total) lines.push(`  streams          ${rq.streams.total} open: ${rq.streams.endedByServer} ended by the service, ${rq.streams.cut} cut`);
  }
  if (a.k8s) lines.push(`  kubernetes       ${podWouldHave(a.k8s)} (grace ${a.k8s.graceSeconds} s${a.k8s.preStop ? `, preStop ${a.k8s.preStop}` : ''})`);
  if (!trace.meta.complete) lines.push(`  ${c('33', 'incomplete')}       ${trace.meta.incompleteReason}`);
  const phases = a.phases.filter((p) => !p.id.startsWith('shutdown-'));
  if (phases.length) {
    lines.push('');
    lines.push(c('1', '  Phases'));
    for (const p of phases.slice(0, 30)) {
      lines.push(`  ${'  '.repeat(p.depth)}${fmtMs(p.durationMs).padStart(9)}  ${p.name}${p.end === undefined ? ' (never finished)' : ''}${p.error ? c('31', `  ✖ ${p.error}`) : ''}`);
    }
  }
  const leaks = a.leaks ?? [];
  if (leaks.length) {
    lines.push('');
    lines.push(c('1', `  Leaks (${leaks.length}): what kept it alive, and where your code created it`));
    for (const l of leaks.slice(0, 20)) {
      const where = l.site ? formatFrame(l.site, trace.meta.cwd) : 'creation site unknown';
      lines.push(`  ${l.inUserCode ? c('31', '✖') : c('33', '●')} ${l.title}${l.count > 1 ? ` [${l.count} handles]` : ''}  ${c('2', 'at')} ${where}${l.pid !== a.servicePid ? ` (pid ${l.pid})` : ''}`);
      if (l.owner) {
        const held = l.handles
          .slice(0, 4)
          .map((h) => `${h.label}${h.owner?.path ? ` (.${h.owner.path})` : ''}`)
          .join('; ');
        lines.push(`      ${c('2', 'holds')} ${held}${l.handles.length > 4 ? `; … ${l.handles.length - 4} more` : ''}`);
      }
      if (l.fix) lines.push(`      ${c('2', 'fix')} ${l.fix}`);
    }
    if (leaks.length > 20) lines.push(`  … and ${leaks.length - 20} more`);
  }
  if (a.findings.length) {
    lines.push('');
    lines.push(c('1', '  Findings'));
    for (const f of a.findings) {
      lines.push(`  ${sev[f.severity]} ${f.title}`);
      lines.push(`    ${f.detail}`);
      // Handles that are leaks are listed once, above, grouped by owner.
      const leakKeys = new Set(leaks.flatMap((l) => l.handles.map((h) => `${h.id}|${h.label}`)));
      const rest = (f.handles ?? []).filter((h) => !leakKeys.has(`${h.id}|${h.label}`));
      for (const h of rest.slice(0, 10)) {
        const fr = leakFrame(h);
        lines.push(`      - ${h.label}  ${c('2', 'created at')} ${fr ? formatFrame(fr, trace.meta.cwd) : 'unknown site'}`);
      }
      if (rest.length > 10) lines.push(`      … and ${rest.length - 10} more`);
    }
  }
  const { counters } = trace.meta;
  const lost = Object.entries(counters).filter(([, v]) => v > 0);
  if (lost.length) {
    lines.push('');
    lines.push(`  counters: ${lost.map(([k, v]) => `${k}=${v}`).join(', ')}`);
  }
  if (tracePath) {
    lines.push('');
    lines.push(`  trace: ${tracePath}`);
    lines.push(`  open it: shutdown-trace view ${tracePath}   |   export: shutdown-trace export ${tracePath} --format chrome|md`);
  }
  return lines.join('\n');
}
