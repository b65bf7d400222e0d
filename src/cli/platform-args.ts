/**
 * The platform options of `run` and `check` (issue 11): --container, --init, --shared-pid-namespace,
 * --docker (--stop-signal, --stop-timeout), --systemd (--kill-mode, --timeout-stop, --send-sighup,
 * --final-kill-signal, --kill-signal, --type), --endpoint-lag, --expect survive.
 * parseRunArgs hands every flag here first; what is taken here is not seen by its switch.
 */
import * as os from 'os';
import { parseDuration, UsageError } from './args';
import type { SignalPlan } from '../shared/trace';
import type { PlatformOptions, KillMode, InitProgram } from '../shared/platform';

export const PLATFORM_USAGE = `
Platforms (issue 11; see README "Platforms"):
  --container           run the command as PID 1 of a new PID namespace (unshare), as in a
                        container; emulated from /proc where namespaces are unavailable
  --init [tini|dumb-init]  that init as PID 1, the command as its child (default tini)
  --shared-pid-namespace   with --k8s: the pod shares its process namespace, the app is not PID 1
  --docker              docker stop: the stop signal to PID 1, SIGKILL after the stop timeout
  --stop-timeout S      docker stop --time / compose stop_grace_period (default 10)
  --systemd             systemd stop of a unit (systemd.kill(5), systemd.service(5))
  --kill-mode MODE      KillMode=control-group (default) | mixed | process
  --kill-signal SIG     KillSignal= (default SIGTERM)
  --timeout-stop S      TimeoutStopSec= (default 90s)
  --send-sighup         SendSIGHUP=yes
  --final-kill-signal SIG  FinalKillSignal= (default SIGKILL)
  --type simple|notify  Type=; notify gives the service a NOTIFY_SOCKET
  --endpoint-lag D      with --k8s: the Service routes here this long after termination began (default 2s with --load)
  --expect survive      the signal (--signal SIGHUP) must not stop the service; the stop follows
  --survive-for D       how long it must stay up and answering (default 1s)
`;

function signalName(v: string, opt: string): string {
  const s = v.toUpperCase().startsWith('SIG') ? v.toUpperCase() : `SIG${v.toUpperCase()}`;
  if (!/^SIG[A-Z0-9]+$/.test(s) || !(s in os.constants.signals)) throw new UsageError(`${opt}: unknown signal ${v}`);
  return s;
}

/** "10", "10s", "1m" → ms; a bare number is seconds, as Docker and systemd read it. */
function seconds(v: string, opt: string): number {
  return /^\d+(\.\d+)?$/.test(v.trim()) ? Math.round(parseFloat(v) * 1000) : parseDuration(v, opt);
}

/** systemd's own spelling: "90", "90s", "1min 30s", "infinity" is refused here. */
function systemdSeconds(v: string, opt: string): number {
  const t = v.trim().replace(/min\b/g, 'm').replace(/sec\b/g, 's');
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(parseFloat(t) * 1000);
  let ms = 0;
  for (const part of t.split(/\s+/)) ms += parseDuration(part, opt);
  return ms;
}

export class PlatformArgs {
  private container = false;
  private init: InitProgram | undefined;
  private shared = false;
  private docker = false;
  private stopSignal: string | undefined;
  private stopTimeoutMs: number | undefined;
  private systemd = false;
  private killMode: KillMode | undefined;
  private killSignal: string | undefined;
  private timeoutStopMs: number | undefined;
  private sendSighup = false;
  private finalKillSignal: string | undefined;
  private type: 'simple' | 'exec' | 'notify' | undefined;
  private endpointLagMs: number | undefined;
  private expect: string | undefined;
  private surviveForMs: number | undefined;
  private readonly given = new Set<string>();

  /** `opts`: the option words, so `--stop-signal` can be Docker's when `--docker` comes later. */
  constructor(private readonly opts: string[]) {
    this.docker = opts.includes('--docker');
  }

  /** Takes a flag (and its value through `val`, or the next word via `peek`/`skip`) when it is a platform flag. */
  take(flag: string, val: () => string, peek: () => string | undefined, skip: () => void): boolean {
    switch (flag) {
      case '--container': this.container = true; break;
      case '--init': {
        const next = peek();
        if (next === 'tini' || next === 'dumb-init') {
          this.init = next;
          skip();
        } else if (next !== undefined && !next.startsWith('-') && /^[a-z-]+$/.test(next) && !/^(node|npm|npx|sh|bash)$/.test(next)) throw new UsageError(`--init: tini or dumb-init (got ${next})`);
        else this.init = 'tini';
        break;
      }
      case '--shared-pid-namespace': this.shared = true; break;
      case '--docker': this.docker = true; break;
      case '--stop-signal': if (!this.docker) return false; this.stopSignal = signalName(val(), flag); break;
      case '--stop-timeout': this.stopTimeoutMs = seconds(val(), flag); break;
      case '--systemd': this.systemd = true; break;
      case '--kill-mode': { const m = val(); if (m !== 'control-group' && m !== 'mixed' && m !== 'process') throw new UsageError(`--kill-mode: control-group, mixed or process (got ${m}${m === 'none' ? '; KillMode=none is deprecated and not simulated' : ''})`); this.killMode = m; break; }
      case '--kill-signal': this.killSignal = signalName(val(), flag); break;
      case '--timeout-stop': case '--timeout-stop-sec': this.timeoutStopMs = systemdSeconds(val(), flag); break;
      case '--send-sighup': this.sendSighup = true; break;
      case '--final-kill-signal': this.finalKillSignal = signalName(val(), flag); break;
      case '--type': { const t = val(); if (t !== 'simple' && t !== 'exec' && t !== 'notify') throw new UsageError(`--type: simple, exec or notify (got ${t})`); this.type = t; break; }
      case '--endpoint-lag': this.endpointLagMs = seconds(val(), flag); break;
      case '--expect': { const e = val(); if (e !== 'survive') throw new UsageError(`--expect: only "survive" (got ${e})`); this.expect = e; break; }
      case '--survive-for': this.surviveForMs = parseDuration(val(), flag); break;
      default: return false;
    }
    this.given.add(flag);
    return true;
  }

  /**
   * Checks the combinations and shapes the plan: Docker and systemd each have one stop signal
   * and one timeout; --expect survive sends the signal, then the stop after the survival window.
   */
  apply(plan: SignalPlan, o: { k8s: boolean; load: boolean; signalGiven: boolean; graceGiven: boolean; deliveryGiven: boolean; second: boolean }): PlatformOptions | undefined {
    const p: PlatformOptions = {};
    const modes = [o.k8s && '--k8s', this.docker && '--docker', this.systemd && '--systemd'].filter(Boolean);
    if (modes.length > 1) throw new UsageError(`${modes.join(' and ')}: choose one platform`);
    const stray = (flags: string[], need: string) => {
      const f = flags.find((x) => this.given.has(x));
      if (f) throw new UsageError(`${f} needs ${need}`);
    };
    if (!this.systemd) stray(['--kill-mode', '--kill-signal', '--timeout-stop', '--timeout-stop-sec', '--send-sighup', '--final-kill-signal', '--type'], '--systemd');
    if (!this.docker) stray(['--stop-timeout'], '--docker');
    if (!o.k8s) stray(['--endpoint-lag', '--shared-pid-namespace'], '--k8s');
    if (this.given.has('--survive-for') && !this.expect) throw new UsageError('--survive-for needs --expect survive');

    if (this.container || this.init || this.docker) p.container = this.init ? { init: this.init } : {};
    if (this.shared) {
      if (this.container || this.given.has('--init')) throw new UsageError('--shared-pid-namespace: the app is not PID 1 then; drop --container/--init');
      p.sharedPidNamespace = true;
    }
    if (this.systemd && p.container) throw new UsageError('--systemd runs the service as a unit, not as PID 1 of a container: drop --container/--init');

    if (this.docker) {
      if (o.second) throw new UsageError('with --docker there is no second signal: docker stop sends the stop signal once, then SIGKILL');
      if (o.deliveryGiven && plan.delivery !== 'main') throw new UsageError('with --docker the stop signal goes to PID 1 only: drop --delivery group');
      if (o.signalGiven && this.stopSignal && this.stopSignal !== plan.signal) throw new UsageError(`--signal ${plan.signal} and --stop-signal ${this.stopSignal} disagree`);
      if (o.graceGiven && this.stopTimeoutMs !== undefined && this.stopTimeoutMs !== plan.graceMs) throw new UsageError('--grace and --stop-timeout disagree');
      const stopSignal = this.stopSignal ?? plan.signal;
      const timeoutMs = this.stopTimeoutMs ?? (o.graceGiven ? plan.graceMs : 10_000);
      p.docker = { stopSignal, stopTimeoutSeconds: timeoutMs / 1000, init: !!this.init };
      if (this.init && this.init !== 'tini') throw new UsageError('docker run --init runs tini (docker-init): use --init or --init tini with --docker');
      plan.signal = stopSignal;
      plan.graceMs = timeoutMs;
      plan.delivery = 'main';
    }
    if (this.systemd) {
      if (o.second) throw new UsageError('with --systemd there is no second signal: systemd sends KillSignal=, then FinalKillSignal= after TimeoutStopSec=');
      if (o.deliveryGiven && plan.delivery !== 'main') throw new UsageError('with --systemd, --kill-mode says who gets the signal: drop --delivery group');
      if (o.signalGiven && this.killSignal && this.killSignal !== plan.signal) throw new UsageError(`--signal ${plan.signal} and --kill-signal ${this.killSignal} disagree`);
      if (o.graceGiven && this.timeoutStopMs !== undefined && this.timeoutStopMs !== plan.graceMs) throw new UsageError('--grace and --timeout-stop disagree');
      const killSignal = this.killSignal ?? plan.signal;
      const timeoutStopMs = this.timeoutStopMs ?? (o.graceGiven ? plan.graceMs : 90_000);
      p.systemd = { killMode: this.killMode ?? 'control-group', killSignal, timeoutStopMs, sendSighup: this.sendSighup, finalKillSignal: this.finalKillSignal ?? 'SIGKILL', type: this.type ?? 'simple' };
      plan.signal = killSignal;
      plan.graceMs = timeoutStopMs;
      plan.delivery = 'main';
    }
    if (o.k8s && (this.endpointLagMs !== undefined || o.load)) p.endpointLagMs = this.endpointLagMs ?? 2000;
    if (this.expect) {
      if (o.k8s || this.docker || this.systemd) throw new UsageError('--expect survive runs its own plan (the signal, then the stop): use it without --k8s/--docker/--systemd');
      if (o.second) throw new UsageError('--expect survive sends the stop itself after --survive-for: drop --second-signal');
      const windowMs = this.surviveForMs ?? 1000;
      const stopSignal = 'SIGTERM';
      if (!o.signalGiven || plan.signal === 'SIGTERM' || plan.signal === 'SIGKILL') throw new UsageError('--expect survive needs a signal that must not stop the service, e.g. --signal SIGHUP (SIGTERM is the stop that follows)');
      p.survive = { signal: plan.signal, windowMs, stopSignal };
      plan.second = { signal: stopSignal, afterMs: windowMs };
      plan.graceMs += windowMs;
    }
    return Object.keys(p).length ? p : undefined;
  }
}
