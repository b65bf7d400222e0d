/**
 * The public API of the launcher, used by the CLI and the extension host alike.
 * Implemented in launcher.ts.
 */
import type { Delivery, SignalPlan, Trace, TraceEvent, OutputLine, ProcessInfo, Analysis } from '../shared/trace';
import type { LoadConfig } from '../shared/traffic';
import type { K8sPlan } from '../shared/kubernetes';

export interface RunOptions {
  /** argv; command[0] is resolved on PATH like a shell would. */
  command: string[];
  cwd?: string;
  /** Extra env merged over process.env (e.g. from a launch configuration). */
  env?: Record<string, string>;
  plan: SignalPlan;
  /** How long after all signal listeners settle before the preload reports "stalled" (default 1000). */
  stallMs?: number;
  /** Write the final trace here (the CLI always does; the extension to its storage). */
  tracePath?: string;
  /** Tee the service's stdout/stderr to these streams, byte for byte (the CLI passes process.stdout/err). */
  echo?: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };
  /** Absolute path of the built preload; defaults to preload.js beside the running bundle. */
  preloadPath?: string;
  /**
   * Directory for the preload's V8 code cache (src/core/launcher/code-cache.ts); false for none.
   * Defaults to the platform's per-user cache directory.
   */
  codeCacheDir?: string | false;
  /** Preload diagnostics to stderr (never on by default). */
  verbose?: boolean;
  /**
   * Run the service attached to this process's own stdio, as a shell would start it (the CLI):
   * it reads this stdin, and sees a terminal (its own pty, recorded) where this process has one;
   * closing the terminal (SIGHUP here) passes SIGHUP on. Otherwise stdin is empty and
   * stdout/stderr are pipes (the extension host).
   */
  attach?: boolean;
  /**
   * Where the trace goes if this process dies before the run ends (kill -9, a crash): the
   * run's watchdog then stops the service's processes and writes what was captured here,
   * marked incomplete. Defaults to tracePath; without either, to the temp directory.
   */
  tracePathIfKilled?: string;
  /** HTTP traffic at the service from when it listens until just after its main process exits. */
  load?: LoadConfig;
  /**
   * Terminate as the kubelet does: when the plan's `when` fires, preStop (if any), then
   * `stopSignal` to the main process only, SIGKILL per the kubelet's grace arithmetic (k8s.ts).
   * Replaces plan.signal/graceMs/delivery/second for the automatic signal.
   */
  k8s?: K8sPlan;
  /** Platform modes: PID 1 in a PID namespace, init, docker, systemd, endpoint lag. */
  platform?: import('../shared/platform').PlatformOptions;
}

export interface RunUpdate {
  events: TraceEvent[];
  output: OutputLine[];
  processes: ProcessInfo[];
  /** Current time on the trace clock (ms since spawn). */
  now: number;
}

export interface RunHandle {
  /** The live trace; grows as the run goes on. */
  readonly trace: Trace;
  readonly mainPid: number;
  /** Batched live updates (at most ~every 16 ms). Returns an unsubscribe function. */
  onUpdate(cb: (u: RunUpdate) => void): () => void;
  /** Send a signal now, to the main process or its whole group. */
  sendSignal(signal: string, delivery?: Delivery): void;
  /** SIGKILL the service tree now. */
  kill(): void;
  /** Ask every traced process for a handle snapshot now. */
  requestSnapshot(): void;
  /** End the run now: stop the service tree, keep what was captured, mark the trace incomplete with this reason. */
  stop(reason: string): Promise<Trace>;
  /** Resolves with the final trace (analysis included) when the run ends, however it ends. */
  readonly done: Promise<Trace>;
}

/** A launch problem the user must see as one clear message (missing command, bad cwd, ...). */
export class LaunchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LaunchError';
  }
}

export type { Analysis };
