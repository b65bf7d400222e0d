/**
 * shutdown-trace check: a CI gate. Runs one traced shutdown (every `run` option applies), then
 * holds the result against budgets:
 *
 *   graceful-exit    the service exits by itself with code 0 after the signal (not killed, not crashed)
 *   shutdown-time    ...within the grace period, or --max-shutdown
 *   leaked-handles   no handle left alive (except --allow-leak patterns)
 *   orphans          no child process outlives the service (unless --allow-orphans)
 *   lost-requests    with --load: no request lost during shutdown (or at most --max-lost)
 *   refused-requests with --max-refused: at most N new connections refused while it still ran
 *
 * Prints the diagnosis and each broken budget, writes the trace and a JUnit XML report.
 * Exit codes: 0 every budget holds, 1 a budget is broken, 2 a usage or launch error, 130 interrupted.
 */
import * as os from 'os';
import * as path from 'path';
import { collectorTokens } from '../core/collector';
import { redactText, removeExact } from '../core/redact';
import { terminalSafe, terminalSafeJson } from '../core/terminal-safe';
import { stdout, stderr, writeWithFallback, fallbackName } from './io';
import { redactedSummary } from './printable';
import { formatFrame, userFrame } from '../shared/frames';
import { formatDuration } from '../shared/duration';
import type { Leak } from '../shared/trace';
import type { Trace } from '../shared/trace';
import type { HandleInfo } from '../shared/wire';
import { junitXml, type JUnitCase } from '../core/junit';
import { renderReport } from './report';
import { parseDuration, wholeNumber, UsageError } from './args';
import { Option, value, repeatable, type CliCommand } from './command';
import { runArgsFrom, type RunValues } from './run-options';
import { traceFromArgs, saveTrace, savedMessage } from './run';

/** Adds check's budgets to a command that already has the run options. */
export function declareCheckOptions(cmd: CliCommand): CliCommand {
  for (const o of [
    value(new Option('--max-shutdown <DUR>', "longest allowed time from the signal (with --k8s: from termination's start) to exit (default: the grace period)"), parseDuration),
    repeatable(new Option('--allow-leak <PATTERN>', 'allow leaked handles matching PATTERN: a label, type or file:line, * as wildcard (repeatable)')),
    new Option('--allow-leaks', 'allow any leaked handle'),
    new Option('--allow-orphans', 'allow child processes that outlive the service'),
    value(new Option('--max-lost <N>', 'requests allowed to be lost during shutdown with --load (default 0)'), (v, f) => wholeNumber(v, f)),
    value(new Option('--max-refused <N>', 'also limit connections refused while it still ran (default: not checked)'), (v, f) => wholeNumber(v, f)),
    value(new Option('--junit <FILE>', 'JUnit XML report (default shutdown-trace.junit.xml)'), (v) => v),
  ])
    cmd.addOption(o.helpGroup('Check options (every run option applies too):'));
  return cmd.addHelpText('after', '\nExit codes: 0 every budget holds, 1 a budget is broken, 2 usage or launch error, 130 interrupted.\n');
}

/** The parsed values of check's own options. */
export interface CheckValues extends RunValues {
  maxShutdown?: number;
  allowLeak?: string[];
  allowLeaks?: boolean;
  allowOrphans?: boolean;
  maxLost?: number;
  maxRefused?: number;
  junit?: string;
}

export interface Budgets {
  maxShutdownMs?: number;
  allowLeak: string[];
  allowLeaks: boolean;
  allowOrphans: boolean;
  maxLost: number;
  maxRefused?: number;
}

export interface BudgetResult {
  id: 'graceful-exit' | 'shutdown-time' | 'leaked-handles' | 'orphans' | 'lost-requests' | 'refused-requests';
  /** "graceful exit within the 30 s grace period" */
  name: string;
  status: 'pass' | 'fail' | 'skip';
  /** One line: why it passed, failed or was skipped. */
  message: string;
  /** The evidence, several lines. */
  detail?: string;
}

const fmt = (ms: number): string => formatDuration(ms);

/** A pattern matches a handle's label, type or creation site (file:line:col, relative or absolute); `*` is a wildcard, otherwise a substring. */
export function matchesLeakPattern(h: HandleInfo, pattern: string, cwd?: string): boolean {
  const f = userFrame(h.site);
  const candidates = [h.label, h.type, ...(f ? [formatFrame(f, cwd), formatFrame(f)] : [])];
  if (!pattern.includes('*')) return candidates.some((c) => c.includes(pattern));
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return candidates.some((c) => re.test(c));
}

/** The analysis' leaks, handle by handle with the leak it belongs to; without the orphans' when orphans are allowed. */
export function leakedHandles(trace: Trace, o: { withoutOrphans?: boolean } = {}): { handle: HandleInfo; leak: Leak }[] {
  const orphans = new Set(trace.events.filter((e) => e.kind === 'orphan').map((e) => e.pid));
  return (trace.analysis?.leaks ?? []).filter((l) => !(o.withoutOrphans && orphans.has(l.pid))).flatMap((leak) => leak.handles.map((handle) => ({ handle, leak })));
}

/** Holds a finished trace against the budgets. Pure. */
export function evaluateBudgets(trace: Trace, b: Budgets): BudgetResult[] {
  const a = trace.analysis;
  const out: BudgetResult[] = [];
  const cwd = trace.meta.cwd;
  const k8s = a?.k8s;
  const graceMs = trace.meta.plan.graceMs;
  const graceText = k8s ? `the ${k8s.graceSeconds} s terminationGracePeriodSeconds` : `the ${fmt(graceMs)} grace period`;
  const main = trace.processes.find((p) => p.isMain);
  const exit = main?.exit;
  if (!a) throw new Error('the trace has no analysis');

  // graceful exit
  const exitText = exit ? (exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`) : 'still running';
  const graceful = trace.meta.complete && (a.exitReason === 'graceful' || a.exitReason === 'forced-exit');
  out.push({
    id: 'graceful-exit',
    name: `graceful exit within ${graceText}`,
    status: graceful ? 'pass' : 'fail',
    message: graceful ? `exited by itself with code 0 (${a.exitReason})` : `${a.exitReason} (${exitText})${trace.meta.complete ? '' : `: the run was cut short: ${trace.meta.incompleteReason}`}`,
    detail: graceful ? undefined : a.verdict,
  });

  // shutdown time
  const limit = b.maxShutdownMs ?? (k8s?.schedule ? k8s.schedule.killAtMs : graceMs);
  const took = k8s && k8s.endedAfterSeconds !== undefined ? k8s.endedAfterSeconds * 1000 : a.signalToExitMs;
  const from = k8s ? 'termination start' : 'signal';
  const limitText = b.maxShutdownMs !== undefined ? fmt(b.maxShutdownMs) : graceText;
  if (took === undefined)
    out.push({
      id: 'shutdown-time',
      name: `shut down within ${limitText}`,
      status: 'fail',
      message: `no ${from} → exit time: ${a.exitReason === 'exited-before-signal' || a.exitReason === 'crashed' ? 'it ended before the signal' : 'it never exited'}`,
    });
  else out.push({ id: 'shutdown-time', name: `shut down within ${limitText}`, status: took <= limit ? 'pass' : 'fail', message: `${from} → exit ${fmt(took)} (limit ${fmt(limit)})` });

  // leaked handles
  const leaks = leakedHandles(trace, { withoutOrphans: b.allowOrphans });
  const allowed = (x: { handle: HandleInfo }) => b.allowLeaks || b.allowLeak.some((p) => matchesLeakPattern(x.handle, p, cwd));
  const broken = leaks.filter((x) => !allowed(x));
  const describe = ({ handle, leak }: { handle: HandleInfo; leak: Leak }) => `${handle.label} at ${leak.site ? formatFrame(leak.site, cwd) : 'unknown site'}`;
  // A collapsed entry ("6 × setTimeout …") counts as its members, as the analysis counts them.
  const count = (xs: { handle: HandleInfo }[]) => xs.reduce((n, x) => n + Number(x.handle.details?.count ?? 1), 0);
  out.push({
    id: 'leaked-handles',
    name: 'no leaked handles',
    status: broken.length ? 'fail' : 'pass',
    message: broken.length
      ? `${count(broken)} leaked handle${count(broken) === 1 ? '' : 's'}: ${broken.slice(0, 3).map(describe).join('; ')}${broken.length > 3 ? '; …' : ''}`
      : leaks.length
        ? `${count(leaks)} leaked, all allowed by --allow-leak`
        : 'none',
    detail: broken.length ? broken.map((h) => `- ${describe(h)}`).join('\n') : undefined,
  });

  // orphans
  const orphans = trace.events.filter((e): e is Extract<typeof e, { kind: 'orphan' }> => e.kind === 'orphan');
  out.push({
    id: 'orphans',
    name: 'no orphaned child processes',
    status: orphans.length && !b.allowOrphans ? 'fail' : 'pass',
    message: orphans.length
      ? `${orphans.length} outlived the service: ${orphans.map((o) => `pid ${o.pid} (${o.command})`).join(', ')}${b.allowOrphans ? ' (allowed by --allow-orphans)' : ''}`
      : 'none',
  });

  // requests
  const r = a.requests;
  if (!r) out.push({ id: 'lost-requests', name: 'no requests lost during shutdown', status: 'skip', message: 'no load (use --load to send traffic during shutdown)' });
  else {
    const bo = r.shutdown.byOutcome;
    const lostText = `${r.lost} lost of ${r.shutdown.total} during shutdown (${bo.reset - r.resetAtClose} reset, ${bo.timeout} timed out, ${bo['http-5xx']} 5xx, ${bo['other-error']} other)`;
    const started = trace.events.some((e) => e.kind === 'load-start');
    out.push({
      id: 'lost-requests',
      name: b.maxLost ? `at most ${b.maxLost} requests lost during shutdown` : 'no requests lost during shutdown',
      status: !started ? 'fail' : r.lost <= b.maxLost ? 'pass' : 'fail',
      message: !started ? 'no traffic was sent (the service never listened, or the target was wrong)' : lostText,
    });
    const turnedAway = r.refusedWhileAlive + r.resetAtClose;
    if (b.maxRefused !== undefined)
      out.push({
        id: 'refused-requests',
        name: `at most ${b.maxRefused} connections refused while it still ran`,
        status: turnedAway <= b.maxRefused ? 'pass' : 'fail',
        message: `${turnedAway} turned away after the listener closed, before the process exited (${r.refusedWhileAlive} refused, ${r.resetAtClose} reset in the accept queue)`,
      });
  }
  return out;
}

export function checkJUnit(trace: Trace, results: BudgetResult[], o: { tracePath: string; timestamp: string; elapsedMs: number }): string {
  const a = trace.analysis!;
  const command = trace.meta.command.join(' ');
  const cases: JUnitCase[] = results.map((r) => ({
    name: r.name,
    classname: `shutdown-trace.${r.id}`,
    timeMs: 0,
    ...(r.status === 'fail' ? { failure: { message: r.message, type: r.id, body: [r.message, r.detail, `verdict: ${a.verdict}`, `trace: ${o.tracePath}`].filter(Boolean).join('\n') } } : {}),
    ...(r.status === 'skip' ? { skipped: r.message } : {}),
    ...(r.status === 'pass' ? { systemOut: r.message } : {}),
  }));
  return junitXml([
    {
      name: `shutdown-trace check: ${command}`,
      timestamp: o.timestamp,
      timeMs: o.elapsedMs,
      hostname: os.hostname(),
      properties: { command, verdict: a.verdict, exitReason: a.exitReason, trace: o.tracePath, ...(a.requests ? { lostRequests: a.requests.lost } : {}), ...(a.k8s ? { k8s: a.k8s.summary } : {}) },
      cases,
      systemOut: [a.verdict, '', ...a.findings.map((f) => `[${f.severity}] ${f.title}\n  ${f.detail}`)].join('\n'),
    },
  ]);
}

/** A budget result as printed and written: secrets in its texts redacted (the run's token included). */
function redactResult(r: BudgetResult): BudgetResult {
  const tokens = collectorTokens();
  const red = (s: string) => removeExact({ s: redactText(s) }, tokens).s;
  return { ...r, name: red(r.name), message: red(r.message), ...(r.detail !== undefined ? { detail: red(r.detail) } : {}) };
}

export async function runCheck(v: CheckValues, command: string[]): Promise<number> {
  const a = runArgsFrom(v, command);
  const budgets: Budgets = {
    maxShutdownMs: v.maxShutdown,
    allowLeak: v.allowLeak ?? [],
    allowLeaks: !!v.allowLeaks,
    allowOrphans: !!v.allowOrphans,
    maxLost: v.maxLost ?? 0,
    maxRefused: v.maxRefused,
  };
  if ((v.maxLost !== undefined || budgets.maxRefused !== undefined) && !a.load)
    throw new UsageError(`${v.maxLost !== undefined ? '--max-lost' : '--max-refused'} needs --load (traffic during shutdown)`);
  const base = path.resolve(a.cwd ?? process.cwd());
  const out = path.resolve(base, a.out);
  const junitPath = path.resolve(base, v.junit ?? 'shutdown-trace.junit.xml');
  const timestamp = new Date().toISOString();
  const started = Date.now();
  const { trace, interrupted } = await traceFromArgs(a);
  const saved = saveTrace(out, trace);
  // Budgets are held against the trace as recorded (--allow-leak matches real labels); what is
  // printed and written is redacted.
  const results = evaluateBudgets(trace, budgets).map(redactResult);
  const failed = results.filter((r) => r.status === 'fail');
  const summary = redactedSummary(trace);
  const junit = writeWithFallback(junitPath, checkJUnit(summary, results, { tracePath: saved.path ?? out, timestamp, elapsedMs: Date.now() - started }), fallbackName(junitPath));

  if (a.json) {
    stdout(terminalSafeJson(JSON.stringify({ passed: failed.length === 0, budgets: results, trace: saved.path ?? null, junit: junit.path ?? null, analysis: summary.analysis }, null, 2)) + '\n');
  } else {
    const color = !!process.stderr.isTTY;
    const c = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
    const lines = ['', renderReport(trace, { tracePath: saved.path, color }), '', c('1', '  Budgets')];
    for (const r of results) {
      const mark = r.status === 'pass' ? c('32', '✔') : r.status === 'fail' ? c('31', '✖') : c('2', '-');
      lines.push(`  ${mark} ${terminalSafe(r.name)}: ${terminalSafe(r.message)}`);
      if (r.status === 'fail' && r.detail && r.id === 'leaked-handles') for (const l of r.detail.split('\n').slice(0, 10)) lines.push(`      ${terminalSafe(l)}`);
    }
    lines.push('');
    lines.push(failed.length ? c('31', `  check failed: ${failed.length} budget${failed.length === 1 ? '' : 's'} broken (${failed.map((f) => f.id).join(', ')})`) : c('32', '  check passed'));
    if (junit.path) lines.push(`  junit: ${terminalSafe(junit.path)}`);
    stderr(lines.join('\n') + '\n');
  }
  if (saved.problem) stderr(`shutdown-trace: ${savedMessage(out, saved)}\n`);
  if (junit.problem) stderr(`shutdown-trace: ${savedMessage(junitPath, junit, 'the JUnit report')}\n`);
  if (!saved.path && !junit.path) return 2;
  if (interrupted) return 130;
  return failed.length ? 1 : 0;
}
