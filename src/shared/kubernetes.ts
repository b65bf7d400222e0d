/**
 * Kubernetes pod termination as the trace records it: the plan (grace period, stop signal,
 * preStop), the kubelet's schedule (pure arithmetic, see src/core/k8s.ts for how the hooks
 * run), and the outcome the analysis gives. Browser-safe.
 */
import { formatSeconds } from './duration';

/** kubelet's minimumGracePeriodInSeconds. */
export const MIN_GRACE_SECONDS = 2;

export type PreStop =
  | { action: 'sleep'; ms: number }
  | { action: 'exec'; command: string }
  /** url: absolute, or a path (`/drain`) / `:PORT/path` resolved against the service's port. */
  | { action: 'httpGet'; url: string };

export interface K8sPlan {
  /** terminationGracePeriodSeconds: a whole number of seconds, as in the Pod spec. */
  graceSeconds: number;
  /** STOPSIGNAL of the image (or the container's lifecycle.stopSignal); SIGTERM by default. */
  stopSignal: string;
  preStop?: PreStop;
}

export interface KubeletSchedule {
  /** When the stop signal is sent, ms after termination began (the preStop start). */
  signalAtMs: number;
  /** When SIGKILL is sent, ms after termination began. */
  killAtMs: number;
  /** The grace left after the hook, in whole seconds, as the kubelet passes it to the runtime. */
  remainingSeconds: number;
  /** The hook's run time as the kubelet counts it: whole seconds, truncated. */
  preStopSeconds: number;
  /** True when the 2 s minimum applied (the one-off extension when the hook overran, or left < 2 s). */
  extended: boolean;
  /** True when the hook was still running at the grace deadline (the kubelet stopped waiting). */
  overran: boolean;
}

/**
 * The kubelet's arithmetic. `preStopMs` is how long the hook ran (undefined: no hook;
 * Infinity or anything ≥ the grace period: still running at the deadline).
 */
export function kubeletSchedule(graceSeconds: number, preStopMs?: number): KubeletSchedule {
  const grace = Math.max(0, Math.floor(graceSeconds));
  const graceMs = grace * 1000;
  // The kubelet runs the hook only when there is a grace period left to run it in.
  if (preStopMs === undefined || grace === 0) {
    const remaining = Math.max(grace, MIN_GRACE_SECONDS);
    return { signalAtMs: 0, killAtMs: remaining * 1000, remainingSeconds: remaining, preStopSeconds: 0, extended: remaining !== grace, overran: false };
  }
  const overran = !(preStopMs < graceMs);
  const waited = overran ? graceMs : Math.max(0, preStopMs);
  const preStopSeconds = Math.floor(waited / 1000);
  const left = grace - preStopSeconds;
  const remaining = Math.max(left, MIN_GRACE_SECONDS);
  return { signalAtMs: waited, killAtMs: waited + remaining * 1000, remainingSeconds: remaining, preStopSeconds, extended: remaining !== left, overran };
}

/** "sleep 5 s", "exec: curl -s localhost/drain", "httpGet /drain" */
export function describePreStop(p: PreStop): string {
  if (p.action === 'sleep') return `sleep ${formatSeconds(p.ms)}`;
  if (p.action === 'exec') return `exec: ${p.command}`;
  return `httpGet ${p.url}`;
}

export interface K8sOutcome {
  graceSeconds: number;
  stopSignal: string;
  preStop?: string;
  /** Trace ms when termination began (the grace period counts from here). */
  startedAt?: number;
  schedule?: KubeletSchedule;
  /** Seconds from termination start to the main process's end. */
  endedAfterSeconds?: number;
  fate: 'graceful' | 'killed' | 'died-by-signal' | 'crashed' | 'not-terminated' | 'unknown';
  /** "killed at 30 s; 3 requests lost; 2 handles alive" (the verdict says "A real pod would have been …") */
  summary: string;
}

/**
 * "a real pod would have been killed at 30 s…", "…would have died by SIGTERM at 0 s…": the
 * Kubernetes verdict's phrase, with the verb its fate needs (never "would have been died").
 */
export function podWouldHave(k: Pick<K8sOutcome, 'fate' | 'summary'>): string {
  if (k.fate === 'not-terminated') return `no pod termination: ${k.summary.replace(/^not terminated: /, '')}`;
  return `a real pod would have ${k.fate === 'killed' ? 'been ' : ''}${k.summary}`;
}
