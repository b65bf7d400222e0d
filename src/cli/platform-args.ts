/**
 * The platform options of `run` and `check`: --container, --init, --shared-pid-namespace,
 * --docker (--stop-signal, --stop-timeout), --systemd (--kill-mode, --timeout-stop, --send-sighup,
 * --final-kill-signal, --kill-signal, --type), --endpoint-lag, --expect survive. Declared here
 * with their help; platformFrom checks their combinations and shapes the signal plan.
 */
import type { SignalPlan } from '../shared/trace';
import type { PlatformOptions, KillMode, InitProgram } from '../shared/platform';
import { UsageError, parseDuration, parseSeconds, systemdSeconds, signalName, oneOf } from './args';
import { Option, value, type CliCommand } from './command';

export interface PlatformValues {
  container?: boolean;
  init?: InitProgram;
  sharedPidNamespace?: boolean;
  docker?: boolean;
  stopSignal?: string;
  stopTimeout?: number;
  systemd?: boolean;
  killMode?: KillMode;
  killSignal?: string;
  timeoutStop?: number;
  timeoutStopSec?: number;
  sendSighup?: boolean;
  finalKillSignal?: string;
  type?: 'simple' | 'exec' | 'notify';
  endpointLag?: number;
  expect?: 'survive';
  surviveFor?: number;
}

/** `--init` takes tini or dumb-init; a command's first word (node, npm, sh…) after it is the command. */
export const PLATFORM_TAKES: Record<string, (next: string) => boolean> = {
  '--init': (next) => next === 'tini' || next === 'dumb-init' || (/^[a-z-]+$/.test(next) && !/^(node|npm|npx|sh|bash)$/.test(next)),
};

export function declarePlatformOptions(cmd: CliCommand): void {
  const signal = (flags: string, help: string) => value(new Option(flags, help), signalName);
  for (const o of [
    new Option('--container', 'run the command as PID 1 of a new PID namespace (unshare), as in a container; emulated from /proc where namespaces are unavailable'),
    value(new Option('--init [tini|dumb-init]', 'that init as PID 1, the command as its child').preset('tini'), (v) =>
      oneOf(v, ['tini', 'dumb-init'] as const, (got) => `--init: tini or dumb-init (got ${got})`),
    ),
    new Option('--shared-pid-namespace', 'with --k8s: the pod shares its process namespace, the app is not PID 1'),
    new Option('--docker', 'docker stop: the stop signal to PID 1, SIGKILL after the stop timeout'),
    value(new Option('--stop-timeout <S>', 'docker stop --time / compose stop_grace_period (default 10)'), parseSeconds),
    new Option('--systemd', 'systemd stop of a unit (systemd.kill(5), systemd.service(5))'),
    value(new Option('--kill-mode <MODE>', 'KillMode=control-group (default) | mixed | process'), (m) =>
      oneOf(
        m,
        ['control-group', 'mixed', 'process'] as const,
        (got) => `--kill-mode: control-group, mixed or process (got ${got}${got === 'none' ? '; KillMode=none is deprecated and not simulated' : ''})`,
      ),
    ),
    signal('--kill-signal <SIG>', 'KillSignal= (default SIGTERM)'),
    value(new Option('--timeout-stop <S>', 'TimeoutStopSec= (default 90s)'), systemdSeconds),
    value(new Option('--timeout-stop-sec <S>').hideHelp(), systemdSeconds),
    new Option('--send-sighup', 'SendSIGHUP=yes'),
    signal('--final-kill-signal <SIG>', 'FinalKillSignal= (default SIGKILL)'),
    value(new Option('--type <simple|notify>', 'Type=; notify gives the service a NOTIFY_SOCKET'), (t) =>
      oneOf(t, ['simple', 'exec', 'notify'] as const, (got) => `--type: simple, exec or notify (got ${got})`),
    ),
    value(new Option('--endpoint-lag <D>', 'with --k8s: the Service routes here this long after termination began (default 2s with --load)'), parseSeconds),
    value(new Option('--expect <survive>', 'the signal (--signal SIGHUP) must not stop the service; the stop follows'), (e) =>
      oneOf(e, ['survive'] as const, (got) => `--expect: only "survive" (got ${got})`),
    ),
    value(new Option('--survive-for <D>', 'how long it must stay up and answering (default 1s)'), parseDuration),
  ])
    cmd.addOption(o.helpGroup('Platforms (see README "Platforms"):'));
}

/**
 * Checks the combinations and shapes the plan: Docker and systemd each have one stop signal
 * and one timeout; --expect survive sends the signal, then the stop after the survival window.
 */
export function platformFrom(
  v: PlatformValues,
  plan: SignalPlan,
  o: { k8s: boolean; load: boolean; signalGiven: boolean; graceGiven: boolean; deliveryGiven: boolean; second: boolean },
): PlatformOptions | undefined {
  const p: PlatformOptions = {};
  const docker = !!v.docker;
  const systemd = !!v.systemd;
  const init = v.init;
  const timeoutStopMs = v.timeoutStop ?? v.timeoutStopSec;
  const stopSignal = docker ? v.stopSignal : undefined;
  const given: Record<string, unknown> = {
    '--kill-mode': v.killMode,
    '--kill-signal': v.killSignal,
    '--timeout-stop': v.timeoutStop,
    '--timeout-stop-sec': v.timeoutStopSec,
    '--send-sighup': v.sendSighup,
    '--final-kill-signal': v.finalKillSignal,
    '--type': v.type,
    '--stop-timeout': v.stopTimeout,
    '--endpoint-lag': v.endpointLag,
    '--shared-pid-namespace': v.sharedPidNamespace,
  };
  const modes = [o.k8s && '--k8s', docker && '--docker', systemd && '--systemd'].filter(Boolean);
  if (modes.length > 1) throw new UsageError(`${modes.join(' and ')}: choose one platform`);
  const stray = (flags: string[], need: string) => {
    const f = flags.find((x) => given[x] !== undefined);
    if (f) throw new UsageError(`${f} needs ${need}`);
  };
  if (!systemd) stray(['--kill-mode', '--kill-signal', '--timeout-stop', '--timeout-stop-sec', '--send-sighup', '--final-kill-signal', '--type'], '--systemd');
  if (!docker) stray(['--stop-timeout'], '--docker');
  if (!o.k8s) stray(['--endpoint-lag', '--shared-pid-namespace'], '--k8s');
  if (v.surviveFor !== undefined && !v.expect) throw new UsageError('--survive-for needs --expect survive');

  if (v.container || init || docker) p.container = init ? { init: init } : {};
  if (v.sharedPidNamespace) {
    if (v.container || init !== undefined) throw new UsageError('--shared-pid-namespace: the app is not PID 1 then; drop --container/--init');
    p.sharedPidNamespace = true;
  }
  if (systemd && p.container) throw new UsageError('--systemd runs the service as a unit, not as PID 1 of a container: drop --container/--init');

  if (docker) {
    if (o.second) throw new UsageError('with --docker there is no second signal: docker stop sends the stop signal once, then SIGKILL');
    if (o.deliveryGiven && plan.delivery !== 'main') throw new UsageError('with --docker the stop signal goes to PID 1 only: drop --delivery group');
    if (o.signalGiven && stopSignal && stopSignal !== plan.signal) throw new UsageError(`--signal ${plan.signal} and --stop-signal ${stopSignal} disagree`);
    if (o.graceGiven && v.stopTimeout !== undefined && v.stopTimeout !== plan.graceMs) throw new UsageError('--grace and --stop-timeout disagree');
    const signal = stopSignal ?? plan.signal;
    const timeoutMs = v.stopTimeout ?? (o.graceGiven ? plan.graceMs : 10_000);
    p.docker = { stopSignal: signal, stopTimeoutSeconds: timeoutMs / 1000, init: !!init };
    if (init && init !== 'tini') throw new UsageError('docker run --init runs tini (docker-init): use --init or --init tini with --docker');
    plan.signal = signal;
    plan.graceMs = timeoutMs;
    plan.delivery = 'main';
  }
  if (systemd) {
    if (o.second) throw new UsageError('with --systemd there is no second signal: systemd sends KillSignal=, then FinalKillSignal= after TimeoutStopSec=');
    if (o.deliveryGiven && plan.delivery !== 'main') throw new UsageError('with --systemd, --kill-mode says who gets the signal: drop --delivery group');
    if (o.signalGiven && v.killSignal && v.killSignal !== plan.signal) throw new UsageError(`--signal ${plan.signal} and --kill-signal ${v.killSignal} disagree`);
    if (o.graceGiven && timeoutStopMs !== undefined && timeoutStopMs !== plan.graceMs) throw new UsageError('--grace and --timeout-stop disagree');
    const killSignal = v.killSignal ?? plan.signal;
    const timeoutMs = timeoutStopMs ?? (o.graceGiven ? plan.graceMs : 90_000);
    p.systemd = {
      killMode: v.killMode ?? 'control-group',
      killSignal,
      timeoutStopMs: timeoutMs,
      sendSighup: !!v.sendSighup,
      finalKillSignal: v.finalKillSignal ?? 'SIGKILL',
      type: v.type ?? 'simple',
    };
    plan.signal = killSignal;
    plan.graceMs = timeoutMs;
    plan.delivery = 'main';
  }
  if (o.k8s && (v.endpointLag !== undefined || o.load)) p.endpointLagMs = v.endpointLag ?? 2000;
  if (v.expect) {
    if (o.k8s || docker || systemd) throw new UsageError('--expect survive runs its own plan (the signal, then the stop): use it without --k8s/--docker/--systemd');
    if (o.second) throw new UsageError('--expect survive sends the stop itself after --survive-for: drop --second-signal');
    const windowMs = v.surviveFor ?? 1000;
    const stopSignal = 'SIGTERM';
    if (!o.signalGiven || plan.signal === 'SIGTERM' || plan.signal === 'SIGKILL')
      throw new UsageError('--expect survive needs a signal that must not stop the service, e.g. --signal SIGHUP (SIGTERM is the stop that follows)');
    p.survive = { signal: plan.signal, windowMs, stopSignal };
    plan.second = { signal: stopSignal, afterMs: windowMs };
    plan.graceMs += windowMs;
  }
  return Object.keys(p).length ? p : undefined;
}
