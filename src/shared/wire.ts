/**
 * The wire between the preload (inside every traced process) and the collector (in the
 * launcher): WebSocket text frames of JSON, or the spool file when the socket is not there.
 * Two discriminated unions: PreloadMessage (preload → collector, on `type`; its events on
 * `kind`) and CollectorMessage (collector → preload). Browser-safe: no Node imports.
 */
import type { Site } from './frames';

export const PROTOCOL_VERSION = 1;
/** Name of the diagnostics_channel tracing channel apps publish their own phases on. */
export const PHASE_CHANNEL = 'shutdown-trace:phase';
/** Env vars the launcher sets for the preload. Never recorded in a trace. */
export const ENV = {
  port: 'SHUTDOWN_TRACE_PORT',
  token: 'SHUTDOWN_TRACE_TOKEN',
  spool: 'SHUTDOWN_TRACE_SPOOL',
  verbose: 'SHUTDOWN_TRACE_VERBOSE',
  stallMs: 'SHUTDOWN_TRACE_STALL_MS',
  /** The launcher's pid: a process whose parent it is has its own pipes; any other shares someone's. */
  launcherPid: 'SHUTDOWN_TRACE_LAUNCHER_PID',
  /** Set when the launched process's stdout and stderr are one terminal: every process reports which stream each write went to. */
  streamsShared: 'SHUTDOWN_TRACE_STREAMS_SHARED',
  /** The directory for the preload's V8 code cache, the user's alone (src/preload/loader.ts). */
  codeCache: 'SHUTDOWN_TRACE_CODE_CACHE',
} as const;
/** Header carrying the per-run token on the WebSocket upgrade. */
export const TOKEN_HEADER = 'x-shutdown-trace-token';
/** A server-close event lists at most this many of its connections' remote ports. */
export const MAX_CLOSE_REMOTE_PORTS = 4096;

export type HandleType = 'timeout' | 'interval' | 'immediate' | 'server' | 'socket' | 'pipe' | 'udp' | 'child-process' | 'fs-watcher' | 'stat-watcher' | 'worker' | 'other';

/**
 * The library object that owns a handle the library created out of the user's call (in a
 * later tick), found by the preload at snapshot time. Handles with one owner share its id.
 */
export interface HandleOwner {
  /** Same id for every handle of one owner object within a snapshot. */
  id: string;
  /** In the library's terms: "<package> <Class>", e.g. "ioredis Redis", "bullmq Worker", "pg Pool". */
  name: string;
  /** npm package the owner's class comes from ("ioredis", "@grpc/grpc-js"), when known. */
  package?: string;
  /** Where the user's code created the owner (its constructor call's stack). */
  site?: Site;
  /**
   * How the handle was tied to the owner: 'reachable' (a property path from the owner object
   * leads to the handle), 'method-frame' (the handle's own stack runs through a method of the
   * owner's class, and one live owner of that class exists), 'package' (the handle was made by
   * the owner's package, and that owner is the one object of the package holding leaked handles),
   * 'source' (set by the launcher after the run: no object was seen, and the user's source calls
   * the package at exactly one place, the owner's site).
   */
  via: 'reachable' | 'method-frame' | 'package' | 'source';
  /** Property path from the owner to the handle when reached that way, e.g. "stream" or "client.pool.free[0]…". */
  path?: string;
  /** Methods on the owner that release it, most specific first: ["quit", "disconnect"]. */
  release?: string[];
}

export interface HandleInfo {
  id: string;
  type: HandleType;
  /** Short human description, e.g. "setInterval 1000ms" or "TCP 127.0.0.1:5000 → 127.0.0.1:41234". */
  label: string;
  /** Keeps the event loop alive. Unref'd handles are listed but never called leaks. */
  ref: boolean;
  /** Monotonic ms (same clock as events) when the tool saw it created; absent if it predates the preload. */
  createdAt?: number;
  site?: Site;
  /** Extra, type-specific facts: addresses, pid, command, path, delay. Values are strings or numbers. */
  details?: Record<string, string | number | boolean>;
  /** The library object that owns it, when the handle's own stack has no user frame. */
  owner?: HandleOwner;
}

/** Events the preload reports. Every event carries `t`, monotonic ms (process.hrtime, shared by all processes on the host). */
export type PreloadEvent =
  | { kind: 'signal'; t: number; signal: string; nth: number; listeners: number }
  | { kind: 'listener-start'; t: number; id: string; signal: string; site?: Site; name?: string }
  | { kind: 'listener-end'; t: number; id: string; signal: string; threw?: string; returnedPromise: boolean }
  | { kind: 'listener-settled'; t: number; id: string; signal: string; ok: boolean; error?: string }
  | { kind: 'listen'; t: number; server: string; proto: 'http' | 'https' | 'net' | 'tls'; address: string; site?: Site }
  | {
      kind: 'server-close';
      t: number;
      server: string;
      site?: Site;
      connections: number;
      active: number;
      inFlight: number;
      /** Remote ports of the connections it had accepted and still held (at most MAX_CLOSE_REMOTE_PORTS): a client connection not among them was still in the accept queue. */
      remotePorts?: number[];
    }
  | { kind: 'server-closed'; t: number; server: string }
  | { kind: 'conn-end'; t: number; server: string; conn: string; remote: string; how: 'client-closed' | 'server-ended' | 'destroyed' | 'error'; hadRequest: boolean }
  | { kind: 'request-start'; t: number; server: string; req: string; method: string; path: string }
  | { kind: 'request-end'; t: number; server: string; req: string; status: number; aborted: boolean }
  | { kind: 'phase-start'; t: number; id: string; name: string; auto?: boolean }
  | { kind: 'phase-end'; t: number; id: string; error?: string }
  | { kind: 'exit-call'; t: number; code: number | string | undefined; site?: Site }
  | { kind: 'before-exit'; t: number; code: number }
  | { kind: 'exit'; t: number; code: number }
  | { kind: 'error'; t: number; origin: 'uncaughtException' | 'unhandledRejection'; message: string; stack?: string; site?: Site }
  | { kind: 'handle-open'; t: number; handle: HandleInfo }
  | { kind: 'handle-close'; t: number; id: string }
  | { kind: 'spawn'; t: number; childPid: number; command: string; site?: Site }
  | { kind: 'snapshot'; t: number; reason: SnapshotReason; handles: HandleInfo[]; unidentified: { type: string; count: number }[] }
  | { kind: 'active-count'; t: number; count: number }
  | { kind: 'dropped'; t: number; count: number }
  /** A write to stdout/stderr by a process that shares its parent's (its first characters): for filing output lines by pid; never stored in a trace. */
  | { kind: 'output'; t: number; stream: 'stdout' | 'stderr'; text: string };

export type PreloadEventKind = PreloadEvent['kind'];

export type SnapshotReason =
  /** Signal listeners all settled, but the process is still alive after the stall delay. */
  | 'stalled'
  /** The launcher asked just before SIGKILL at the grace deadline. */
  | 'deadline'
  /** process.exit() was called; anything ref'd here is a masked leak. */
  | 'process-exit'
  /** The loop drained and the process is exiting naturally. */
  | 'exit'
  /** Asked for by a user (Send snapshot). */
  | 'manual';

export interface HelloMessage {
  type: 'hello';
  protocol: number;
  pid: number;
  ppid: number;
  /** argv as the preload saw it; the collector redacts before storing. */
  argv: string[];
  node: string;
  cwd: string;
  t: number;
}

export type PreloadMessage = HelloMessage | { type: 'events'; pid: number; events: PreloadEvent[] };

export type CollectorMessage = { type: 'snapshot-request'; reason: SnapshotReason };
