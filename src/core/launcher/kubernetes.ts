/**
 * Kubernetes termination (--k8s) as the kubelet does it: termination begins, the preStop hook
 * runs, then the stop signal goes to the main process, and SIGKILL comes by the kubelet's
 * arithmetic (the grace period counted from the start, at least 2 s after the signal).
 */
import type { K8sPlan } from '../../shared/kubernetes';
import { kubeletSchedule, describePreStop, type KubeletSchedule } from '../../shared/kubernetes';
import type { LauncherEvent, Trace } from '../../shared/trace';
import { startPreStop, type RunningHook } from '../k8s';

export interface TerminationHost {
  now(): number;
  event(e: LauncherEvent): void;
  later(ms: number, fn: () => void): void;
  meta(): Trace['meta'];
  /** The main process exited, or the run is finishing: nothing more is sent. */
  over(): boolean;
  /** A signal was already sent by hand or by the plan. */
  signalled(): boolean;
  startTraffic(): void;
  /** The hook's process started: the journal learns its pid, so a watchdog can stop it. */
  hookStarted(): void;
  sendStopSignal(signal: string): void;
  /** The kubelet's kill time: snapshot and SIGKILL what is left. */
  deadline(): void;
  /** Where and with what environment a preStop exec runs, and the port an httpGet goes to. */
  cwd: string;
  env(): NodeJS.ProcessEnv;
  serviceAddress(): string | undefined;
}

export class KubeletTermination {
  started = false;
  private running: RunningHook | undefined;

  constructor(
    private readonly k: K8sPlan,
    private readonly host: TerminationHost,
  ) {}

  /** The preStop hook while it runs. */
  get hook(): RunningHook | undefined {
    return this.running;
  }

  /** A preStop exec runs inside the container: it dies with it. */
  cancelHook(reason?: string): void {
    this.running?.cancel(reason);
  }

  /** Termination begins; preStop, then the stop signal, then SIGKILL by the kubelet's arithmetic. */
  start(): void {
    const { k, host } = this;
    if (this.started || host.over() || host.signalled()) return;
    this.started = true;
    host.startTraffic();
    const t0 = host.now();
    const meta = host.meta();
    meta.k8s = { ...meta.k8s!, startedAt: t0 };
    const preStop = k.preStop && k.graceSeconds > 0 ? k.preStop : undefined;
    host.event({ kind: 'termination-start', t: t0, graceSeconds: k.graceSeconds, stopSignal: k.stopSignal, preStop: preStop ? describePreStop(preStop) : undefined });
    if (!preStop) return this.stop(t0, kubeletSchedule(k.graceSeconds));
    const hook = startPreStop(preStop, { cwd: host.cwd, env: host.env(), serviceAddress: host.serviceAddress() });
    this.running = hook;
    host.hookStarted();
    host.event({ kind: 'prestop-start', t: host.now(), action: preStop.action, detail: describePreStop(preStop), hookPid: hook.pid });
    let decided = false;
    void hook.done.then((r) => {
      const t = host.now();
      if (this.running === hook) this.running = undefined;
      if (decided) {
        host.event({ kind: 'note', t, text: `The preStop hook ended ${Math.round(t - t0)} ms after termination began, after the kubelet had stopped waiting for it${r.ok ? '' : ` (${r.error})`}.` });
        return;
      }
      decided = true;
      // A sleep lasts at least its length; Node timers may fire ~1 ms early on this clock, which
      // whole-second truncation would turn into a whole second.
      const ran = Math.max(t - t0, preStop.action === 'sleep' && r.ok ? preStop.ms : 0);
      host.event({ kind: 'prestop-end', t, ok: r.ok, overran: false, durationMs: ran, error: r.error, status: r.status, exitCode: r.exitCode, output: r.output });
      this.stop(t0, kubeletSchedule(k.graceSeconds, ran));
    });
    host.later(k.graceSeconds * 1000, () => {
      if (decided) return;
      decided = true;
      const t = host.now();
      host.event({ kind: 'prestop-end', t, ok: false, overran: true, durationMs: t - t0, error: `still running at the ${k.graceSeconds} s grace deadline: the kubelet stopped waiting for it` });
      this.stop(t0, kubeletSchedule(k.graceSeconds, Infinity));
    });
  }

  private stop(t0: number, sched: KubeletSchedule): void {
    const { k, host } = this;
    if (host.over()) return;
    const meta = host.meta();
    meta.k8s = { ...meta.k8s!, schedule: sched };
    const t = host.now();
    if (sched.extended) {
      const reason = sched.overran
        ? `preStop was still running at the ${k.graceSeconds} s grace deadline: the kubelet sends ${k.stopSignal} now and SIGKILL ${sched.remainingSeconds} s later (its one-off extension)`
        : `only ${Math.max(0, k.graceSeconds - sched.preStopSeconds)} s of the ${k.graceSeconds} s grace period were left: the kubelet gives the container its minimum of ${sched.remainingSeconds} s after the signal`;
      host.event({ kind: 'grace-extension', t, seconds: sched.remainingSeconds, reason });
    }
    host.sendStopSignal(k.stopSignal);
    host.later(Math.max(0, t0 + sched.killAtMs - host.now()), () => host.deadline());
  }
}
