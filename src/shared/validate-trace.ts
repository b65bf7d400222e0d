/**
 * Field-by-field validation of a trace read from a file (or handed to the webview), against
 * the types in trace.ts. Runs in check mode: the trace is returned as it is, unknown fields
 * are tolerated (a newer writer of the same format version may add some) but may not nest
 * deeper than MAX_UNKNOWN_DEPTH, so no reader blows its stack later. The first bad field is
 * named as a path: `events[12].handles is not a list (number)`.
 *
 * Unknown event kinds and finding codes are tolerated too (kind, t and pid are still checked):
 * every reader skips kinds it does not know.
 */
import type { PreloadEventKind } from './wire';
import { TRACE_VERSION } from './trace';
import type {
  Trace,
  TraceMeta,
  TraceEvent,
  TraceEventKind,
  LauncherEvent,
  ProcessInfo,
  OutputLine,
  Analysis,
  Finding,
  FindingCode,
  PhaseTiming,
  Leak,
  RequestAccounting,
  RequestRoles,
  ShutdownWindow,
  OutcomeCounts,
  SignalPlan,
  SignalWhen,
} from './trace';
import type { K8sOutcome, K8sPlan, KubeletSchedule, PreStop } from './kubernetes';
import type { LoadConfig, LoadOutcome, LoadSummary } from './traffic';
import type { PlatformMeta, PlatformAnalysis, PlatformEvent, Pid1Meta, DockerOptions, SystemdOptions, SurviveExpectation } from './platform';
import { assertNever } from './assert-never';
import { SchemaError, obj, str, num, int, count, bool, opt, nullable, oneOf, lit, list, record, variant, checkAt, describe, named, whenTag, type Checker, type Ctx } from './schema';
import { PRELOAD_KINDS, preloadEventChecker, frame, handleInfo, handleOwner } from './validate-wire';

type LEv<K extends LauncherEvent['kind']> = Extract<LauncherEvent, { kind: K }>;

const signalWhen = variant<SignalWhen, 'mode'>('mode', {
  listening: obj<Extract<SignalWhen, { mode: 'listening' }>>({ mode: lit('listening'), delayMs: num, timeoutMs: num }),
  after: obj<Extract<SignalWhen, { mode: 'after' }>>({ mode: lit('after'), ms: num }),
  never: obj<Extract<SignalWhen, { mode: 'never' }>>({ mode: lit('never') }),
});

const plan = named(
  'signal-plan',
  obj<SignalPlan>({
    signal: str,
    when: signalWhen,
    second: opt(obj<{ signal: string; afterMs: number }>({ signal: str, afterMs: num })),
    graceMs: num,
    delivery: oneOf('main', 'group'),
  }),
);

const preStop = variant<PreStop, 'action'>('action', {
  sleep: obj<Extract<PreStop, { action: 'sleep' }>>({ action: lit('sleep'), ms: num }),
  exec: obj<Extract<PreStop, { action: 'exec' }>>({ action: lit('exec'), command: str }),
  httpGet: obj<Extract<PreStop, { action: 'httpGet' }>>({ action: lit('httpGet'), url: str }),
});

const schedule = named('kubelet-schedule', obj<KubeletSchedule>({ signalAtMs: num, killAtMs: num, remainingSeconds: num, preStopSeconds: num, extended: bool, overran: bool }));

const loadConfig = obj<LoadConfig & { url?: string }>({
  target: str,
  path: opt(str),
  rate: num,
  keepAlive: bool,
  sse: opt(num),
  ssePath: opt(str),
  timeoutMs: opt(num),
  tailMs: opt(num),
  url: opt(str),
});

const k8sPlan = obj<K8sPlan & { startedAt?: number; schedule?: KubeletSchedule }>({ graceSeconds: num, stopSignal: str, preStop: opt(preStop), startedAt: opt(num), schedule: opt(schedule) });

const dockerOptions = obj<DockerOptions>({ stopSignal: str, stopTimeoutSeconds: num, init: bool });
const systemdOptions = obj<SystemdOptions & { notifySocket?: string }>({
  killMode: oneOf('control-group', 'mixed', 'process'),
  killSignal: str,
  timeoutStopMs: num,
  sendSighup: bool,
  finalKillSignal: str,
  type: oneOf('simple', 'exec', 'notify'),
  notifySocket: opt(str),
});
const survive = obj<SurviveExpectation>({ signal: str, windowMs: num, stopSignal: str });
const pid1Meta = obj<Pid1Meta>({
  mode: oneOf('namespace', 'emulated'),
  userNamespace: opt(bool),
  why: opt(str),
  init: opt(oneOf('tini', 'dumb-init')),
  command: str,
  hostPid: opt(int),
  runtimePid: opt(int),
});
const platformMeta = named('platform-mode', obj<PlatformMeta>({ pid1: opt(pid1Meta), docker: opt(dockerOptions), systemd: opt(systemdOptions), endpointLagMs: opt(num), survive: opt(survive) }));

const meta = named(
  'meta',
  obj<TraceMeta>({
    tool: str,
    toolVersion: str,
    createdAt: str,
    command: list(str),
    cwd: str,
    platform: str,
    node: str,
    plan,
    mainPid: opt(int),
    complete: bool,
    incompleteReason: opt(str),
    durationMs: num,
    counters: obj<TraceMeta['counters']>({ droppedEvents: count, rejectedConnections: count, malformedFrames: count, outputLinesTruncated: count }),
    load: opt(loadConfig),
    k8s: opt(k8sPlan),
    platformMode: opt(platformMeta),
  }),
);

const exitInfo = named('exit-status', obj<{ code: number | null; signal: string | null }>({ code: nullable(num), signal: nullable(str) }));

const processInfo = named(
  'process',
  obj<ProcessInfo>({
    pid: int,
    ppid: int,
    command: str,
    traced: bool,
    isMain: bool,
    start: opt(num),
    end: opt(num),
    exit: opt(exitInfo),
    node: opt(str),
    role: opt(oneOf('service', 'runner')),
  }),
);

const outputLine = named('output-line', obj<OutputLine>({ t: num, pid: int, stream: oneOf('stdout', 'stderr'), text: str }));

const LOAD_OUTCOMES: Record<LoadOutcome, true> = { ok: true, refused: true, reset: true, timeout: true, 'http-5xx': true, 'other-error': true };
const loadOutcome = oneOf(...(Object.keys(LOAD_OUTCOMES) as LoadOutcome[]));
const byOutcome = named('counts-by-outcome', obj<Record<LoadOutcome, number>>({ ok: count, refused: count, reset: count, timeout: count, 'http-5xx': count, 'other-error': count }));
const statuses = record(count);

// Launcher events. `pid` is checked for every event before these run.
const SPAWNED = obj<LEv<'spawned'>>({ kind: lit('spawned'), t: num, pid: int, command: str });
const SIGNAL_SENT = obj<LEv<'signal-sent'>>({ kind: lit('signal-sent'), t: num, signal: str, target: int, delivery: oneOf('main', 'group'), nth: count });
const DEADLINE = obj<LEv<'deadline'>>({ kind: lit('deadline'), t: num, graceMs: num });
const KILL_SENT = obj<LEv<'kill-sent'>>({ kind: lit('kill-sent'), t: num, target: int });
const PROCESS_EXIT = obj<LEv<'process-exit'>>({ kind: lit('process-exit'), t: num, pid: int, code: nullable(num), signal: nullable(str) });
const ORPHAN = obj<LEv<'orphan'>>({ kind: lit('orphan'), t: num, pid: int, ppid: int, command: str, stopped: bool });
const COLLECTOR_REJECTED = obj<LEv<'collector-rejected'>>({ kind: lit('collector-rejected'), t: num, reason: str });
const NOTE = obj<LEv<'note'>>({ kind: lit('note'), t: num, text: str });
const LOAD_START = obj<LEv<'load-start'>>({ kind: lit('load-start'), t: num, url: str, rate: num, keepAlive: bool, sse: num });
const LOAD_REQUEST = obj<LEv<'load-request'>>({
  kind: lit('load-request'),
  t: num,
  end: num,
  id: int,
  outcome: loadOutcome,
  status: opt(int),
  error: opt(str),
  keepAlive: bool,
  sse: opt(bool),
  events: opt(count),
  localPort: opt(count),
});
const LOAD_SUMMARY = obj<{ kind: 'load-summary'; t: number } & LoadSummary>({
  kind: lit('load-summary'),
  t: num,
  url: str,
  sent: count,
  recorded: count,
  streams: count,
  byOutcome,
  statuses,
  skipped: count,
});
const TERMINATION_START = obj<LEv<'termination-start'>>({ kind: lit('termination-start'), t: num, graceSeconds: num, stopSignal: str, preStop: opt(str) });
const PRESTOP_START = obj<LEv<'prestop-start'>>({ kind: lit('prestop-start'), t: num, action: oneOf('sleep', 'exec', 'httpGet'), detail: str, hookPid: opt(int) });
const PRESTOP_END = obj<LEv<'prestop-end'>>({
  kind: lit('prestop-end'),
  t: num,
  ok: bool,
  overran: bool,
  durationMs: num,
  error: opt(str),
  status: opt(int),
  exitCode: opt(nullable(num)),
  output: opt(str),
});
const GRACE_EXTENSION = obj<LEv<'grace-extension'>>({ kind: lit('grace-extension'), t: num, seconds: num, reason: str });
const PLATFORM = obj<PlatformEvent>({
  kind: lit('platform'),
  t: num,
  pid: int,
  what: oneOf('pid1', 'pid1-signal', 'container-killed', 'zombie', 'unit-signal', 'notify', 'deadline-moved', 'endpoints-removed', 'snapshot-point', 'survived'),
  text: str,
  signal: opt(str),
  delivered: opt(bool),
  ppid: opt(int),
  command: opt(str),
  until: opt(num),
  reaped: opt(bool),
  pids: opt(list(int)),
  message: opt(str),
  deadlineAt: opt(num),
  label: opt(str),
});

const LAUNCHER_KINDS: Record<LauncherEvent['kind'], true> = {
  spawned: true,
  'signal-sent': true,
  deadline: true,
  'kill-sent': true,
  'process-exit': true,
  orphan: true,
  'collector-rejected': true,
  note: true,
  'load-start': true,
  'load-request': true,
  'load-summary': true,
  'termination-start': true,
  'prestop-start': true,
  'prestop-end': true,
  'grace-extension': true,
  platform: true,
};

/** The checker for one kind of trace event. Exhaustive: a new kind without a case fails to compile. */
function traceEventChecker(kind: TraceEventKind): Checker<unknown> {
  switch (kind) {
    case 'spawned':
      return SPAWNED;
    case 'signal-sent':
      return SIGNAL_SENT;
    case 'deadline':
      return DEADLINE;
    case 'kill-sent':
      return KILL_SENT;
    case 'process-exit':
      return PROCESS_EXIT;
    case 'orphan':
      return ORPHAN;
    case 'collector-rejected':
      return COLLECTOR_REJECTED;
    case 'note':
      return NOTE;
    case 'load-start':
      return LOAD_START;
    case 'load-request':
      return LOAD_REQUEST;
    case 'load-summary':
      return LOAD_SUMMARY;
    case 'termination-start':
      return TERMINATION_START;
    case 'prestop-start':
      return PRESTOP_START;
    case 'prestop-end':
      return PRESTOP_END;
    case 'grace-extension':
      return GRACE_EXTENSION;
    case 'platform':
      return PLATFORM;
    case 'signal':
    case 'listener-start':
    case 'listener-end':
    case 'listener-settled':
    case 'listen':
    case 'server-close':
    case 'server-closed':
    case 'conn-end':
    case 'request-start':
    case 'request-end':
    case 'phase-start':
    case 'phase-end':
    case 'exit-call':
    case 'before-exit':
    case 'exit':
    case 'error':
    case 'handle-open':
    case 'handle-close':
    case 'spawn':
    case 'snapshot':
    case 'active-count':
    case 'dropped':
      return preloadEventChecker(kind satisfies PreloadEventKind);
    default:
      return assertNever(kind);
  }
}

/** Every kind a trace may hold: the preload's (its `output` reports never reach a trace) and the launcher's. */
export const TRACE_EVENT_KINDS: readonly TraceEventKind[] = [
  ...(Object.keys(PRELOAD_KINDS) as PreloadEventKind[]).filter((k): k is Exclude<PreloadEventKind, 'output'> => k !== 'output'),
  ...(Object.keys(LAUNCHER_KINDS) as LauncherEvent['kind'][]),
];
const KNOWN_KINDS = new Set<string>(TRACE_EVENT_KINDS);

const unknownEvent = obj<{ t: number }>({ t: num });

const traceEvent: Checker<TraceEvent> = named(
  'event',
  describe(
    (v, cx) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SchemaError('', `is not an object (${v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v})`);
      const e = v as Record<string, unknown>;
      const kind = e.kind;
      if (typeof kind === 'string' && KNOWN_KINDS.has(kind)) traceEventChecker(kind as TraceEventKind)(v, cx);
      else {
        // A kind this reader does not know: kept (kind and t checked), skipped by every reader.
        checkAt(str, kind, '.kind', cx);
        checkAt(unknownEvent, v, '', cx);
      }
      checkAt(count, e.pid, '.pid', cx);
      return v as TraceEvent;
    },
    (emit) => ({
      // kind, t and pid for every event, and for each known kind its own fields. Any other kind
      // matches no `if`, so only those three apply: the tolerance for a newer writer's kinds.
      type: 'object',
      properties: { kind: { type: 'string' }, t: { type: 'number' }, pid: { type: 'integer', minimum: 0 } },
      required: ['kind', 't', 'pid'],
      allOf: TRACE_EVENT_KINDS.map((k) => whenTag('kind', k, emit(traceEventChecker(k), `event-${k}`))),
    }),
  ),
);

const phaseTiming = named('phase', obj<PhaseTiming>({ id: str, pid: int, name: str, start: num, end: opt(num), durationMs: opt(num), depth: count, auto: bool, error: opt(str) }));

const finding = named(
  'finding',
  obj<Finding>({
    // Codes are open: a reader shows any code's title and detail.
    code: str as Checker<FindingCode>,
    severity: oneOf('error', 'warning', 'info'),
    title: str,
    detail: str,
    evidence: list(count),
    handles: opt(list(handleInfo)),
  }),
);

const leak = named('leak', obj<Leak>({ pid: int, title: str, owner: opt(handleOwner), site: opt(frame), inUserCode: bool, handles: list(handleInfo), count: count, fix: opt(str) }));

const outcomeCounts = obj<OutcomeCounts>({ total: count, byOutcome });
const requests = named(
  'request-accounting',
  obj<RequestAccounting>({
    url: str,
    all: outcomeCounts,
    shutdown: outcomeCounts,
    lost: count,
    refusedWhileAlive: count,
    resetAtClose: count,
    failedBeforeShutdown: count,
    afterExit: count,
    streams: obj<RequestAccounting['streams']>({ total: count, endedByServer: count, cut: count, other: count }),
    unrecorded: count,
    roles: opt(named('request-roles', obj<RequestRoles>({ lost: list(count), turnedAway: list(count), afterExit: list(count), beforeShutdown: list(count) }))),
  }),
);
const shutdownWindow = named('shutdown-window', obj<ShutdownWindow>({ start: opt(num), opener: str, end: opt(num), closeAt: opt(num) }));
const k8sOutcome = named(
  'k8s-outcome',
  obj<K8sOutcome>({
    graceSeconds: num,
    stopSignal: str,
    preStop: opt(str),
    startedAt: opt(num),
    schedule: opt(schedule),
    endedAfterSeconds: opt(num),
    fate: oneOf('graceful', 'killed', 'died-by-signal', 'crashed', 'not-terminated', 'unknown'),
    summary: str,
  }),
);
const platformAnalysis = obj<PlatformAnalysis>({
  pid1: opt(obj<NonNullable<PlatformAnalysis['pid1']>>({ mode: oneOf('namespace', 'emulated'), command: str, stopSignalDelivered: opt(bool) })),
  zombies: opt(count),
  containerKilled: opt(count),
  requestsByPhase: opt(list(obj<NonNullable<PlatformAnalysis['requestsByPhase']>[number]>({ phase: oneOf('preStop', 'drain', 'after SIGKILL'), total: count, failed: count }))),
  survived: opt(bool),
});

const analysis = named(
  'analysis',
  obj<Analysis>({
    verdict: str,
    leaks: opt(list(leak)),
    servicePid: opt(int),
    serviceExit: opt(exitInfo),
    naturalExitAfterMs: opt(num),
    exitReason: oneOf('graceful', 'forced-exit', 'killed-at-deadline', 'killed-by-signal', 'crashed', 'exited-before-signal', 'still-running', 'unknown'),
    signalToExitMs: opt(num),
    signalAt: opt(num),
    exitAt: opt(num),
    window: opt(shutdownWindow),
    leakedHandleCount: count,
    phases: list(phaseTiming),
    findings: list(finding),
    graceMs: num,
    requests: opt(requests),
    k8s: opt(k8sOutcome),
    platform: opt(platformAnalysis),
  }),
);

/** The whole trace file; trace-schema.ts publishes its JSON Schema. */
export const traceFile = obj<Trace>({
  format: lit('shutdown-trace'),
  version: lit<Trace['version']>(TRACE_VERSION),
  meta,
  processes: list(processInfo),
  events: list(traceEvent),
  output: list(outputLine),
  analysis: opt(analysis),
});

const CHECK: Ctx = { copy: false };

/**
 * Checks every field of a trace whose envelope (format, version, the four parts) is known to
 * be right. Throws a SchemaError whose message is the path of the first bad field and what is
 * wrong with it.
 */
export function checkTraceFields(data: unknown): Trace {
  const t = checkAt(traceFile, data, '', CHECK);
  // Evidence points into events; readers index with it.
  const n = t.events.length;
  const findings = t.analysis?.findings ?? [];
  for (let i = 0; i < findings.length; i++) {
    const ev = findings[i].evidence;
    for (let j = 0; j < ev.length; j++) if (ev[j] >= n) throw new SchemaError(`analysis.findings[${i}].evidence[${j}]`, `is not an index into events (${n})`);
  }
  return t;
}
