/**
 * `run`: traces one shutdown and prints the diagnosis. What `run` and `check` share lives here
 * too: running a parsed command line under the tracer, saving the trace, reading one back.
 */
import * as path from 'path';
import { startRun } from '../core/launcher';
import { collectorTokens } from '../core/collector';
import { removeExact } from '../core/redact';
import { terminalSafe, terminalSafeJson } from '../core/terminal-safe';
import { stdout, stderr, readTraceText, writeWithFallback, fallbackName, type Written } from './io';
import { redactedSummary } from './printable';
import { parseTrace } from '../shared/trace-file';
import type { Trace } from '../shared/trace';
import { renderReport } from './report';
import type { RunArgs } from './run-options';

/**
 * Runs a parsed command line under the tracer, as `run` and `check` both do. Ctrl+C (or a
 * SIGTERM to the CLI) ends the run but keeps the trace, marked incomplete.
 */
export async function traceFromArgs(a: RunArgs): Promise<{ trace: Trace; interrupted: boolean }> {
  const run = await startRun({
    command: a.command,
    cwd: a.cwd,
    plan: a.plan,
    stallMs: a.stallMs,
    verbose: a.verbose,
    echo: a.quiet ? undefined : { stdout: process.stdout, stderr: process.stderr },
    attach: true,
    tracePathIfKilled: path.resolve(a.cwd ?? process.cwd(), a.out),
    load: a.load,
    k8s: a.k8s,
    platform: a.platform,
  });
  let interrupted = false;
  const onInt = () => {
    if (interrupted) return;
    interrupted = true;
    void run.stop('interrupted by the user (Ctrl+C on the CLI)');
  };
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onInt);
  try {
    return { trace: await run.done, interrupted };
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onInt);
  }
}

export async function runRun(a: RunArgs): Promise<number> {
  const out = path.resolve(a.cwd ?? process.cwd(), a.out);
  const { trace, interrupted } = await traceFromArgs(a);
  const saved = saveTrace(out, trace);
  if (a.json) stdout(terminalSafeJson(JSON.stringify({ trace: saved.path ?? null, analysis: redactedSummary(trace).analysis }, null, 2)) + '\n');
  else stderr('\n' + renderReport(trace, { tracePath: saved.path, color: !!process.stderr.isTTY }) + '\n');
  if (saved.problem) stderr(`shutdown-trace: ${savedMessage(out, saved)}\n`);
  if (!saved.path) return 2;
  return interrupted ? 130 : 0;
}

/**
 * Writes a finished run's trace, whole or not at all, without the run's collector token (the
 * service may have printed its environment); to the temp directory when `out` cannot be
 * written (a full disk, a read-only folder).
 */
export function saveTrace(out: string, trace: Trace): Written {
  removeExact(trace, collectorTokens());
  return writeWithFallback(out, JSON.stringify(trace), fallbackName(out));
}

/** One line saying where a file went when it could not go where asked. */
export function savedMessage(out: string, saved: Written, what = 'the trace'): string {
  return saved.path
    ? `could not write ${what} to ${terminalSafe(out)} (${saved.problem}); wrote it to ${terminalSafe(saved.path)} instead`
    : `could not write ${what} to ${terminalSafe(out)} (${saved.problem}), nor to the temp directory: ${what} was not saved`;
}

/** Reads a trace file given on the command line: a regular file of a sane size, checked field by field. */
export function readTraceFile(file: string): Trace {
  return parseTrace(readTraceText(file), terminalSafe(path.basename(file)));
}
