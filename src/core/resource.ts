/**
 * Who a shutdown happened to, in OpenTelemetry's resource terms: service.name, host, the
 * Kubernetes pod (from the downward API variables the spool header recorded), everything in
 * OTEL_RESOURCE_ATTRIBUTES, and the process. Shared by the OTLP and OpenMetrics exports.
 */
import type { Trace } from '../shared/trace';
import type { StandaloneTrace } from './spool-format';

export type Attrs = Record<string, string | number | boolean>;

/** OTEL_RESOURCE_ATTRIBUTES: `key=value,key2=value2`, values percent-encoded (W3C Baggage octets). */
export function parseResourceAttributes(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text ?? '').split(',')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const k = part.slice(0, i).trim();
    let v = part.slice(i + 1).trim();
    try {
      v = decodeURIComponent(v);
    } catch {}
    if (k) out[k] = v;
  }
  return out;
}

/** The downward-API variable names read for each Kubernetes attribute, first set wins. */
const K8S_FROM_ENV: Record<string, string[]> = {
  'k8s.pod.name': ['POD_NAME', 'K8S_POD_NAME', 'OTEL_RESOURCE_ATTRIBUTES_POD_NAME'],
  'k8s.namespace.name': ['POD_NAMESPACE', 'K8S_NAMESPACE_NAME'],
  'k8s.node.name': ['NODE_NAME', 'K8S_NODE_NAME', 'OTEL_RESOURCE_ATTRIBUTES_NODE_NAME'],
  'k8s.pod.uid': ['POD_UID', 'K8S_POD_UID', 'OTEL_RESOURCE_ATTRIBUTES_POD_UID'],
  'k8s.container.name': ['CONTAINER_NAME', 'K8S_CONTAINER_NAME'],
};

/** The resource of the trace's main process. */
export function resourceOf(trace: Trace): Attrs {
  const sa = (trace as StandaloneTrace).meta.standalone;
  const main = trace.processes.find((p) => p.isMain) ?? trace.processes[0];
  const header = sa?.headers.find((h) => h.hello.pid === main?.pid) ?? sa?.headers[0];
  const env = header?.env ?? {};
  const attrs: Attrs = {};
  const fromOtel = parseResourceAttributes(env.OTEL_RESOURCE_ATTRIBUTES);
  for (const [k, v] of Object.entries(fromOtel)) attrs[k] = v;
  for (const [attr, names] of Object.entries(K8S_FROM_ENV)) {
    const v = names.map((n) => env[n]).find((x) => x);
    if (v) attrs[attr] = v;
  }
  // The specification's default when nothing names the service.
  attrs['service.name'] = env.OTEL_SERVICE_NAME || fromOtel['service.name'] || 'unknown_service:node';
  if (header?.host) attrs['host.name'] = header.host;
  if (main) {
    attrs['process.pid'] = main.pid;
    if (main.ppid) attrs['process.parent_pid'] = main.ppid;
    if (main.command) attrs['process.command_line'] = main.command;
  }
  attrs['process.runtime.name'] = 'nodejs';
  attrs['process.runtime.description'] = 'Node.js';
  const node = main?.node || trace.meta.node;
  if (node) attrs['process.runtime.version'] = node.replace(/^v/, '');
  return attrs;
}

/** Wall-clock ms (Unix epoch) of trace time 0: exact for collected traces, the run's start for a launcher's. */
export function wallAtZero(trace: Trace): number {
  const sa = (trace as StandaloneTrace).meta.standalone;
  if (sa && typeof sa.wallAtZero === 'number') return sa.wallAtZero;
  const t = Date.parse(trace.meta.createdAt);
  return Number.isFinite(t) ? t : 0;
}
