/**
 * The trace file: a versioned JSON document written by `run`, read by every other command,
 * the extension and the webview. Its types, as one discriminated union of events on `kind`
 * (reading and checking a file: trace-file.ts). Times are milliseconds relative to `meta.t0` (the launcher's
 * monotonic clock at spawn), so t=0 is when the service was started.
 */
import type { PreloadEvent, HandleInfo, HandleOwner } from './wire';
import type { Frame } from './frames';
import type { LoadConfig, LoadOutcome, LoadSpan, LoadSummary } from './traffic';
import type { K8sPlan, KubeletSchedule, PreStop, K8sOutcome } from './kubernetes';
import type { PlatformEvent, PlatformMeta, PlatformFindingCode, PlatformAnalysis } from './platform';

export const TRACE_FORMAT = 'shutdown-trace';
export const TRACE_VERSION = 1;
export const TRACE_EXTENSION = '.shutdown-trace.json';

export type Delivery = 'main' | 'group';
export type SignalWhen = { mode: 'listening'; delayMs: number; timeoutMs: number } | { mode: 'after'; ms: number } | { mode: 'never' };

export interface SignalPlan {
  signal: string;
  when: SignalWhen;
  /** Second signal, ms after the first. */
  second?: { signal: string; afterMs: number };
  /** SIGKILL this many ms after the first signal. */
  graceMs: number;
  delivery: Delivery;
}

/** Launcher-side events: what the tool itself did or observed from outside the service. */
export type LauncherEvent =
  | { kind: 'spawned'; t: number; pid: number; command: string }
  | { kind: 'signal-sent'; t: number; signal: string; target: number; delivery: Delivery; nth: number }
  | { kind: 'deadline'; t: number; graceMs: number }
  | { kind: 'kill-sent'; t: number; target: number }
  | { kind: 'process-exit'; t: number; pid: number; code: number | null; signal: string | null }
  | { kind: 'orphan'; t: number; pid: number; ppid: number; command: string; stopped: boolean }
  | { kind: 'collector-rejected'; t: number; reason: string }
  | { kind: 'note'; t: number; text: string }
  // ---- traffic during shutdown. pid 0: the load generator runs in the launcher.
  /** The load generator started sending (at the service's first TCP listen). */
  | { kind: 'load-start'; t: number; url: string; rate: number; keepAlive: boolean; sse: number }
  /** One request (or one SSE stream when `sse`), a span from t to end with its outcome. */
  | ({ kind: 'load-request' } & LoadSpan)
  /** Totals over the whole run, written when the load stopped. */
  | ({ kind: 'load-summary'; t: number } & LoadSummary)
  // ---- Kubernetes termination
  /** The pod's termination began: the grace period counts from here (before preStop). */
  | { kind: 'termination-start'; t: number; graceSeconds: number; stopSignal: string; preStop?: string }
  | { kind: 'prestop-start'; t: number; action: PreStop['action']; detail: string; hookPid?: number }
  /** The hook ended (ok or failed), or the kubelet stopped waiting for it at the grace deadline (overran; it may still run). */
  | { kind: 'prestop-end'; t: number; ok: boolean; overran: boolean; durationMs: number; error?: string; status?: number; exitCode?: number | null; output?: string }
  /** The kubelet's 2 s minimum applied: the one-off extension when preStop overran (or left less than 2 s). */
  | { kind: 'grace-extension'; t: number; seconds: number; reason: string }
  /** Platform modes: PID 1, zombies, systemd, endpoints; `what` says which, `text` says it in words. */
  | PlatformEvent;

/**
 * Every event in a trace carries a pid: for preload events the process that reported it; for
 * launcher events the process they concern (spawned, signal-sent, kill-sent, process-exit, orphan),
 * or 0 when they concern no one process (deadline, note, collector-rejected).
 */
export type TraceEvent = (Exclude<PreloadEvent, { kind: 'output' }> | LauncherEvent) & { pid: number };
export type TraceEventKind = TraceEvent['kind'];

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Redacted command line. */
  command: string;
  /** True when the preload reported from inside it. */
  traced: boolean;
  isMain: boolean;
  start?: number;
  end?: number;
  exit?: { code: number | null; signal: string | null };
  node?: string;
  /**
   * 'runner' for a program around the service (tsx's or nodemon's CLI, npm/npx, a shell): its
   * own handles, exits and signals are never the user's leaks. Set by the analysis' runner test.
   */
  role?: 'service' | 'runner';
}

export interface OutputLine {
  t: number;
  pid: number;
  stream: 'stdout' | 'stderr';
  text: string;
}

export type Severity = 'error' | 'warning' | 'info';

export type FindingCode =
  | 'no-handler'
  | 'graceful'
  | 'killed-at-deadline'
  | 'leaked-handles'
  | 'masked-leak'
  | 'signal-not-delivered'
  | 'orphans'
  | 'repeated-signal'
  | 'shutdown-error'
  | 'slowest-phase'
  | 'crashed'
  | 'exited-before-signal'
  | 'dropped-events'
  | 'never-listened'
  | 'stalled'
  | 'open-connections'
  | 'incomplete'
  /** Requests lost (or not) during shutdown while load was on, with counts by outcome. */
  | 'lost-requests'
  /** Server-sent-event streams the app never ended. */
  | 'open-streams'
  /** The preStop hook failed, or was still running at the grace deadline. */
  | 'prestop'
  /** What a real pod would have gone through (--k8s). */
  | 'k8s-termination'
  /** Platform modes: see PlatformFindingCode. */
  | PlatformFindingCode;

export interface Finding {
  code: FindingCode;
  severity: Severity;
  title: string;
  detail: string;
  /** Indexes into trace.events that show it. */
  evidence: number[];
  /** Leaked or relevant handles, with their creation sites. */
  handles?: HandleInfo[];
}

export type ExitReason = 'graceful' | 'forced-exit' | 'killed-at-deadline' | 'killed-by-signal' | 'crashed' | 'exited-before-signal' | 'still-running' | 'unknown';

export interface PhaseTiming {
  id: string;
  pid: number;
  name: string;
  start: number;
  end?: number;
  durationMs?: number;
  depth: number;
  auto: boolean;
  error?: string;
}

/**
 * One leak as users read it: an owner (a library object, or the handle itself) with the user's
 * line that created it and the handles it holds. The one definition of "a leak"; every
 * consumer reads these.
 */
export interface Leak {
  pid: number;
  /** "ioredis Redis (127.0.0.1:6379)", or the handle's own label when it has no library owner. */
  title: string;
  /** The owner, when the handles were created by a library on behalf of a user-created object. */
  owner?: HandleOwner;
  /** The user's line: the handle's own user frame, else its owner's. Undefined if none is known. */
  site?: Frame;
  /** True when `site` is in the user's code (not node_modules, not node internals). */
  inUserCode: boolean;
  /** The handles it holds (collapsed entries count as their members). */
  handles: HandleInfo[];
  count: number;
  /** What releases it: "call quit() on it", "clearInterval()". */
  fix?: string;
}

export interface Analysis {
  verdict: string;
  /** The service's leaks, user leaks first, in the order the verdict names them. Runners' handles are not here. */
  leaks?: Leak[];
  /** The process the verdict is about: the main process, or the service a runner started. */
  servicePid?: number;
  /** Killed at the deadline while held only by one-shot timers: ms after the signal when the last would have fired. */
  naturalExitAfterMs?: number;
  /** How that process ended, as far as the trace shows. */
  serviceExit?: { code: number | null; signal: string | null };
  exitReason: ExitReason;
  /** First signal sent/arrived → main process exit, ms. The one figure every consumer shows as "signal → exit". */
  signalToExitMs?: number;
  /** Trace ms of that signal and of that exit (signalToExitMs = exitAt − signalAt): a viewer places both ends here. */
  signalAt?: number;
  exitAt?: number;
  /** The shutdown window the requests are counted over; absent in traces analysed before it was recorded. */
  window?: ShutdownWindow;
  leakedHandleCount: number;
  phases: PhaseTiming[];
  findings: Finding[];
  graceMs: number;
  /** Request accounting when load was on. */
  requests?: RequestAccounting;
  /** The Kubernetes termination as simulated (--k8s). */
  k8s?: K8sOutcome;
  /** Platform modes: PID 1, zombies, systemd, endpoint lag. */
  platform?: PlatformAnalysis;
}

/**
 * The shutdown window: from the start of termination (preStop's start with --k8s, else the
 * first signal sent or seen) to the main process's exit. Requests are counted over it.
 */
export interface ShutdownWindow {
  /** Trace ms when it opened; absent when no termination happened. */
  start?: number;
  /** What opened it, in words: "the start of termination", "SIGTERM". */
  opener: string;
  /** Trace ms when the main process exited (or was last seen); absent when it never ended in the trace. */
  end?: number;
  /** The first server.close() call, trace ms; absent if none. Resets after it are turned away, not lost. */
  closeAt?: number;
}

/**
 * How each load request counts, as indexes into trace.events (load-request events). A request
 * in no list was answered (or is a stream: see `sse`).
 */
export interface RequestRoles {
  /** In the shutdown window and not answered properly. */
  lost: number[];
  /** In the shutdown window, refused by the closed listener or reset in its accept queue, while the process still ran. */
  turnedAway: number[];
  /** Sent after the main process exited: the tail that observes refusals, never counted as lost. */
  afterExit: number[];
  /** Failed before the shutdown window opened. */
  beforeShutdown: number[];
}

/** Outcome counts; `lost` = reset + timeout + http-5xx + other-error (refusals are counted apart). */
export interface OutcomeCounts {
  total: number;
  byOutcome: Record<LoadOutcome, number>;
}

export interface RequestAccounting {
  url: string;
  /** Every plain request recorded. */
  all: OutcomeCounts;
  /** Requests in flight at the start of termination (the signal, or preStop with --k8s) or started after it, before the main process exited. */
  shutdown: OutcomeCounts;
  /** In the shutdown window, not answered properly: reset (except resetAtClose), timeout, 5xx, other errors. */
  lost: number;
  /** In the shutdown window, refused because the listener was already closed while the process still ran. */
  refusedWhileAlive: number;
  /**
   * Resets of requests sent after server.close() was called: their connection was still in the
   * closing listener's accept queue, never accepted by the app. Turned away like refusals, not lost.
   */
  resetAtClose: number;
  /** Failed before termination began (e.g. the service was not ready). */
  failedBeforeShutdown: number;
  /** Sent after the main process exited (the tail that observes refusals); never counted as lost. */
  afterExit: number;
  /** Server-sent-event streams: ended by the server, cut (reset/killed), other. */
  streams: { total: number; endedByServer: number; cut: number; other: number };
  /** Requests sent but not recorded as spans (over the cap). */
  unrecorded: number;
  /** Which requests those counts are; absent in traces analysed before it was recorded. */
  roles?: RequestRoles;
}

export interface TraceMeta {
  tool: string;
  toolVersion: string;
  createdAt: string;
  /** Redacted command line. */
  command: string[];
  cwd: string;
  platform: string;
  node: string;
  plan: SignalPlan;
  mainPid?: number;
  complete: boolean;
  incompleteReason?: string;
  durationMs: number;
  /** Counters for things the tool refused or lost, never silent. */
  counters: { droppedEvents: number; rejectedConnections: number; malformedFrames: number; outputLinesTruncated: number };
  /** Traffic during shutdown, as configured (`url` once resolved). */
  load?: LoadConfig & { url?: string };
  /** Kubernetes termination, as configured; `schedule` once the stop signal was sent. */
  k8s?: K8sPlan & { startedAt?: number; schedule?: KubeletSchedule };
  /** Platform modes: PID 1 (namespace or emulated), docker, systemd, endpoint lag. */
  platformMode?: PlatformMeta;
}

export interface Trace {
  format: typeof TRACE_FORMAT;
  version: typeof TRACE_VERSION;
  meta: TraceMeta;
  processes: ProcessInfo[];
  events: TraceEvent[];
  output: OutputLine[];
  analysis?: Analysis;
}
