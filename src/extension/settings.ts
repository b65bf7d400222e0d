/**
 * The `shutdownTrace.*` settings, per-run overrides, and the SignalPlan they make.
 * No `vscode` import: callers pass a getter (WorkspaceConfiguration.get).
 */
import type { Delivery, SignalPlan, LoadConfig } from '../core/trace';

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
  // ---- issue #5: traffic during shutdown
  /** Requests per second at the port the service listens on; 0: no traffic. */
  loadRate: number;
  loadKeepAlive: boolean;
  loadPath: string;
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
};

/** Overrides a run command accepts as its options argument (any subset; unknown keys are ignored). */
export type RunOverrides = Partial<RunSettings>;

const isSignal = (v: unknown): v is string => typeof v === 'string' && /^SIG[A-Z0-9]+$/.test(v);
const isMs = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

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
  take('signal', isSignal);
  take('delivery', (v) => v === 'main' || v === 'group');
  take('signalWhen', (v) => v === 'listening' || v === 'after' || v === 'never');
  take('signalAfterMs', isMs);
  take('listenTimeoutMs', isMs);
  take('secondSignal', (v) => v === 'none' || isSignal(v));
  take('secondSignalAfterMs', isMs);
  take('gracePeriodMs', isMs);
  take('stallMs', isMs);
  take('cwd', (v) => typeof v === 'string');
  take('env', (v) => !!v && typeof v === 'object' && !Array.isArray(v) && Object.values(v as object).every((x) => typeof x === 'string'));
  take('output', (v) => v === 'terminal' || v === 'outputChannel');
  take('saveTraces', (v) => typeof v === 'string');
  // ---- issue #5
  take('loadRate', (v) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 1000);
  take('loadKeepAlive', (v) => typeof v === 'boolean');
  take('loadPath', (v) => typeof v === 'string' && v.startsWith('/'));
  return { overrides, ignored };
}

/** Reads the settings through `get` (WorkspaceConfiguration.get), falling back to defaults for bad values. */
export function readSettings(get: (key: string) => unknown): RunSettings {
  const { overrides } = sanitizeOverrides(Object.fromEntries((Object.keys(DEFAULTS) as (keyof RunSettings)[]).map((k) => [k, get(k)])));
  return { ...DEFAULTS, ...overrides, env: { ...(overrides.env ?? {}) } };
}

export function applyOverrides(base: RunSettings, o: RunOverrides): RunSettings {
  return { ...base, ...o, env: { ...base.env, ...(o.env ?? {}) } };
}

export function toPlan(s: RunSettings): SignalPlan {
  const when: SignalPlan['when'] =
    s.signalWhen === 'never'
      ? { mode: 'never' }
      : s.signalWhen === 'after'
        ? { mode: 'after', ms: s.signalAfterMs }
        : { mode: 'listening', delayMs: s.signalAfterMs, timeoutMs: s.listenTimeoutMs };
  const plan: SignalPlan = { signal: s.signal, when, graceMs: s.gracePeriodMs, delivery: s.delivery };
  if (s.secondSignal && s.secondSignal !== 'none') plan.second = { signal: s.secondSignal, afterMs: s.secondSignalAfterMs };
  return plan;
}

/** "SIGTERM to main when listening +500 ms, grace 30 s" */
export function describePlan(p: SignalPlan): string {
  const when =
    p.when.mode === 'never'
      ? 'only when you send it'
      : p.when.mode === 'after'
        ? `${p.when.ms} ms after start`
        : `${p.when.delayMs} ms after it listens`;
  const second = p.second ? `, then ${p.second.signal} ${p.second.afterMs} ms later` : '';
  return `${p.signal} to the ${p.delivery === 'group' ? 'process group' : 'main process'} ${when}${second}; SIGKILL ${fmtMs(p.graceMs)} after the first signal`;
}

export function fmtMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

// ---- issue #5: traffic during shutdown

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
