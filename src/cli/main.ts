/**
 * shutdown-trace CLI: run | show | export | view | check.
 * User-facing errors are one line naming the problem, exit code 2; never a stack dump.
 */
import * as fs from 'fs';
import * as path from 'path';
import { startRun, LaunchError, writeTrace } from '../core/launcher';
import { parseTrace, TraceFormatError, type SignalPlan, type Trace, type Delivery } from '../core/trace';
import { renderReport } from './report';
import { parseDuration, UsageError } from './args';
import { runExport } from './export';
import { runView } from './view';

const USAGE = `Usage:
  shutdown-trace run [options] -- <command> [args...]   trace a service's shutdown
  shutdown-trace show <trace>                           print the diagnosis of a saved trace
  shutdown-trace export <trace> --format chrome|md|json [--out FILE]
  shutdown-trace view <trace> [--port N]                open the timeline in a browser

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
`;

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
    switch (flag) {
      case '--signal': plan.signal = signalName(val(), flag); break;
      case '--when': whenMode = val(); if (!['listening', 'after', 'never'].includes(whenMode)) throw new UsageError(`--when must be listening, after or never (got ${whenMode})`); break;
      case '--signal-after': after = parseDuration(val(), flag); whenMode = 'after'; break;
      case '--listen-delay': delay = parseDuration(val(), flag); break;
      case '--listen-timeout': timeout = parseDuration(val(), flag); break;
      case '--second-signal': second = signalName(val(), flag); break;
      case '--second-after': secondAfter = parseDuration(val(), flag); break;
      case '--grace': plan.graceMs = parseDuration(val(), flag); break;
      case '--delivery': { const d = val(); if (d !== 'main' && d !== 'group') throw new UsageError(`--delivery must be main or group (got ${d})`); plan.delivery = d as Delivery; break; }
      case '--stall': r.stallMs = parseDuration(val(), flag); break;
      case '--out': r.out = val(); break;
      case '--cwd': r.cwd = val(); break;
      case '--quiet': r.quiet = true; break;
      case '--json': r.json = true; break;
      case '--verbose': r.verbose = true; break;
      default:
        if (known.has(flag)) { r.rest[flag] = known.has(`${flag}:bool`) ? 'true' : val(); break; }
        throw new UsageError(`unknown option ${a}`);
    }
  }
  if (whenMode === 'after') {
    if (after === undefined) throw new UsageError('--when after needs --signal-after MS');
    plan.when = { mode: 'after', ms: after };
  } else if (whenMode === 'never') plan.when = { mode: 'never' };
  else plan.when = { mode: 'listening', delayMs: delay, timeoutMs: timeout };
  if (second) plan.second = { signal: second, afterMs: secondAfter };
  if (command.length === 0) throw new UsageError('no command given, e.g. shutdown-trace run -- node server.js');
  return r;
}

async function cmdRun(args: string[]): Promise<number> {
  const a = parseRunArgs(args);
  const out = path.resolve(a.cwd ?? process.cwd(), a.out);
  const run = await startRun({
    command: a.command,
    cwd: a.cwd,
    plan: a.plan,
    stallMs: a.stallMs,
    verbose: a.verbose,
    echo: a.quiet ? undefined : { stdout: process.stdout, stderr: process.stderr },
  });
  // Ctrl+C ends the run but keeps the trace, marked incomplete.
  let interrupted = false;
  const onInt = () => {
    if (interrupted) return;
    interrupted = true;
    void run.stop('interrupted by the user (Ctrl+C on the CLI)');
  };
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onInt);
  const trace = await run.done;
  process.off('SIGINT', onInt);
  process.off('SIGTERM', onInt);
  writeTrace(out, trace);
  if (a.json) process.stdout.write(JSON.stringify({ trace: out, analysis: trace.analysis }, null, 2) + '\n');
  else process.stderr.write('\n' + renderReport(trace, { tracePath: out, color: !!process.stderr.isTTY }) + '\n');
  return interrupted ? 130 : 0;
}

export function readTraceFile(file: string): Trace {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' ? `trace file not found: ${file}` : `cannot read ${file}: ${(e as Error).message}`);
  }
  return parseTrace(text, path.basename(file));
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'run':
      return cmdRun(rest);
    case 'show': {
      if (!rest[0]) throw new UsageError('show needs a trace file');
      const trace = readTraceFile(rest[0]);
      process.stdout.write(renderReport(trace, { tracePath: rest[0], color: !!process.stdout.isTTY }) + '\n');
      return 0;
    }
    case 'export':
      return runExport(rest, readTraceFile);
    case 'view':
      return runView(rest, readTraceFile);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return cmd === undefined ? 2 : 0;
    case '--version':
      process.stdout.write('0.1.0\n');
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
      if (e instanceof UsageError) process.stderr.write(`shutdown-trace: ${e.message}\n${e.showUsage ? '\n' + USAGE : ''}`);
      else if (e instanceof LaunchError || e instanceof TraceFormatError) process.stderr.write(`shutdown-trace: ${e.message}\n`);
      else process.stderr.write(`shutdown-trace: internal error: ${(e as Error)?.message ?? e}\n(set SHUTDOWN_TRACE_DEBUG=1 for details)\n${process.env.SHUTDOWN_TRACE_DEBUG ? (e as Error)?.stack + '\n' : ''}`);
      process.exitCode = 2;
    },
  );
}
