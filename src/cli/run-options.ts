/**
 * The options of `run` (and of `check`, which takes them all): declared once here, with their
 * help text; runArgsFrom turns the parsed values into the signal plan, traffic, Kubernetes and
 * platform settings, and refuses the combinations that make no sense.
 */
import type { SignalPlan, Delivery } from '../shared/trace';
import type { LoadConfig } from '../shared/traffic';
import type { K8sPlan, PreStop } from '../shared/kubernetes';
import type { PlatformOptions } from '../shared/platform';
import { k8sSignalPlan } from '../shared/k8s-plan';
import { LOAD_DEFAULTS, resolveLoadUrl } from '../core/load';
import { UsageError, parseDuration, signalName, wholeNumber, wholeSeconds, oneOf } from './args';
import { CliCommand, Option, value, shieldOptionalValues } from './command';
import { declarePlatformOptions, platformFrom, PLATFORM_TAKES, type PlatformValues } from './platform-args';

export interface RunArgs {
  plan: SignalPlan;
  command: string[];
  out: string;
  cwd?: string;
  quiet: boolean;
  json: boolean;
  verbose: boolean;
  stallMs?: number;
  load?: LoadConfig;
  k8s?: K8sPlan;
  /** PID 1, init, docker, systemd, endpoint lag, --expect survive. */
  platform?: PlatformOptions;
}

/** The parsed values of the run options, as commander stores them (camelCase of the long flag). */
export interface RunValues extends PlatformValues {
  signal?: string;
  when?: 'listening' | 'after' | 'never';
  signalAfter?: number;
  /** --signal-after came after --when. */
  signalAfterLast?: boolean;
  listenDelay?: number;
  listenTimeout?: number;
  secondSignal?: string;
  secondAfter?: number;
  grace?: number;
  delivery?: Delivery;
  stall?: number;
  out?: string;
  cwd?: string;
  quiet?: boolean;
  json?: boolean;
  verbose?: boolean;
  load?: string;
  rate?: number;
  keepalive?: boolean;
  keepAlive?: boolean;
  sse?: number;
  loadPath?: string;
  ssePath?: string;
  loadTimeout?: number;
  loadTail?: number;
  k8s?: boolean;
  terminationGrace?: number;
  stopSignal?: string;
  prestopSleep?: number;
  prestopExec?: string;
  prestopHttp?: string;
}

const DEFAULT_OUT = 'shutdown-trace.shutdown-trace.json';
/** Without "--", a word after --load is its target only when it looks like one. */
const LOAD_TARGET_RE = /^(auto|\d+|[^-/:\s][^/\s]*:\d+|\[[^\]]+\]:\d+|https?:\/\/\S+)$/i;

/** Which words an optional-valued option takes (see shieldOptionalValues). */
export const RUN_TAKES: Record<string, (next: string, dashGiven: boolean) => boolean> = {
  // Before "--" any word after --load is its target; without "--" only one that looks like a target.
  '--load': (next, dashGiven) => dashGiven || LOAD_TARGET_RE.test(next),
  ...PLATFORM_TAKES,
};

const duration = (flags: string, help: string) => value(new Option(flags, help), parseDuration);
const signal = (flags: string, help: string) => value(new Option(flags, help), signalName);

/** Adds the run options to `cmd`, grouped in its help as the README groups them. */
export function declareRunOptions(cmd: CliCommand): CliCommand {
  const run = 'Run options:';
  const traffic = 'Traffic during shutdown:';
  const k8s = 'Kubernetes termination (kubelet order; implied by any of these options):';
  for (const o of [
    signal('--signal <SIG>', 'signal to send: SIGTERM (default), SIGINT, SIGHUP, SIGUSR2, SIGQUIT…'),
    value(new Option('--when <MODE>', 'listening (default) | after | never'), (v) =>
      oneOf(v, ['listening', 'after', 'never'] as const, (got) => `--when must be listening, after or never (got ${got})`),
    ),
    duration('--signal-after <MS>', 'send the signal MS after start (same as --when after)'),
    duration('--listen-delay <MS>', 'with --when listening: wait MS after "listening" (default 100)'),
    duration('--listen-timeout <MS>', 'with --when listening: signal anyway after MS (default 10000)'),
    signal('--second-signal <SIG>', 'send a second signal while shutting down'),
    duration('--second-after <MS>', '...this long after the first (default 1000)'),
    duration('--grace <MS>', 'grace period before SIGKILL (default 30s, as Kubernetes); 500ms, 5s, 1m'),
    value(new Option('--delivery <main|group>', 'main process only (default; Kubernetes, docker stop) or the whole process group (Ctrl+C in a terminal)'), (v) =>
      oneOf(v, ['main', 'group'] as const, (got) => `--delivery must be main or group (got ${got})`),
    ),
    duration('--stall <MS>', 'report "still alive" this long after handlers finish (default 1000)'),
    value(new Option('--out <FILE>', `trace file (default ${DEFAULT_OUT})`), (v) => v),
    value(new Option('--cwd <DIR>', 'working directory'), (v) => v),
    new Option('--quiet', "do not echo the service's output"),
    new Option('--json', 'print the analysis as JSON instead of text'),
    new Option('--verbose', 'preload diagnostics on stderr'),
  ])
    cmd.addOption(o.helpGroup(run));
  for (const o of [
    new Option('--load [TARGET]', 'send HTTP requests from when it listens until just after it exits: auto (default: the port it listens on), PORT, HOST:PORT or http://URL').preset('auto'),
    value(new Option('--rate <N>', 'requests per second (default 20; 0: streams only)'), (v, f) => wholeNumber(v, f, 1000)),
    new Option('--keepalive', 'reuse connections (default: one connection per request)'),
    new Option('--keep-alive').hideHelp(),
    value(new Option('--sse <N>', 'also hold N server-sent-event streams open'), (v, f) => wholeNumber(v, f, 100)),
    value(new Option('--load-path <PATH>', 'request path for auto/PORT targets (default /)'), (v) => v),
    value(new Option('--sse-path <PATH>', 'path of the streams (default: the request path)'), (v) => v),
    duration('--load-timeout <MS>', 'per-request timeout (default 5s)'),
    duration('--load-tail <MS>', 'keep sending this long after the main process exits (default 300ms)'),
  ])
    cmd.addOption(o.helpGroup(traffic));
  for (const o of [
    new Option('--k8s', "preStop, then the stop signal to the main process, SIGKILL at the grace period counted from preStop's start (+2 s if preStop overran)"),
    value(new Option('--termination-grace <S>', 'terminationGracePeriodSeconds, whole seconds (default 30)'), wholeSeconds),
    signal('--stop-signal <SIG>', "the image's STOPSIGNAL (default SIGTERM); with --docker, docker's stop signal"),
    // Like the Pod spec's sleep action (seconds) and --termination-grace: a bare number is seconds.
    value(new Option('--prestop-sleep <S>', 'preStop: sleep S seconds (or a duration: 500ms, 5s)'), (v, f) => (/^\d+(\.\d+)?$/.test(v) ? Math.round(parseFloat(v) * 1000) : parseDuration(v, f))),
    value(new Option('--prestop-exec <CMD>', "preStop: exec, run with sh -c in the service's directory"), (v) => v),
    value(new Option('--prestop-http <PATH>', "preStop: httpGet on the service's port (/drain), :PORT/path or a URL"), (v) => v),
  ])
    cmd.addOption(o.helpGroup(k8s));
  declarePlatformOptions(cmd);
  // --signal-after is --when after with its delay: of the two, the later one on the line counts.
  cmd.on('option:when', () => cmd.setOptionValue('signalAfterLast', false));
  cmd.on('option:signal-after', () => cmd.setOptionValue('signalAfterLast', true));
  // Everything after "--" (or from the first word that is not an option) is the service's command.
  return cmd.argument('[command...]', 'the service to trace, e.g. -- node server.js').passThroughOptions();
}

/** The signal plan, traffic, Kubernetes and platform settings from parsed run options. */
export function runArgsFrom(v: RunValues, command: string[]): RunArgs {
  const plan: SignalPlan = { signal: v.signal ?? 'SIGTERM', when: { mode: 'listening', delayMs: 100, timeoutMs: 10_000 }, graceMs: v.grace ?? 30_000, delivery: v.delivery ?? 'main' };
  const r: RunArgs = { plan, command, out: v.out ?? DEFAULT_OUT, quiet: !!v.quiet, json: !!v.json, verbose: !!v.verbose };
  if (v.cwd !== undefined) r.cwd = v.cwd;
  if (v.stall !== undefined) r.stallMs = v.stall;
  const signalGiven = v.signal !== undefined;
  const graceGiven = v.grace !== undefined;
  const deliveryGiven = v.delivery !== undefined;
  const whenMode = v.signalAfter !== undefined && (v.when === undefined || v.signalAfterLast) ? 'after' : (v.when ?? 'listening');
  if (whenMode === 'after') {
    if (v.signalAfter === undefined) throw new UsageError('--when after needs --signal-after MS');
    plan.when = { mode: 'after', ms: v.signalAfter };
  } else if (whenMode === 'never') plan.when = { mode: 'never' };
  else plan.when = { mode: 'listening', delayMs: v.listenDelay ?? 100, timeoutMs: v.listenTimeout ?? 10_000 };
  const second = v.secondSignal;
  if (second) plan.second = { signal: second, afterMs: v.secondAfter ?? 1000 };

  // Traffic: --sse alone holds streams only; --load sends requests at the default rate.
  const keepAlive = v.keepalive || v.keepAlive;
  const loadGiven = v.load !== undefined;
  const load = v.load ?? (v.sse ? 'auto' : undefined);
  if (load === undefined) {
    const stray = (
      [
        ['--rate', v.rate],
        ['--keepalive', keepAlive],
        ['--load-path', v.loadPath],
        ['--sse-path', v.ssePath],
        ['--load-timeout', v.loadTimeout],
        ['--load-tail', v.loadTail],
      ] as const
    ).find(([, x]) => x !== undefined);
    if (stray) throw new UsageError(`${stray[0]} needs --load (e.g. --load auto --rate 50)`);
  } else {
    r.load = {
      target: load,
      rate: v.rate ?? (loadGiven ? LOAD_DEFAULTS.rate : 0),
      keepAlive: !!keepAlive,
      timeoutMs: v.loadTimeout ?? LOAD_DEFAULTS.timeoutMs,
      tailMs: v.loadTail ?? LOAD_DEFAULTS.tailMs,
    };
    if (v.loadPath) r.load.path = v.loadPath;
    if (v.sse) r.load.sse = v.sse;
    if (v.ssePath) r.load.ssePath = v.ssePath;
    if (load !== 'auto') {
      try {
        resolveLoadUrl(r.load);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
    if (r.load.rate === 0 && !r.load.sse) throw new UsageError('--rate 0 sends nothing: give a rate, or --sse N for streams only');
  }

  // Kubernetes: any of its options implies --k8s. --stop-signal is Docker's with --docker.
  const k8sStopSignal = v.docker ? undefined : v.stopSignal;
  const preStop: { flag: string; p: PreStop }[] = [];
  if (v.prestopSleep !== undefined) preStop.push({ flag: '--prestop-sleep', p: { action: 'sleep', ms: v.prestopSleep } });
  if (v.prestopExec !== undefined) preStop.push({ flag: '--prestop-exec', p: { action: 'exec', command: v.prestopExec } });
  if (v.prestopHttp !== undefined) preStop.push({ flag: '--prestop-http', p: { action: 'httpGet', url: v.prestopHttp } });
  const k8s = !!v.k8s || v.terminationGrace !== undefined || k8sStopSignal !== undefined || preStop.length > 0;
  if (k8s) {
    let graceSeconds = v.terminationGrace;
    // --grace works too, as long as it is whole seconds and agrees with --termination-grace.
    if (graceGiven) {
      if (plan.graceMs % 1000 !== 0 || plan.graceMs < 1000)
        throw new UsageError(`with --k8s the grace period is terminationGracePeriodSeconds: whole seconds of at least 1 (got --grace ${plan.graceMs} ms)`);
      if (graceSeconds !== undefined && graceSeconds * 1000 !== plan.graceMs) throw new UsageError(`--grace ${plan.graceMs / 1000}s and --termination-grace ${graceSeconds} disagree`);
      graceSeconds = plan.graceMs / 1000;
    }
    if (deliveryGiven && plan.delivery !== 'main') throw new UsageError('with --k8s the signal goes to the main process only, as the kubelet sends it: drop --delivery group');
    if (second) throw new UsageError('with --k8s there is no second signal: the kubelet sends the stop signal once, then SIGKILL');
    if (preStop.length > 1) throw new UsageError(`a Pod's preStop has one handler: give only one of ${preStop.map((p) => p.flag).join(', ')}`);
    if (signalGiven && k8sStopSignal && k8sStopSignal !== plan.signal) throw new UsageError(`--signal ${plan.signal} and --stop-signal ${k8sStopSignal} disagree: with --k8s use --stop-signal`);
    r.k8s = { graceSeconds: graceSeconds ?? 30, stopSignal: k8sStopSignal ?? plan.signal, ...(preStop[0] ? { preStop: preStop[0].p } : {}) };
    Object.assign(plan, k8sSignalPlan(plan, r.k8s).plan);
  }
  const platform = platformFrom(v, plan, { k8s, load: !!r.load, signalGiven, graceGiven, deliveryGiven, second: !!second });
  if (platform) r.platform = platform;
  if (command.length === 0) throw new UsageError('no command given, e.g. shutdown-trace run -- node server.js');
  return r;
}

/**
 * Parses `args` (the words after the command's name) against `cmd`'s declaration: the option
 * values and the service's command. For commands declared with declareRunOptions.
 */
export function parseRunCommandLine<V extends RunValues>(cmd: CliCommand, args: string[]): { values: V; command: string[] } {
  cmd.parse(shieldOptionalValues(cmd, args, RUN_TAKES, true), { from: 'user' });
  return { values: cmd.opts<V>(), command: [...cmd.args] };
}

/** `run`'s command line → what to run and how. */
export function parseRunArgs(args: string[]): RunArgs {
  const { values, command } = parseRunCommandLine(declareRunOptions(new CliCommand('run')), args);
  return runArgsFrom(values, command);
}
