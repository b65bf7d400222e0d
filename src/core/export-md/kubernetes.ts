/** "Kubernetes termination": the plan, the kubelet's steps and the pod's fate, as Markdown. */
import type { Analysis, Trace, TraceEvent } from '../../shared/trace';
import { formatDuration, formatOffset } from '../../shared/duration';
import { describePreStop, podWouldHave } from '../../shared/kubernetes';
import { describeWhen, formatExit, truncate } from '../format';
import { mdCode, mdFence, mdText, table } from './escape';

/** The signal plan of a --k8s run: the plan's moment starts the termination, the rest is the kubelet's. */
export function describeK8sPlan(trace: Trace): string[] {
  const k = trace.meta.k8s!;
  const plan = trace.meta.plan;
  const lines: string[] = [];
  lines.push(plan?.when?.mode === 'never' ? 'Termination (Kubernetes, --k8s): not started by the tool' : `Termination (Kubernetes, --k8s): ${describeWhen(plan?.when)}`);
  if (k.preStop) lines.push(`preStop: ${describePreStop(k.preStop)}, then the stop signal`);
  lines.push(`Stop signal: ${k.stopSignal} to the main process only (as the kubelet sends it)`);
  lines.push(`SIGKILL: terminationGracePeriodSeconds ${k.graceSeconds} counted from the start of termination, minus preStop in whole seconds, at least 2 s after the stop signal`);
  return lines;
}

const FATE_ICON: Record<string, string> = { graceful: '✅', killed: '🔴', 'died-by-signal': '🔴', crashed: '🔴', 'not-terminated': '🟠', unknown: '❔' };

/** The kubelet's steps for this run, read from the events, with the analysis' verdict on the pod. */
export function k8sSection(trace: Trace, a: Analysis): string[] {
  const meta = trace.meta;
  const k = meta?.k8s;
  const events = trace.events ?? [];
  const start = events.find((e): e is Extract<TraceEvent, { kind: 'termination-start' }> => e.kind === 'termination-start');
  if (!k && !start) return [];
  const out = a.k8s;
  const ps = events.find((e): e is Extract<TraceEvent, { kind: 'prestop-start' }> => e.kind === 'prestop-start');
  const pe = events.find((e): e is Extract<TraceEvent, { kind: 'prestop-end' }> => e.kind === 'prestop-end');
  const ext = events.find((e): e is Extract<TraceEvent, { kind: 'grace-extension' }> => e.kind === 'grace-extension');
  const mainPid = meta?.mainPid ?? trace.processes?.find((p) => p.isMain)?.pid;
  const sig = events.find((e): e is Extract<TraceEvent, { kind: 'signal-sent' }> => e.kind === 'signal-sent' && (start === undefined || e.t >= start.t));
  const kill = events.find((e): e is Extract<TraceEvent, { kind: 'kill-sent' }> => e.kind === 'kill-sent');
  const exit = events.find((e): e is Extract<TraceEvent, { kind: 'process-exit' }> => e.kind === 'process-exit' && e.pid === mainPid);
  const main = trace.processes?.find((p) => p.pid === mainPid);
  const t0 = start?.t ?? out?.startedAt ?? k?.startedAt;
  const since = (t: number) => (t0 !== undefined ? ` (${formatDuration(t - t0)} after termination began)` : '');
  const graceSeconds = start?.graceSeconds ?? out?.graceSeconds ?? k?.graceSeconds;
  const stopSignal = start?.stopSignal ?? out?.stopSignal ?? k?.stopSignal ?? 'SIGTERM';
  const schedule = out?.schedule ?? k?.schedule;
  const L: string[] = ['### Kubernetes termination', ''];
  if (out) L.push(`${FATE_ICON[out.fate] ?? '❔'} **${mdText(capitalize(podWouldHave(out)))}.**`, '');
  else if (!start) L.push('🟠 **Not terminated: the run ended before the termination began.**', '');

  const rows: string[][] = [];
  rows.push(['terminationGracePeriodSeconds', graceSeconds !== undefined ? `${graceSeconds} s` : '–']);
  rows.push(['Stop signal', mdCode(stopSignal, true)]);
  const preStopText = start?.preStop ?? out?.preStop ?? ps?.detail;
  if (!preStopText && !ps) rows.push(['preStop', 'none']);
  else {
    const kind = ps?.action;
    let result = 'did not run';
    if (ps && pe) {
      const how = pe.overran
        ? `⚠️ still running at the ${graceSeconds ?? '?'} s grace deadline: the kubelet stopped waiting (overran)`
        : pe.ok
          ? 'finished'
          : `❌ failed${pe.error ? `: ${mdText(truncate(pe.error, 200))}` : ''}`;
      const code = !pe.overran && pe.exitCode !== undefined && pe.exitCode !== null ? `, exit code ${pe.exitCode}` : '';
      const status = pe.status !== undefined ? `, HTTP ${pe.status}` : '';
      result = `ran ${formatDuration(pe.durationMs)}, from ${formatOffset(ps.t)}: ${how}${code}${status}`;
    } else if (ps) result = `started at ${formatOffset(ps.t)}, never ended in the trace`;
    const p = k?.preStop;
    const what =
      p?.action === 'sleep'
        ? `sleep ${formatDuration(p.ms)}`
        : p?.action === 'exec'
          ? `exec ${mdCode(truncate(p.command, 200), true)}`
          : p?.action === 'httpGet'
            ? `httpGet ${mdCode(truncate(p.url, 200), true)}`
            : `${kind ? `${mdText(kind)} ` : ''}${mdCode(truncate(preStopText ?? '', 200), true)}`;
    rows.push(['preStop', `${what}: ${result}`]);
  }
  rows.push(['Termination began', t0 !== undefined ? `${formatOffset(t0)} (the grace period counts from here)` : 'never']);
  rows.push(['Stop signal sent', sig ? `${mdText(sig.signal)} to pid ${sig.target} at ${formatOffset(sig.t)}${since(sig.t)}` : 'never']);
  const killDue = schedule && t0 !== undefined ? t0 + schedule.killAtMs : undefined;
  let killText: string;
  if (kill) killText = `sent at ${formatOffset(kill.t)}${since(kill.t)}`;
  else if (killDue !== undefined)
    killText = `not needed: due at ${formatOffset(killDue)} (${formatDuration(schedule!.killAtMs)} after termination began)${exit ? `, the main process ended before` : ''}`;
  else killText = 'not sent';
  if (kill && schedule) killText += `; due ${formatDuration(schedule.killAtMs)} after termination began, ${schedule.remainingSeconds} s after the stop signal`;
  rows.push(['SIGKILL', killText]);
  const extApplied =
    ext ??
    (schedule?.extended
      ? {
          seconds: schedule.remainingSeconds,
          reason: schedule.overran ? 'preStop overran the grace period' : `the kubelet's ${schedule.remainingSeconds} s minimum after the stop signal`,
          t: undefined,
        }
      : undefined);
  rows.push([
    'Grace extension',
    extApplied ? `applied: SIGKILL ${extApplied.seconds} s after the stop signal${extApplied.t !== undefined ? ` (at ${formatOffset(extApplied.t)})` : ''}; ${mdText(extApplied.reason)}` : 'none',
  ]);
  if (schedule && !schedule.overran && schedule.preStopSeconds > 0) {
    rows.push(['Kubelet arithmetic', `${graceSeconds} s − ${schedule.preStopSeconds} s of preStop (whole seconds) = ${schedule.remainingSeconds} s after the stop signal`]);
  }
  const endAt = exit?.t ?? main?.end;
  rows.push([
    'Main process ended',
    endAt !== undefined ? `${formatOffset(endAt)}${since(endAt)}, ${formatExit(main?.exit ?? (exit ? { code: exit.code, signal: exit.signal } : undefined))}` : 'still running when the trace ended',
  ]);
  L.push(...table(['Step', 'Value'], rows));
  L.push('');
  if (pe?.output) {
    L.push('preStop output (last lines):');
    L.push('');
    L.push(mdFence(pe.output.split(/\r?\n/).slice(-10).join('\n'), 'text'));
    L.push('');
  }
  return L;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
