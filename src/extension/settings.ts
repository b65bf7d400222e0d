/**
 * The `shutdownTrace.*` settings, per-run overrides, and the SignalPlan they make.
 * No `vscode` import: callers pass a getter (WorkspaceConfiguration.get).
 */
import type { Delivery, SignalPlan } from '../shared/trace';
import type { LoadConfig } from '../shared/traffic';
import type { K8sPlan, PreStop } from '../shared/kubernetes';
import { formatDuration, parseDuration } from '../shared/duration';

export const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR2', 'SIGQUIT'] as const;
export type SignalWhenMode = 'listening' | 'after' | 'never';
export type OutputTarget = 'terminal' | 'outputChannel';

export interface RunSettings {
  signal: string;
  delivery: Delivery;
  signalWhen: SignalWhenMode;
  signalAfterMs: number;
  listenTimeoutMs: number;
  secondSignal: string; // 'none' or a signal
  secondSignalAfterMs: number;
  gracePeriodMs: number;
  stallMs: number;
  cwd: string;
  env: Record<string, string>;
  output: OutputTarget;
  saveTraces: string;
  // ---- traffic during shutdown
  /** Requests per second at the port the service listens on; 0: no traffic. */
  loadRate: number;
  loadKeepAlive: boolean;
  loadPath: string;
  // ---- Kubernetes termination (settings shutdownTrace.k8s.*)
  /** Terminate as the kubelet does: preStop, then the stop signal, SIGKILL on the kubelet's schedule. */
  k8sEnabled: boolean;
  /** terminationGracePeriodSeconds (whole seconds, at least 1). */
  k8sGraceSeconds: number;
  /** The image's STOPSIGNAL. */
  k8sStopSignal: string;
  /** The Pod's lifecycle.preStop: one of sleep (seconds), exec (a shell command), httpGet (/path, :PORT/path or a URL); {} for none. */
  k8sPreStop: K8sPreStopSetting;
}

/** `shutdownTrace.k8s.preStop`: at most one handler, as in a Pod spec. */
export interface K8sPreStopSetting {
  sleep?: number;
  exec?: string;
  httpGet?: string;
}

export const DEFAULTS: RunSettings = {
  signal: 'SIGTERM',
  delivery: 'main',
  signalWhen: 'listening',
  signalAfterMs: 500,
  listenTimeoutMs: 10000,
  secondSignal: 'none',
  secondSignalAfterMs: 1000,
  gracePeriodMs: 30000,
  stallMs: 1000,
  cwd: '',
  env: {},
  output: 'terminal',
  saveTraces: '',
  loadRate: 0,
  loadKeepAlive: false,
  loadPath: '/',
  k8sEnabled: false,
  k8sGraceSeconds: 30,
  k8sStopSignal: 'SIGTERM',
  k8sPreStop: {},
};

/** Setting names (under `shutdownTrace.`) of the fields whose name differs from their setting's. */
export const SETTING_KEYS: Partial<Record<keyof RunSettings, string>> = {
  k8sEnabled: 'k8s.enabled',
  k8sGraceSeconds: 'k8s.terminationGracePeriodSeconds',
  k8sStopSignal: 'k8s.stopSignal',
  k8sPreStop: 'k8s.preStop',
};

/** Overrides a run command accepts as its options argument (any subset; unknown keys are ignored). */
export type RunOverrides = Partial<RunSettings>;

const isSignal = (v: unknown): v is string => typeof v === 'string' && /^SIG[A-Z0-9]+$/.test(v);
/**
 * A duration setting in ms: a number (ms, as before), or text in the CLI's grammar ("1m", "1.5s",
 * "500ms", "1500"), parsed by the one shared parser. Undefined when it is neither.
 */
export function toMs(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.round(v) : undefined;
  return typeof v === 'string' ? parseDuration(v) : undefined;
}

/** Keeps only well-formed values; returns the list of ignored keys so the caller can say so. */
export function sanitizeOverrides(raw: unknown): { overrides: RunOverrides; ignored: string[] } {
  const overrides: RunOverrides = {};
  const ignored: string[] = [];
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { overrides, ignored };
  const o = raw as Record<string, unknown>;
  const take = <K extends keyof RunSettings>(key: K, ok: (v: unknown) => boolean) => {
    if (!(key in o) || o[key] === undefined) return;
    if (ok(o[key])) overrides[key] = o[key] as RunSettings[K];
    else ignored.push(key);
  };
  type MsKey = 'signalAfterMs' | 'listenTimeoutMs' | 'secondSignalAfterMs' | 'gracePeriodMs' | 'stallMs';
  const takeMs = (key: MsKey) => {
    if (!(key in o) || o[key] === undefined) return;
    const ms = toMs(o[key]);
    if (ms !== undefined) overrides[key] = ms;
    else ignored.push(key);
  };
  take('signal', isSignal);
  take('delivery', (v) => v === 'main' || v === 'group');
  take('signalWhen', (v) => v === 'listening' || v === 'after' || v === 'never');
  takeMs('signalAfterMs');
  takeMs('listenTimeoutMs');
  take('secondSignal', (v) => v === 'none' || isSignal(v));
  takeMs('secondSignalAfterMs');
  takeMs('gracePeriodMs');
  takeMs('stallMs');
  take('cwd', (v) => typeof v === 'string');
  take('env', (v) => !!v && typeof v === 'object' && !Array.isArray(v) && Object.values(v as object).every((x) => typeof x === 'string'));
  take('output', (v) => v === 'terminal' || v === 'outputChannel');
  take('saveTraces', (v) => typeof v === 'string');
  // ---- traffic during shutdown, Kubernetes termination
  take('loadRate', (v) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 1000);
  take('loadKeepAlive', (v) => typeof v === 'boolean');
  take('loadPath', (v) => typeof v === 'string' && v.startsWith('/'));
  take('k8sEnabled', (v) => typeof v === 'boolean');
  take('k8sGraceSeconds', (v) => typeof v === 'number' && Number.isInteger(v) && v >= 1);
  take('k8sStopSignal', isSignal);
  take('k8sPreStop', isPreStopSetting);
  return { overrides, ignored };
}

/** {} or exactly one of sleep (seconds ≥ 0), exec (a non-empty command), httpGet (a path, :PORT/path or URL). */
export function isPreStopSetting(v: unknown): v is K8sPreStopSetting {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined && o[k] !== null && o[k] !== '');
  if (keys.length === 0) return true;
  if (keys.length > 1) return false;
  const [k] = keys;
  if (k === 'sleep') return typeof o.sleep === 'number' && Number.isFinite(o.sleep) && o.sleep >= 0;
  if (k === 'exec') return typeof o.exec === 'string' && o.exec.trim() !== '';
  if (k === 'httpGet') return typeof o.httpGet === 'string' && /^(\/|:\d+|\d+(\/|$)|https?:\/\/)/i.test(o.httpGet.trim());
  return false;
}

/** Reads the settings through `get` (WorkspaceConfiguration.get), falling back to defaults for bad values. */
export function readSettings(get: (key: string) => unknown): RunSettings {
  const { overrides } = sanitizeOverrides(Object.fromEntries((Object.keys(DEFAULTS) as (keyof RunSettings)[]).map((k) => [k, get(SETTING_KEYS[k] ?? k)])));
  return { ...DEFAULTS, ...overrides, env: { ...(overrides.env ?? {}) }, k8sPreStop: { ...(overrides.k8sPreStop ?? {}) } };
}

export function applyOverrides(base: RunSettings, o: RunOverrides): RunSettings {
  return { ...base, ...o, env: { ...base.env, ...(o.env ?? {}) } };
}

export function toPlan(s: RunSettings): SignalPlan {
  const when: SignalPlan['when'] =
    s.signalWhen === 'never' ? { mode: 'never' } : s.signalWhen === 'after' ? { mode: 'after', ms: s.signalAfterMs } : { mode: 'listening', delayMs: s.signalAfterMs, timeoutMs: s.listenTimeoutMs };
  const plan: SignalPlan = { signal: s.signal, when, graceMs: s.gracePeriodMs, delivery: s.delivery };
  if (s.secondSignal && s.secondSignal !== 'none') plan.second = { signal: s.secondSignal, afterMs: s.secondSignalAfterMs };
  return plan;
}

/** "SIGTERM to main when listening +500 ms, grace 30 s" */
export function describePlan(p: SignalPlan): string {
  const when = p.when.mode === 'never' ? 'only when you send it' : p.when.mode === 'after' ? `${p.when.ms} ms after start` : `${p.when.delayMs} ms after it listens`;
  const second = p.second ? `, then ${p.second.signal} ${p.second.afterMs} ms later` : '';
  return `${p.signal} to the ${p.delivery === 'group' ? 'process group' : 'main process'} ${when}${second}; SIGKILL ${fmtMs(p.graceMs)} after the first signal`;
}

/** A duration in the settings' descriptions and pickers, by the one formatter. */
export const fmtMs = (ms: number): string => formatDuration(ms);

// ---- traffic during shutdown

/** The load for a run (at the port the service listens on), or none when the rate is 0. */
export function toLoad(s: RunSettings): LoadConfig | undefined {
  if (!s.loadRate) return undefined;
  return { target: 'auto', rate: s.loadRate, keepAlive: s.loadKeepAlive, path: s.loadPath || '/', timeoutMs: 5000, tailMs: 300 };
}

/** "50 requests/s at / (keep-alive)" */
export function describeLoad(l: LoadConfig | undefined): string {
  if (!l) return 'no traffic';
  return `${l.rate} requests/s at ${l.path ?? '/'} of the port it listens on (${l.keepAlive ? 'keep-alive' : 'a new connection each'})`;
}

// ---- Kubernetes termination

/** The preStop handler of a setting, as the launcher takes it (sleep in ms); undefined for none. */
export function toPreStop(p: K8sPreStopSetting | undefined): PreStop | undefined {
  if (!p || !isPreStopSetting(p)) return undefined;
  if (typeof p.sleep === 'number') return { action: 'sleep', ms: Math.round(p.sleep * 1000) };
  if (p.exec && p.exec.trim()) return { action: 'exec', command: p.exec };
  if (p.httpGet && p.httpGet.trim()) return { action: 'httpGet', url: p.httpGet.trim() };
  return undefined;
}

/** The setting form of a launcher preStop (for re-running a trace). */
export function fromPreStop(p: PreStop | undefined): K8sPreStopSetting {
  if (!p) return {};
  if (p.action === 'sleep') return { sleep: p.ms / 1000 };
  if (p.action === 'exec') return { exec: p.command };
  return { httpGet: p.url };
}

/** RunOptions.k8s for a run, or undefined when Kubernetes termination is off. */
export function toK8s(s: RunSettings): K8sPlan | undefined {
  if (!s.k8sEnabled) return undefined;
  const preStop = toPreStop(s.k8sPreStop);
  return { graceSeconds: Math.max(1, Math.floor(s.k8sGraceSeconds)), stopSignal: s.k8sStopSignal, ...(preStop ? { preStop } : {}) };
}

/** The signal plan of a Kubernetes run: the one override the CLI and the launcher apply too. */
export { k8sSignalPlan } from '../shared/k8s-plan';

/** "terminationGracePeriodSeconds 30, preStop sleep 5 s, stop signal SIGTERM" */
export function describeK8s(k: K8sPlan | undefined): string {
  if (!k) return 'off';
  const ps = k.preStop ? (k.preStop.action === 'sleep' ? `sleep ${fmtMs(k.preStop.ms)}` : k.preStop.action === 'exec' ? `exec ${k.preStop.command}` : `httpGet ${k.preStop.url}`) : 'none';
  return `terminationGracePeriodSeconds ${k.graceSeconds}, preStop ${ps}, stop signal ${k.stopSignal} to the main process`;
}

/** Parses what the user types for a preStop: "sleep 5", "exec curl …", "httpGet /drain", or "" for none. */
export function parsePreStopInput(v: string): K8sPreStopSetting | undefined {
  const t = v.trim();
  if (t === '' || /^none$/i.test(t)) return {};
  const m = /^(sleep|exec|httpget|http)\s+([\s\S]+)$/i.exec(t);
  if (!m) return undefined;
  const kind = m[1].toLowerCase();
  const arg = m[2].trim();
  let p: K8sPreStopSetting;
  if (kind === 'sleep') {
    // Seconds, as in a Pod spec ("sleep 5"); with a unit, the shared duration grammar ("1.5s", "500ms", "1m").
    const ms = /^\d+(\.\d+)?$/.test(arg) ? Number(arg) * 1000 : parseDuration(arg);
    if (ms === undefined) return undefined;
    p = { sleep: ms / 1000 };
  } else if (kind === 'exec') p = { exec: arg };
  else p = { httpGet: arg };
  return isPreStopSetting(p) ? p : undefined;
}
