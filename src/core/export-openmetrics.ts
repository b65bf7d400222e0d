/**
 * A shutdown's figures as OpenMetrics text, for the Prometheus node exporter's textfile
 * collector or a Pushgateway. Every family is a gauge: these are facts about one shutdown, not
 * counters that grow. No sample timestamps (the textfile collector refuses them): the
 * shutdown's wall time is its own gauge. Several traces (collect) make one exposition, told
 * apart by their instance labels (service, host, pod, namespace, pid).
 */
import type { Trace, ExitReason } from '../shared/trace';
import { analysisOf } from './analysis';
import { resourceOf, wallAtZero } from './resource';

const EXIT_REASONS: ExitReason[] = ['graceful', 'forced-exit', 'killed-at-deadline', 'killed-by-signal', 'crashed', 'exited-before-signal', 'still-running', 'unknown'];

interface Family {
  name: string;
  help: string;
  unit?: string;
  samples: { labels: Record<string, string>; value: number }[];
}

function escapeLabel(v: string): string {
  // Control characters never reach a terminal or a scraper from a phase name.
  return v
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\n/g, '\\n')
    .replace(/[\x00-\x1f\x7f-\x9f]/g, '\uFFFD');
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(Math.round(v * 1e6) / 1e6);
}

/** Requests lost: the load generator's count (client view) when --load ran, else requests the service was serving at its end and never finished (server view). */
function requestsLost(trace: Trace, a: NonNullable<Trace['analysis']>): { view: 'client' | 'server'; lost: number } {
  if (a.requests) return { view: 'client', lost: a.requests.lost };
  const open = new Map<string, boolean>();
  for (const e of trace.events) {
    if (e.kind === 'request-start') open.set(`${e.pid}|${e.req}`, true);
    else if (e.kind === 'request-end') open.set(`${e.pid}|${e.req}`, e.aborted);
  }
  let lost = 0;
  for (const cut of open.values()) if (cut) lost++;
  return { view: 'server', lost };
}

/** The OpenMetrics exposition of one or more traces, ending with `# EOF`. */
export function toOpenMetrics(traces: Trace[]): string {
  const fams: Family[] = [
    { name: 'shutdown_trace_duration_seconds', unit: 'seconds', help: "Time from the first signal to the main process's exit.", samples: [] },
    { name: 'shutdown_trace_grace_period_seconds', unit: 'seconds', help: 'The grace period the shutdown was held against (assumed when recorded without the launcher and not given).', samples: [] },
    { name: 'shutdown_trace_exit_reason', help: 'How the shutdown ended: 1 for its exit reason, 0 for the others.', samples: [] },
    { name: 'shutdown_trace_exit_code', help: "The main process's exit code; -1 when a signal ended it.", samples: [] },
    { name: 'shutdown_trace_leaked_handles', help: 'Handles still holding the process when it ended or was killed, by kind (kind="none" 0 when there were none).', samples: [] },
    {
      name: 'shutdown_trace_requests_lost',
      help: 'Requests lost during shutdown: counted by the load generator (view="client"), or requests the service never finished (view="server").',
      samples: [],
    },
    { name: 'shutdown_trace_phase_duration_seconds', unit: 'seconds', help: "Duration of each shutdown phase: signal listeners, server.close(), the app's own phases.", samples: [] },
    { name: 'shutdown_trace_end_timestamp_seconds', unit: 'seconds', help: 'Wall-clock time (Unix seconds) the main process ended.', samples: [] },
  ];
  const fam = (name: string) => fams.find((f) => f.name === name)!;
  const instances = new Map<string, number>();
  for (const trace of traces) {
    const a = analysisOf(trace);
    const r = resourceOf(trace);
    const pid = a.servicePid ?? trace.meta.mainPid ?? 0;
    const base: Record<string, string> = { service: String(r['service.name']) };
    if (r['host.name']) base.host = String(r['host.name']);
    if (r['k8s.namespace.name']) base.namespace = String(r['k8s.namespace.name']);
    if (r['k8s.pod.name']) base.pod = String(r['k8s.pod.name']);
    base.pid = String(pid);
    // The same pid on the same host again (a restarted container): one more series, never a duplicate.
    const key = JSON.stringify(base);
    const nth = (instances.get(key) ?? 0) + 1;
    instances.set(key, nth);
    if (nth > 1) base.run = String(nth);
    if (a.signalToExitMs !== undefined) fam('shutdown_trace_duration_seconds').samples.push({ labels: base, value: a.signalToExitMs / 1000 });
    fam('shutdown_trace_grace_period_seconds').samples.push({ labels: base, value: a.graceMs / 1000 });
    for (const reason of EXIT_REASONS) fam('shutdown_trace_exit_reason').samples.push({ labels: { ...base, reason }, value: a.exitReason === reason ? 1 : 0 });
    const exit = a.serviceExit ?? trace.processes.find((p) => p.pid === pid)?.exit;
    if (exit) fam('shutdown_trace_exit_code').samples.push({ labels: base, value: exit.code ?? -1 });
    const kinds = new Map<string, number>();
    for (const l of a.leaks ?? []) for (const h of l.handles) kinds.set(h.type, (kinds.get(h.type) ?? 0) + Number(h.details?.count ?? 1));
    if (kinds.size === 0) kinds.set('none', 0);
    for (const [kind, n] of [...kinds].sort()) fam('shutdown_trace_leaked_handles').samples.push({ labels: { ...base, kind }, value: n });
    const rl = requestsLost(trace, a);
    fam('shutdown_trace_requests_lost').samples.push({ labels: { ...base, view: rl.view }, value: rl.lost });
    const seen = new Map<string, number>();
    for (const p of a.phases) {
      if (p.durationMs === undefined || p.id.startsWith('shutdown-')) continue;
      // Two phases of one name in one process (a listener run twice) stay apart.
      const key = `${p.pid}|${p.name}`;
      const nth = (seen.get(key) ?? 0) + 1;
      seen.set(key, nth);
      fam('shutdown_trace_phase_duration_seconds').samples.push({
        labels: { ...base, phase: p.name, phase_pid: String(p.pid), ...(nth > 1 ? { occurrence: String(nth) } : {}) },
        value: p.durationMs / 1000,
      });
    }
    const main = trace.processes.find((p) => p.pid === pid);
    fam('shutdown_trace_end_timestamp_seconds').samples.push({ labels: base, value: (wallAtZero(trace) + (main?.end ?? trace.meta.durationMs)) / 1000 });
  }
  const lines: string[] = [];
  for (const f of fams) {
    lines.push(`# TYPE ${f.name} gauge`);
    if (f.unit) lines.push(`# UNIT ${f.name} ${f.unit}`);
    lines.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
    for (const s of f.samples) {
      const labels = Object.entries(s.labels)
        .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
        .join(',');
      lines.push(`${f.name}${labels ? `{${labels}}` : ''} ${num(s.value)}`);
    }
  }
  lines.push('# EOF');
  return lines.join('\n') + '\n';
}
