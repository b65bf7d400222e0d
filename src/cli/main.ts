/**
 * shutdown-trace CLI: run | show | export | view | check.
 * User-facing errors are one line naming the problem, exit code 2; never a stack dump.
 */
import * as fs from 'fs';
import * as path from 'path';
import { startRun, LaunchError } from '../core/launcher';
import { collectorTokens } from '../core/collector';
import { removeExact } from '../core/redact';
import { terminalSafe, terminalSafeJson } from '../core/terminal-safe';
import { guardStdio, stdout, stderr, readTraceText, writeWithFallback, fallbackName, type Written } from './io';
import { redactedSummary } from './printable';
import { parseTrace, TraceFormatError } from '../shared/trace-file';
import type { SignalPlan, Trace, Delivery } from '../shared/trace';
import { renderReport } from './report';
import { parseDuration, UsageError } from './args';
import { TOOL_VERSION } from '../core/version';
import { runExport } from './export';
import { runView } from './view';
import { runCollect, COLLECT_USAGE } from './collect';
// ---- issue #5
import { runCheck, CHECK_USAGE } from './check';
import { LOAD_DEFAULTS, resolveLoadUrl } from '../core/load';
import type { LoadConfig } from '../shared/traffic';
import type { K8sPlan, PreStop } from '../shared/kubernetes';
import { PlatformArgs, PLATFORM_USAGE } from './platform-args'; // issue 11
import type { PlatformOptions } from '../shared/platform';

const USAGE = `Usage:
  shutdown-trace run [options] -- <command> [args...]   trace a service's shutdown
  shutdown-trace show <trace>                           print the diagnosis of a saved trace
  shutdown-trace export <trace> --format chrome|md|json|otlp|openmetrics [--out FILE]
  shutdown-trace collect DIR [--out DIR] [--grace S] [--otlp [URL]]
                                                        traces from spools (no launcher)
  shutdown-trace view <trace> [--port N]                open the timeline in a browser
  shutdown-trace check [budgets] [run options] -- <command>
                                                        CI gate: exit 1 when a budget is broken

Run options:
  --signal SIG          signal to send (default SIGTERM; SIGINT, SIGHUP, SIGUSR2, SIGQUIT…)
  --when MODE           listening (default) | after | never
  --signal-after MS     send the signal MS after start (same as --when after)
  --listen-delay MS     with --when listening: wait MS after "listening" (default 100)
  --listen-timeout MS   with --when listening: signal anyway after MS (default 10000)
  --second-signal SIG   send a second signal while shutting down
  --second-after MS     ...this long after the first (default 1000)
  --grace MS            grace period before SIGKILL (default 30s, as Kubernetes); 500ms, 5s, 1m
  --delivery main|group main process only (default; Kubernetes, docker stop) or the
                        whole process group (Ctrl+C in a terminal)
  --stall MS            report "still alive" this long after handlers finish (default 1000)
  --out FILE            trace file (default shutdown-trace.shutdown-trace.json)
  --cwd DIR             working directory
  --quiet               do not echo the service's output
  --json                print the analysis as JSON instead of text
  --verbose             preload diagnostics on stderr

Traffic during shutdown:
  --load [TARGET]       send HTTP requests from when it listens until just after it exits:
                        auto (default: the port it listens on), PORT, HOST:PORT or http://URL
  --rate N              requests per second (default 20; 0: streams only)
  --keepalive           reuse connections (default: one connection per request)
  --sse N               also hold N server-sent-event streams open
  --load-path PATH      request path for auto/PORT targets (default /)
  --sse-path PATH       path of the streams (default: the request path)
  --load-timeout MS     per-request timeout (default 5s)
  --load-tail MS        keep sending this long after the main process exits (default 300ms)

Kubernetes termination (kubelet order; implied by any of these options):
  --k8s                 preStop, then the stop signal to the main process, SIGKILL at the
                        grace period counted from preStop's start (+2 s if preStop overran)
  --termination-grace S terminationGracePeriodSeconds, whole seconds (default 30)
  --stop-signal SIG     the image's STOPSIGNAL (default SIGTERM)
  --prestop-sleep S     preStop: sleep S seconds (or a duration: 500ms, 5s)
  --prestop-exec CMD    preStop: exec, run with sh -c in the service's directory
  --prestop-http PATH   preStop: httpGet on the service's port (/drain), :PORT/path or a URL
` + PLATFORM_USAGE + CHECK_USAGE + COLLECT_USAGE;

function takeValue(args: string[], i: number, name: string): string {
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new UsageError(`${name} needs a value`);
  return v;
}

const SIGNAL_RE = /^SIG[A-Z0-9]+$/;
function signalName(v: string, opt: string): string {
  const s = v.toUpperCase().startsWith('SIG') ? v.toUpperCase() : `SIG${v.toUpperCase()}`;
  if (!SIGNAL_RE.test(s) || !(s in require('os').constants.signals)) throw new UsageError(`${opt}: unknown signal ${v}`);
  return s;
}

export interface RunArgs {
  plan: SignalPlan;
  command: string[];
  out: string;
  cwd?: string;
  quiet: boolean;
  json: boolean;
  verbose: boolean;
  stallMs?: number;
  rest: Record<string, string>;
  // ---- issue #5
  load?: LoadConfig;
  k8s?: K8sPlan;
  /** issue 11: PID 1, init, docker, systemd, endpoint lag, --expect survive. */
  platform?: PlatformOptions;
}

export function parseRunArgs(args: string[], known: Set<string> = new Set()): RunArgs {
  const dash = args.indexOf('--');
  let opts = dash === -1 ? args : args.slice(0, dash);
  let command = dash === -1 ? [] : args.slice(dash + 1);
  const plan: SignalPlan = { signal: 'SIGTERM', when: { mode: 'listening', delayMs: 100, timeoutMs: 10_000 }, graceMs: 30_000, delivery: 'main' };
  const r: RunArgs = { plan, command, out: 'shutdown-trace.shutdown-trace.json', quiet: false, json: false, verbose: false, rest: {} };
  let whenMode = 'listening';
  let after: number | undefined;
  let second: string | undefined;
  let secondAfter = 1000;
  let delay = 100;
  let timeout = 10_000;
  // ---- issue #5
  const x = { signalGiven: false, graceGiven: false, deliveryGiven: false } as { signalGiven: boolean; graceGiven: boolean; deliveryGiven: boolean; load?: string; rate?: number; keepAlive?: boolean; sse?: number; loadPath?: string; ssePath?: string; loadTimeout?: number; loadTail?: number; k8s?: boolean; graceSeconds?: number; stopSignal?: string; preStop: { flag: string; p: PreStop }[] };
  x.preStop = [];
  const pf = new PlatformArgs(opts);
  for (let i = 0; i < opts.length; i++) {
    const a = opts[i];
    // Without "--", the first word that is not an option starts the command.
    if (dash === -1 && !a.startsWith('-')) {
      command = opts.slice(i);
      opts = opts.slice(0, i);
      break;
    }
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const val = () => {
      if (inline !== undefined) return inline;
      const v = takeValue(opts, i, flag);
      i++;
      return v;
    };
    if (pf.take(flag, val, () => inline ?? opts[i + 1], () => { if (inline === undefined) i++; })) continue;
    switch (flag) {
      case '--signal': plan.signal = signalName(val(), flag); x.signalGiven = true; break;
      case '--when': whenMode = val(); if (!['listening', 'after', 'never'].includes(whenMode)) throw new UsageError(`--when must be listening, after or never (got ${whenMode})`); break;
      case '--signal-after': after = parseDuration(val(), flag); whenMode = 'after'; break;
      case '--listen-delay': delay = parseDuration(val(), flag); break;
      case '--listen-timeout': timeout = parseDuration(val(), flag); break;
      case '--second-signal': second = signalName(val(), flag); break;
      case '--second-after': secondAfter = parseDuration(val(), flag); break;
      case '--grace': plan.graceMs = parseDuration(val(), flag); x.graceGiven = true; break;
      case '--delivery': { const d = val(); if (d !== 'main' && d !== 'group') throw new UsageError(`--delivery must be main or group (got ${d})`); plan.delivery = d as Delivery; x.deliveryGiven = true; break; }
      case '--stall': r.stallMs = parseDuration(val(), flag); break;
      case '--out': r.out = val(); break;
      case '--cwd': r.cwd = val(); break;
      case '--quiet': r.quiet = true; break;
      case '--json': r.json = true; break;
      case '--verbose': r.verbose = true; break;
      // ---- issue #5: traffic during shutdown
      case '--load': {
        // The target is optional: "--load" alone means the port the service listens on.
        const next = inline ?? opts[i + 1];
        // Before "--" a word after --load is its target; without "--" only one that looks like a target.
        if (next !== undefined && (inline !== undefined || (dash !== -1 ? !next.startsWith('-') : LOAD_TARGET_RE.test(next)))) {
          x.load = next;
          if (inline === undefined) i++;
        } else x.load = 'auto';
        break;
      }
      case '--rate': x.rate = count(val(), flag, 1000); break;
      case '--keepalive': case '--keep-alive': x.keepAlive = true; break;
      case '--sse': x.sse = count(val(), flag, 100); break;
      case '--load-path': x.loadPath = val(); break;
      case '--sse-path': x.ssePath = val(); break;
      case '--load-timeout': x.loadTimeout = parseDuration(val(), flag); break;
      case '--load-tail': x.loadTail = parseDuration(val(), flag); break;
      // ---- issue #5: Kubernetes termination
      case '--k8s': x.k8s = true; break;
      case '--termination-grace': x.graceSeconds = wholeSeconds(val(), flag); x.k8s = true; break;
      case '--stop-signal': x.stopSignal = signalName(val(), flag); x.k8s = true; break;
      // Like the Pod spec's sleep action (seconds) and --termination-grace: a bare number is seconds.
      case '--prestop-sleep': { const v = val(); x.preStop.push({ flag, p: { action: 'sleep', ms: /^\d+(\.\d+)?$/.test(v) ? Math.round(parseFloat(v) * 1000) : parseDuration(v, flag) } }); x.k8s = true; break; }
      case '--prestop-exec': x.preStop.push({ flag, p: { action: 'exec', command: val() } }); x.k8s = true; break;
      case '--prestop-http': x.preStop.push({ flag, p: { action: 'httpGet', url: val() } }); x.k8s = true; break;
      default:
        // Repeatable options (check's --allow-leak) keep every value, one per line.
        if (known.has(flag)) { const v = known.has(`${flag}:bool`) ? 'true' : val(); r.rest[flag] = r.rest[flag] !== undefined && known.has(`${flag}:many`) ? `${r.rest[flag]}\n${v}` : v; break; }
        throw new UsageError(`unknown option ${a}`);
    }
  }
  if (whenMode === 'after') {
    if (after === undefined) throw new UsageError('--when after needs --signal-after MS');
    plan.when = { mode: 'after', ms: after };
  } else if (whenMode === 'never') plan.when = { mode: 'never' };
  else plan.when = { mode: 'listening', delayMs: delay, timeoutMs: timeout };
  if (second) plan.second = { signal: second, afterMs: secondAfter };
  // ---- issue #5
  const loadGiven = x.load !== undefined;
  if (x.load === undefined && x.sse) x.load = 'auto';
  if (x.load === undefined) {
    const stray = ([['--rate', x.rate], ['--keepalive', x.keepAlive], ['--load-path', x.loadPath], ['--sse-path', x.ssePath], ['--load-timeout', x.loadTimeout], ['--load-tail', x.loadTail]] as const).find(([, v]) => v !== undefined);
    if (stray) throw new UsageError(`${stray[0]} needs --load (e.g. --load auto --rate 50)`);
  } else {
    // --sse alone holds streams only; --load sends requests at the default rate.
    r.load = { target: x.load, rate: x.rate ?? (loadGiven ? LOAD_DEFAULTS.rate : 0), keepAlive: !!x.keepAlive, timeoutMs: x.loadTimeout ?? LOAD_DEFAULTS.timeoutMs, tailMs: x.loadTail ?? LOAD_DEFAULTS.tailMs };
    if (x.loadPath) r.load.path = x.loadPath;
    if (x.sse) r.load.sse = x.sse;
    if (x.ssePath) r.load.ssePath = x.ssePath;
    if (x.load !== 'auto') {
      try {
        resolveLoadUrl(r.load);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
    if (r.load.rate === 0 && !r.load.sse) throw new UsageError('--rate 0 sends nothing: give a rate, or --sse N for streams only');
  }
  if (x.k8s) {
    // --grace works too, as long as it is whole seconds and agrees with --termination-grace.
    if (x.graceGiven) {
      if (plan.graceMs % 1000 !== 0 || plan.graceMs < 1000) throw new UsageError(`with --k8s the grace period is terminationGracePeriodSeconds: whole seconds of at least 1 (got --grace ${plan.graceMs} ms)`);
      if (x.graceSeconds !== undefined && x.graceSeconds * 1000 !== plan.graceMs) throw new UsageError(`--grace ${plan.graceMs / 1000}s and --termination-grace ${x.graceSeconds} disagree`);
      x.graceSeconds = plan.graceMs / 1000;
    }
    if (x.deliveryGiven && plan.delivery !== 'main') throw new UsageError('with --k8s the signal goes to the main process only, as the kubelet sends it: drop --delivery group');
    if (second) throw new UsageError('with --k8s there is no second signal: the kubelet sends the stop signal once, then SIGKILL');
    if (x.preStop.length > 1) throw new UsageError(`a Pod's preStop has one handler: give only one of ${x.preStop.map((p) => p.flag).join(', ')}`);
    if (x.signalGiven && x.stopSignal && x.stopSignal !== plan.signal) throw new UsageError(`--signal ${plan.signal} and --stop-signal ${x.stopSignal} disagree: with --k8s use --stop-signal`);
    const graceSeconds = x.graceSeconds ?? 30;
    r.k8s = { graceSeconds, stopSignal: x.stopSignal ?? plan.signal, ...(x.preStop[0] ? { preStop: x.preStop[0].p } : {}) };
    plan.signal = r.k8s.stopSignal;
    plan.graceMs = graceSeconds * 1000;
    plan.delivery = 'main';
  }
  r.platform = pf.apply(plan, { k8s: !!x.k8s, load: !!r.load, signalGiven: x.signalGiven, graceGiven: x.graceGiven, deliveryGiven: x.deliveryGiven, second: !!second });
  if (command.length === 0) throw new UsageError('no command given, e.g. shutdown-trace run -- node server.js');
  return r;
}

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

async function cmdRun(args: string[]): Promise<number> {
  const a = parseRunArgs(args);
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

// ---- issue #5: option helpers
const LOAD_TARGET_RE = /^(auto|\d+|[^-/:\s][^/\s]*:\d+|\[[^\]]+\]:\d+|https?:\/\/\S+)$/i;

function count(v: string, opt: string, max: number): number {
  if (!/^\d+$/.test(v.trim())) throw new UsageError(`${opt}: not a whole number: ${v}`);
  const n = parseInt(v, 10);
  if (n > max) throw new UsageError(`${opt}: at most ${max} (got ${n})`);
  return n;
}

/** terminationGracePeriodSeconds: "30", "30s", "1m" → 30, 30, 60; whole seconds ≥ 1. */
function wholeSeconds(v: string, opt: string): number {
  const ms = /^\d+$/.test(v.trim()) ? parseInt(v, 10) * 1000 : parseDuration(v, opt);
  if (ms % 1000 !== 0 || ms < 1000) throw new UsageError(`${opt}: whole seconds of at least 1, as in the Pod spec (got ${v})`);
  return ms / 1000;
}
// ---- end issue #5

/** Reads a trace file given on the command line: a regular file of a sane size, checked field by field. */
export function readTraceFile(file: string): Trace {
  return parseTrace(readTraceText(file), terminalSafe(path.basename(file)));
}

async function main(argv: string[]): Promise<number> {
  guardStdio();
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'run':
      return cmdRun(rest);
    case 'show': {
      if (!rest[0]) throw new UsageError('show needs a trace file');
      const trace = readTraceFile(rest[0]);
      stdout(renderReport(trace, { tracePath: rest[0], color: !!process.stdout.isTTY }) + '\n');
      return 0;
    }
    case 'export':
      return runExport(rest, readTraceFile);
    case 'view':
      return runView(rest, readTraceFile);
    case 'check':
      return runCheck(rest);
    case 'collect':
      return runCollect(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      stdout(USAGE);
      return cmd === undefined ? 2 : 0;
    case '--version':
      stdout(`${TOOL_VERSION}\n`);
      return 0;
    default:
      throw new UsageError(`unknown command "${cmd}"`);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      // Messages name files and commands the user gave: one line each, control characters removed.
      if (e instanceof UsageError) stderr(`shutdown-trace: ${terminalSafe(e.message)}\n${e.showUsage ? '\n' + USAGE : ''}`);
      else if (e instanceof LaunchError || e instanceof TraceFormatError) stderr(`shutdown-trace: ${terminalSafe(e.message)}\n`);
      else stderr(`shutdown-trace: internal error: ${terminalSafe((e as Error)?.message ?? e)}\n(set SHUTDOWN_TRACE_DEBUG=1 for details)\n${process.env.SHUTDOWN_TRACE_DEBUG ? terminalSafe((e as Error)?.stack) + '\n' : ''}`);
      process.exitCode = 2;
    },
  );
}
