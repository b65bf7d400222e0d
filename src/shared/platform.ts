/**
 * Platform modes: run the service the way a container runtime, Docker, the kubelet
 * or systemd would, and record what that platform did. Options (RunOptions.platform), what the
 * trace records of them (meta.platform), and the one launcher event kind they add ('platform').
 */

/** A real init program run as PID 1 around the service (Debian packages `tini`, `dumb-init`). */
export type InitProgram = 'tini' | 'dumb-init';

export interface ContainerOptions {
  /** Run this init as PID 1, the service as its child (docker run --init uses tini). */
  init?: InitProgram;
}

/** systemd.kill(5) KillMode=. */
export type KillMode = 'control-group' | 'mixed' | 'process';

export interface SystemdOptions {
  killMode: KillMode;
  /** KillSignal= (default SIGTERM). */
  killSignal: string;
  /** TimeoutStopSec= in ms (default 90 s). */
  timeoutStopMs: number;
  /** SendSIGHUP= (default no). */
  sendSighup: boolean;
  /** FinalKillSignal= (default SIGKILL). */
  finalKillSignal: string;
  /** Type= (simple or notify; exec behaves as simple for stopping). */
  type: 'simple' | 'exec' | 'notify';
}

export interface DockerOptions {
  /** STOPSIGNAL / docker stop --signal (default SIGTERM). */
  stopSignal: string;
  /** docker stop --time / stop_grace_period, seconds (default 10). */
  stopTimeoutSeconds: number;
  /** docker run --init / compose init: true (tini as PID 1). */
  init: boolean;
}

/** `--signal SIGHUP --expect survive`: a signal that must not stop the service, then the usual stop. */
export interface SurviveExpectation {
  signal: string;
  /** How long the service must stay up and answering after it. */
  windowMs: number;
  /** The stop that follows. */
  stopSignal: string;
}

export interface PlatformOptions {
  /** Run the command as PID 1 of a new PID namespace (or emulate that where namespaces are unavailable). */
  container?: ContainerOptions;
  docker?: DockerOptions;
  systemd?: SystemdOptions;
  /** Kubernetes: how long the Service keeps routing to the pod after termination began, ms. */
  endpointLagMs?: number;
  survive?: SurviveExpectation;
  /** Kubernetes shareProcessNamespace: the app is not PID 1 (turns off --k8s's container default). */
  sharedPidNamespace?: boolean;
}

export interface Pid1Meta {
  /** 'namespace': a real PID namespace (unshare); 'emulated': the caught-signal mask decides delivery. */
  mode: 'namespace' | 'emulated';
  /** The namespace was created inside a user namespace (not root, or root without the capability). */
  userNamespace?: boolean;
  /** Why the emulation ran instead of a namespace. */
  why?: string;
  init?: InitProgram;
  /** What runs as PID 1: the init, or the command itself. */
  command: string;
  /** PID 1's pid as seen from the host (the trace's pids are host pids). */
  hostPid?: number;
  /** The unshare process that holds the namespace (not part of the service). */
  runtimePid?: number;
}

export interface PlatformMeta {
  pid1?: Pid1Meta;
  docker?: DockerOptions;
  systemd?: SystemdOptions & { notifySocket?: string };
  endpointLagMs?: number;
  survive?: SurviveExpectation;
}

export type PlatformWhat =
  /** PID 1 of the namespace started (pid: its host pid). */
  | 'pid1'
  /** A signal to PID 1 and whether the kernel delivers it (a handler, or blocked and waited for). */
  | 'pid1-signal'
  /** Killed by the kernel when PID 1 exited (no cleanup ran). */
  | 'container-killed'
  /** A process that exited and was never reaped (state Z). */
  | 'zombie'
  /** systemd sent a signal to other processes of the unit (control group). */
  | 'unit-signal'
  /** An sd_notify message on NOTIFY_SOCKET. */
  | 'notify'
  /** EXTEND_TIMEOUT_USEC moved the stop deadline. */
  | 'deadline-moved'
  /** Kubernetes: the endpoint removal has propagated; the Service stops routing here. */
  | 'endpoints-removed'
  /** A handle snapshot was asked for at this point (preStop start / end). */
  | 'snapshot-point'
  /** The service was still up when the survival window ended. */
  | 'survived';

export interface PlatformEvent {
  kind: 'platform';
  t: number;
  /** The process concerned (host pid), or 0. */
  pid: number;
  what: PlatformWhat;
  /** One line for people: every view can show it as it is. */
  text: string;
  signal?: string;
  /** pid1-signal: delivered by the kernel (PID 1 catches or blocks it). */
  delivered?: boolean;
  /** zombie / container-killed: the parent (host pid) and the command. */
  ppid?: number;
  command?: string;
  /** zombie: last time it was seen unreaped. */
  until?: number;
  /** zombie: reaped later (false: still unreaped when PID 1 exited or the run ended). */
  reaped?: boolean;
  /** unit-signal: the pids signalled. */
  pids?: number[];
  /** notify: the raw message (one datagram). */
  message?: string;
  /** deadline-moved: the new deadline, trace ms. */
  deadlineAt?: number;
  /** snapshot-point: "preStop start", "preStop end". */
  label?: string;
}

export type PlatformFindingCode =
  /** What the kernel did with the stop signal for PID 1 (dropped, or caught by Node's own handler and its re-raise dropped). */
  | 'pid1-signal'
  /** A shell (`sh -c "node server.js"`, a shell-form CMD) is PID 1 and forwards nothing. */
  | 'pid1-shell'
  /** npm is PID 1. */
  | 'pid1-npm'
  /** Processes SIGKILLed by the kernel when PID 1 exited. */
  | 'container-killed'
  /** Processes that exited and were never reaped (state Z). */
  | 'zombies'
  /** systemd: what KillMode= did; the processes KillMode=process left behind. */
  | 'systemd-stop'
  /** A Type=notify unit that never sent READY=1. */
  | 'notify-not-ready'
  /** Kubernetes: requests failed while the Service still routed to the pod (the endpoint lag), by phase. */
  | 'endpoint-lag'
  /** `--expect survive`: did the service survive the signal (a reload) without losing a request? */
  | 'survive'
  /** SIGUSR1 starts Node's inspector: the plan or the app uses it for something else. */
  | 'sigusr1-inspector';

export interface PlatformAnalysis {
  pid1?: { mode: 'namespace' | 'emulated'; command: string; stopSignalDelivered?: boolean };
  /** Zombies still unreaped at the end (PID 1's exit or the run's end). */
  zombies?: number;
  /** Processes killed with the container. */
  containerKilled?: number;
  /** Kubernetes with an endpoint lag and load: failed requests by phase. */
  requestsByPhase?: { phase: 'preStop' | 'drain' | 'after SIGKILL'; total: number; failed: number }[];
  survived?: boolean;
}
