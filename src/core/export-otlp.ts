/**
 * A shutdown as one OpenTelemetry trace (OTLP). OpenTelemetry has no convention for a shutdown
 * yet, beyond process.exit.code and the code.* source attributes, so the shape is ours:
 *  - one root span `shutdown`, from the first signal (or the start, when none came) to the main
 *    process's end: process.pid, process.exit.code, process.runtime.*, shutdown.* figures; the
 *    resource carries service.name, host.name, k8s.* and OTEL_RESOURCE_ATTRIBUTES;
 *  - a child span per phase (signal listeners, server.close(), the app's own phases, another
 *    process's shutdown), nested as the analysis nests them;
 *  - span events on the root: each signal, the grace deadline, SIGKILL, each exit, exceptions
 *    (semantic-convention `exception` events), and each leak (`leaked handle`, with
 *    code.file.path, code.line.number, code.column.number and code.function.name).
 * Official OpenTelemetry JS packages only here, in the CLI; never in the preload.
 */
import { createHash } from 'crypto';
import { SpanKind, SpanStatusCode, TraceFlags, type HrTime, type Attributes, type SpanContext } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { Trace, TraceEvent, PhaseTiming } from '../shared/trace';
import { analysisOf } from './analysis';
import { resourceOf, wallAtZero } from './resource';
import { TOOL_VERSION } from './version';
import type { StandaloneTrace } from './spool-format';

const SCOPE = { name: 'shutdown-trace', version: TOOL_VERSION };

function hrTime(ms: number): HrTime {
  const whole = Math.floor(ms / 1000);
  return [whole, Math.round((ms - whole * 1000) * 1e6)];
}

function id(seed: string, hexLen: number): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, hexLen);
}

type Ev<K extends TraceEvent['kind']> = Extract<TraceEvent, { kind: K }>;

/** The spans of one shutdown; ids derive from the trace, so exporting it twice gives the same trace id. */
export function shutdownSpans(trace: Trace): ReadableSpan[] {
  const a = analysisOf(trace);
  const wall0 = wallAtZero(trace);
  const at = (t: number) => hrTime(wall0 + t);
  const resourceAttrs = resourceOf(trace);
  const resource = resourceFromAttributes(resourceAttrs);
  const mainPid = a.servicePid ?? trace.meta.mainPid ?? trace.processes.find((p) => p.isMain)?.pid ?? 0;
  const main = trace.processes.find((p) => p.pid === mainPid);
  const traceId = id(`${resourceAttrs['host.name'] ?? ''}|${mainPid}|${wall0}|${trace.meta.createdAt}`, 32);
  let n = 0;
  const nextSpanId = () => id(`${traceId}|${n++}`, 16);
  const ctx = (spanId: string): SpanContext => ({ traceId, spanId, traceFlags: TraceFlags.SAMPLED });
  const ev = trace.events;
  const of = <K extends TraceEvent['kind']>(k: K) => ev.filter((e): e is Ev<K> => e.kind === k);

  const firstSignal = of('termination-start')[0] ?? of('signal-sent')[0] ?? of('signal').find((s) => s.pid === mainPid) ?? of('signal')[0];
  const start = firstSignal?.t ?? main?.start ?? 0;
  const end = Math.max(start, main?.end ?? trace.meta.durationMs);
  const make = (o: { name: string; spanId: string; parent?: string; start: number; end: number; attributes: Attributes; events?: TimedEvent[]; error?: string; ok?: boolean }): ReadableSpan => {
    const s = o.start;
    const e = Math.max(o.start, o.end);
    return {
      name: o.name,
      kind: SpanKind.INTERNAL,
      spanContext: () => ctx(o.spanId),
      parentSpanContext: o.parent ? ctx(o.parent) : undefined,
      startTime: at(s),
      endTime: at(e),
      duration: hrTime(e - s),
      status: o.error !== undefined ? { code: SpanStatusCode.ERROR, message: o.error } : o.ok ? { code: SpanStatusCode.OK } : { code: SpanStatusCode.UNSET },
      attributes: o.attributes,
      links: [],
      events: o.events ?? [],
      ended: true,
      resource,
      instrumentationScope: SCOPE,
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    };
  };

  // ---- root span events
  const events: TimedEvent[] = [];
  const push = (t: number, name: string, attributes: Attributes) => events.push({ time: at(t), name, attributes });
  for (const s of of('signal')) push(s.t, 'signal', { 'shutdown.signal': s.signal, 'process.pid': s.pid, 'shutdown.signal.nth': s.nth, 'shutdown.signal.listeners': s.listeners });
  for (const s of of('signal-sent')) push(s.t, 'signal sent', { 'shutdown.signal': s.signal, 'process.pid': s.target, 'shutdown.signal.delivery': s.delivery });
  for (const d of of('deadline')) push(d.t, 'grace deadline', { 'shutdown.grace_ms': d.graceMs });
  for (const k of of('kill-sent')) push(k.t, 'SIGKILL', { 'process.pid': k.target, 'shutdown.signal': 'SIGKILL' });
  const killSent = new Set(of('kill-sent').map((k) => k.target));
  for (const x of of('process-exit')) {
    // A SIGKILL nobody recorded sending (the OOM killer, a platform's deadline seen from a spool) is still a SIGKILL event.
    if (x.signal === 'SIGKILL' && !killSent.has(x.pid)) push(x.t, 'SIGKILL', { 'process.pid': x.pid, 'shutdown.signal': 'SIGKILL', 'shutdown.sender_known': false });
    const attrs: Attributes = { 'process.pid': x.pid };
    if (x.code !== null) attrs['process.exit.code'] = x.code;
    if (x.signal) attrs['shutdown.exit.signal'] = x.signal;
    push(x.t, 'process exit', attrs);
  }
  for (const x of of('exit-call')) push(x.t, 'process.exit() called', { 'process.pid': x.pid, ...(typeof x.code === 'number' ? { 'process.exit.code': x.code } : {}) });
  for (const e of of('error')) {
    const type = /^(\w+):/.exec(e.message)?.[1] ?? 'Error';
    push(e.t, 'exception', {
      'exception.type': type,
      'exception.message': e.message,
      ...(e.stack ? { 'exception.stacktrace': e.stack } : {}),
      'shutdown.error.origin': e.origin,
      'process.pid': e.pid,
    });
  }
  for (const l of a.leaks ?? []) {
    const attrs: Attributes = {
      'shutdown.leak.title': l.title,
      'shutdown.leak.count': l.count,
      'shutdown.leak.kinds': [...new Set(l.handles.map((h) => h.type))].join(','),
      'shutdown.leak.in_user_code': l.inUserCode,
      'process.pid': l.pid,
    };
    if (l.site) {
      attrs['code.file.path'] = l.site.file;
      attrs['code.line.number'] = l.site.line;
      attrs['code.column.number'] = l.site.col;
      if (l.site.fn) attrs['code.function.name'] = l.site.fn;
    }
    if (l.owner) attrs['shutdown.leak.owner'] = l.owner.name;
    if (l.fix) attrs['shutdown.leak.fix'] = l.fix;
    const gone = trace.processes.find((p) => p.pid === l.pid)?.end ?? end;
    push(gone, 'leaked handle', attrs);
  }
  events.sort((x, y) => x.time[0] - y.time[0] || x.time[1] - y.time[1]);

  const exit = a.serviceExit ?? main?.exit;
  const rootAttrs: Attributes = {
    'process.pid': mainPid,
    'process.runtime.name': 'nodejs',
    'process.runtime.description': 'Node.js',
    'shutdown.exit_reason': a.exitReason,
    'shutdown.verdict': a.verdict,
    'shutdown.grace_ms': a.graceMs,
    'shutdown.leaked_handles': a.leakedHandleCount,
    'shutdown.recorded_by': (trace as StandaloneTrace).meta.standalone ? 'preload' : 'launcher',
  };
  if (resourceAttrs['process.runtime.version']) rootAttrs['process.runtime.version'] = resourceAttrs['process.runtime.version'];
  if (exit?.code !== null && exit?.code !== undefined) rootAttrs['process.exit.code'] = exit.code;
  if (exit?.signal) rootAttrs['shutdown.exit.signal'] = exit.signal;
  if (firstSignal && 'signal' in firstSignal) rootAttrs['shutdown.signal'] = (firstSignal as { signal: string }).signal;
  if (firstSignal && firstSignal.kind === 'termination-start') rootAttrs['shutdown.signal'] = firstSignal.stopSignal;
  if (a.signalToExitMs !== undefined) rootAttrs['shutdown.signal_to_exit_ms'] = a.signalToExitMs;
  if (a.requests) rootAttrs['shutdown.requests.lost'] = a.requests.lost;
  if (trace.meta.counters.droppedEvents) rootAttrs['shutdown.dropped_events'] = trace.meta.counters.droppedEvents;
  const rootId = nextSpanId();
  const spans: ReadableSpan[] = [
    make({ name: 'shutdown', spanId: rootId, start, end, attributes: rootAttrs, events, ok: a.exitReason === 'graceful', error: a.exitReason === 'graceful' ? undefined : a.verdict }),
  ];

  // ---- phases, nested as the analysis nested them (depth within a process)
  const procEnd = (pid: number) => trace.processes.find((p) => p.pid === pid)?.end ?? trace.meta.durationMs;
  const byPid = new Map<number, PhaseTiming[]>();
  for (const p of a.phases) {
    const l = byPid.get(p.pid);
    if (l) l.push(p);
    else byPid.set(p.pid, [p]);
  }
  for (const [pid, list] of byPid) {
    const sorted = [...list].sort((x, y) => x.start - y.start || x.depth - y.depth);
    const stack: { depth: number; spanId: string }[] = [];
    for (const p of sorted) {
      // The main process's own "shutdown after SIGTERM" is the root span itself.
      const isMainShutdown = p.id === `shutdown-${mainPid}`;
      while (stack.length && stack[stack.length - 1].depth >= p.depth) stack.pop();
      const parent = stack.length ? stack[stack.length - 1].spanId : rootId;
      if (isMainShutdown) {
        stack.push({ depth: p.depth, spanId: rootId });
        continue;
      }
      const spanId = nextSpanId();
      const kind = p.id.startsWith('listener-') ? 'listener' : p.id.startsWith('close-') ? 'server-close' : p.id.startsWith('shutdown-') ? 'process' : 'app';
      const attrs: Attributes = { 'process.pid': pid, 'shutdown.phase.kind': kind, 'shutdown.phase.finished': p.end !== undefined };
      spans.push(
        make({ name: p.name, spanId, parent, start: p.start, end: p.end ?? procEnd(pid), attributes: attrs, error: p.error ?? (p.end === undefined && !p.auto ? 'never finished' : undefined) }),
      );
      stack.push({ depth: p.depth, spanId });
    }
  }
  return spans;
}

/** OTLP/HTTP request bodies: `json` is what `export --format otlp` writes. */
export function otlpBody(spans: ReadableSpan[], encoding: 'json' | 'protobuf'): Uint8Array {
  const body = (encoding === 'json' ? JsonTraceSerializer : ProtobufTraceSerializer).serializeRequest(spans);
  if (!body) throw new Error('the spans could not be serialized to OTLP');
  return body;
}

export type OtlpProtocol = 'http/protobuf' | 'http/json';

/** OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf (the specification's default). */
export function otlpProtocol(env: NodeJS.ProcessEnv = process.env): OtlpProtocol {
  const p = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf').trim();
  if (p === 'http/protobuf' || p === 'http/json') return p;
  throw new Error(`OTLP protocol ${p} is not supported: use http/protobuf or http/json (OTEL_EXPORTER_OTLP_PROTOCOL)`);
}

/** `--otlp URL`: a base URL (http://collector:4318) gets /v1/traces, as OTEL_EXPORTER_OTLP_ENDPOINT does; a URL with a path is used as it is. */
export function tracesUrl(url: string): string {
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`--otlp needs an http:// or https:// URL (got ${url})`);
  if (u.pathname === '' || u.pathname === '/') u.pathname = '/v1/traces';
  return u.href;
}

/**
 * Sends spans with the official exporter, which reads the OTEL_EXPORTER_OTLP_* variables itself
 * (endpoint, headers, timeout, compression, certificates); `url` (from --otlp) overrides the endpoint.
 */
export async function sendOtlp(spans: ReadableSpan[], o: { url?: string; protocol?: OtlpProtocol } = {}): Promise<{ ok: boolean; error?: string }> {
  const protocol = o.protocol ?? otlpProtocol();
  const config = o.url ? { url: tracesUrl(o.url) } : {};
  const exporter = protocol === 'http/json' ? new JsonExporter(config) : new ProtoExporter(config);
  try {
    const result = await new Promise<{ code: ExportResultCode; error?: Error }>((resolve) => exporter.export(spans, resolve));
    return result.code === ExportResultCode.SUCCESS ? { ok: true } : { ok: false, error: result.error?.message ?? 'export failed' };
  } finally {
    await exporter.shutdown().catch(() => {});
  }
}
