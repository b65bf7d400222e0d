/**
 * Kubernetes termination (--k8s): what a real pod would have gone through (its fate, in one
 * line), the kubelet's timeline in words, and the findings about preStop and the kill.
 */
import { formatDuration, formatSeconds } from '../../shared/duration';
import { podWouldHave, type K8sOutcome } from '../../shared/kubernetes';
import type { Trace, TraceEvent, Analysis, RequestAccounting } from '../../shared/trace';
import { plural } from './words';

type Ev<K extends TraceEvent['kind']> = Extract<TraceEvent, { kind: K }>;

export function k8sOutcome(trace: Trace, a: Analysis, requests: RequestAccounting | undefined): K8sOutcome | undefined {
  const k = trace.meta.k8s;
  if (!k) return undefined;
  const { events } = trace;
  const mainPid = trace.meta.mainPid ?? trace.processes.find((p) => p.isMain)?.pid;
  const start = events.find((e): e is Ev<'termination-start'> => e.kind === 'termination-start');
  const base = { graceSeconds: k.graceSeconds, stopSignal: k.stopSignal, preStop: start?.preStop, startedAt: start?.t ?? k.startedAt, schedule: k.schedule };
  if (!start) return { ...base, fate: 'not-terminated', summary: 'not terminated: the run ended before the termination began' };
  const exit = events.find((e): e is Ev<'process-exit'> => e.kind === 'process-exit' && e.pid === mainPid);
  const kill = events.find((e): e is Ev<'kill-sent'> => e.kind === 'kill-sent');
  const endAt = exit?.t ?? trace.processes.find((p) => p.pid === mainPid)?.end;
  const endedAfterSeconds = endAt !== undefined ? (endAt - start.t) / 1000 : undefined;
  const parts: string[] = [];
  let fate: K8sOutcome['fate'];
  const ext = k.schedule?.extended
    ? k.schedule.overran
      ? ` (preStop overran the ${k.graceSeconds} s grace period; SIGKILL came ${k.schedule.remainingSeconds} s after ${k.stopSignal})`
      : ` (the kubelet's ${k.schedule.remainingSeconds} s minimum after ${k.stopSignal})`
    : '';
  if (a.exitReason === 'killed-at-deadline' && kill) {
    fate = 'killed';
    parts.push(`killed at ${formatSeconds(kill.t - start.t)}${ext}`);
  } else if (a.exitReason === 'graceful' || a.exitReason === 'forced-exit') {
    fate = 'graceful';
    parts.push(
      `stopped ${a.exitReason === 'graceful' ? 'gracefully' : 'through process.exit()'} ${endedAfterSeconds !== undefined ? `${formatSeconds(endedAfterSeconds * 1000)} into its ${k.graceSeconds} s grace period` : ''}`.trim(),
    );
  } else if (a.exitReason === 'killed-by-signal') {
    fate = 'died-by-signal';
    const sig = trace.processes.find((p) => p.pid === mainPid)?.exit?.signal;
    parts.push(`died by ${sig ?? 'a signal'} at ${endedAfterSeconds !== undefined ? formatSeconds(endedAfterSeconds * 1000) : '?'}`);
  } else if (a.exitReason === 'crashed') {
    fate = 'crashed';
    const code = trace.processes.find((p) => p.pid === mainPid)?.exit?.code;
    parts.push(`crashed: exited with code ${code} at ${endedAfterSeconds !== undefined ? formatSeconds(endedAfterSeconds * 1000) : '?'}`);
  } else {
    fate = 'unknown';
    parts.push(`ended as ${a.exitReason}`);
  }
  if (requests) parts.push(`${plural(requests.lost, 'request')} lost`);
  parts.push(a.leakedHandleCount ? `${plural(a.leakedHandleCount, 'handle')} alive` : 'no handles alive');
  return { ...base, endedAfterSeconds, fate, summary: parts.join('; ') };
}

function k8sTimeline(trace: Trace, k: K8sOutcome): string {
  const { events } = trace;
  const t0 = k.startedAt ?? 0;
  const rel = (t: number) => `+${formatDuration(t - t0)}`;
  const steps: string[] = [`Termination began at ${formatDuration(t0)} (terminationGracePeriodSeconds ${k.graceSeconds}, stop signal ${k.stopSignal}).`];
  const ps = events.find((e): e is Ev<'prestop-start'> => e.kind === 'prestop-start');
  const pe = events.find((e): e is Ev<'prestop-end'> => e.kind === 'prestop-end');
  if (ps)
    steps.push(
      `preStop ${ps.detail} started at ${rel(ps.t)}${pe ? (pe.overran ? `; still running at ${rel(pe.t)}, when the kubelet stopped waiting` : `; ${pe.ok ? 'finished' : `failed (${pe.error})`} at ${rel(pe.t)}`) : ''}.`,
    );
  const sig = events.find((e): e is Ev<'signal-sent'> => e.kind === 'signal-sent');
  if (sig) steps.push(`${sig.signal} to the main process (pid ${sig.target}) at ${rel(sig.t)}.`);
  if (k.schedule) {
    const s = k.schedule;
    steps.push(
      `SIGKILL due at +${formatDuration(s.killAtMs)}: ${s.overran ? `preStop overran, so ${s.remainingSeconds} s after the signal (the one-off extension)` : k.preStop ? `${k.graceSeconds} s − ${s.preStopSeconds} s of preStop (whole seconds, as the kubelet counts) = ${s.remainingSeconds} s after the signal${s.extended ? ' (raised to the 2 s minimum)' : ''}` : `${s.remainingSeconds} s after the signal`}.`,
    );
  }
  const kill = events.find((e): e is Ev<'kill-sent'> => e.kind === 'kill-sent');
  if (kill) steps.push(`SIGKILL sent at ${rel(kill.t)}.`);
  if (k.endedAfterSeconds !== undefined) steps.push(`The main process ended at +${formatDuration(k.endedAfterSeconds * 1000)}.`);
  return steps.join(' ');
}

/** The preStop and k8s-termination findings; the verdict leads with what a real pod would have gone through. */
export function addK8sFindings(trace: Trace, a: Analysis, k8s: K8sOutcome): void {
  const { events } = trace;
  const findings = a.findings;
  const idx = new Map<TraceEvent, number>();
  events.forEach((e, i) => idx.set(e, i));
  const ix = (es: (TraceEvent | undefined)[]) => es.filter((e): e is TraceEvent => !!e).map((e) => idx.get(e)!);
  const prestopEnd = events.find((e): e is Ev<'prestop-end'> => e.kind === 'prestop-end');
  const started = events.find((e): e is Ev<'termination-start'> => e.kind === 'termination-start');
  const ext = events.find((e): e is Ev<'grace-extension'> => e.kind === 'grace-extension');
  if (prestopEnd && (!prestopEnd.ok || prestopEnd.overran)) {
    findings.push({
      code: 'prestop',
      severity: 'warning',
      title: prestopEnd.overran ? `preStop was still running at the ${k8s.graceSeconds} s grace deadline` : `preStop failed: ${prestopEnd.error ?? 'unknown error'}`,
      detail: prestopEnd.overran
        ? `The kubelet waits for preStop at most the whole grace period, then sends ${k8s.stopSignal} and SIGKILL ${k8s.schedule?.remainingSeconds ?? 2} s later (its one-off extension): the app had ${k8s.schedule?.remainingSeconds ?? 2} s to shut down.`
        : `The kubelet records a FailedPreStopHook event and goes on: ${k8s.stopSignal} was sent after ${formatDuration(prestopEnd.durationMs)}.${prestopEnd.output ? ` Hook output: ${prestopEnd.output.slice(-300)}` : ''}`,
      evidence: ix([started, prestopEnd, ext]),
    });
  }
  const killed = findings.find((f) => f.code === 'killed-at-deadline');
  if (killed && k8s.fate === 'killed' && k8s.schedule) {
    const s = k8s.schedule;
    killed.title = `Killed by SIGKILL ${formatDuration(s.killAtMs)} after termination began (terminationGracePeriodSeconds ${k8s.graceSeconds}${s.extended ? `, ${s.remainingSeconds} s minimum after the signal` : ''})`;
    killed.detail = `${k8s.stopSignal} reached the main process ${formatDuration(s.signalAtMs)} after termination began${k8s.preStop ? ` (after preStop ${k8s.preStop})` : ''}; it was still running when the kubelet's time was up. SIGKILL cannot be caught, so nothing after it ran.`;
  }
  findings.push({
    code: 'k8s-termination',
    severity: k8s.fate === 'graceful' ? 'info' : k8s.fate === 'not-terminated' ? 'warning' : 'error',
    title: `As a Kubernetes pod: ${k8s.summary}`,
    detail: k8sTimeline(trace, k8s),
    evidence: ix([started, events.find((e) => e.kind === 'prestop-start'), prestopEnd, ext, events.find((e) => e.kind === 'signal-sent'), events.find((e) => e.kind === 'kill-sent')]),
  });
  if (k8s.fate !== 'not-terminated') {
    const rest = a.verdict.replace(/^Killed at the [^:]+ deadline: /, '');
    a.verdict = `${podWouldHave(k8s).replace(/^a/, 'A')}. ${rest.charAt(0).toUpperCase()}${rest.slice(1)}`;
  }
}
