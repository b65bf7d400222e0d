/**
 * Redaction of whole traces, so a trace (or an export of it) can be pasted into a bug report:
 * every text field through redact-text.ts, and the exact values the launcher knows (the run's
 * token, env values) wherever they appear. No `vscode` or Node imports.
 */
import type { HandleInfo } from '../shared/wire';
import type { Trace } from '../shared/trace';
import { REDACTED, MIN_EXTRA_SECRET_LENGTH, isSecretName, redactText, redactArgv, redactUrl, redactRequestPath } from './redact-text';

export { REDACTED, MIN_EXTRA_SECRET_LENGTH, isSecretName, looksHighEntropy, redactText, redactArgv, redactUrl, redactRequestPath } from './redact-text';

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Builds a replacer for exact secret values, their JSON-escaped and URL-encoded forms included. */
function exactReplacer(extraSecrets: string[] | undefined): (s: string) => string {
  const variants = new Set<string>();
  for (const v of extraSecrets ?? []) {
    if (typeof v !== 'string' || v.length < MIN_EXTRA_SECRET_LENGTH) continue;
    variants.add(v);
    variants.add(JSON.stringify(v).slice(1, -1));
    try {
      variants.add(encodeURIComponent(v));
    } catch {
      /* lone surrogate */
    }
  }
  if (variants.size === 0) return (s) => s;
  const re = new RegExp(
    [...variants]
      .sort((a, b) => b.length - a.length)
      .map(escapeRegExp)
      .join('|'),
    'g',
  );
  return (s) => (typeof s === 'string' ? s.replace(re, REDACTED) : s);
}

/** Fields whose values are enums or ids the tool itself wrote; never rewritten by exact-value replacement. */
const STRUCTURAL_KEYS = new Set(['format', 'kind', 'type', 'reason', 'origin', 'stream', 'proto', 'how', 'severity', 'code', 'exitReason', 'delivery', 'mode']);

function replaceEverywhere(v: unknown, replace: (s: string) => string, key?: string): unknown {
  if (typeof v === 'string') return key !== undefined && STRUCTURAL_KEYS.has(key) ? v : replace(v);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = replaceEverywhere(v[i], replace);
    return v;
  }
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) o[k] = replaceEverywhere(o[k], replace, k);
    return o;
  }
  return v;
}

/**
 * Replaces exact secret values (the run's collector token) wherever they appear in a trace,
 * in place, and nothing else: the trace file keeps the service's output as it was, except for
 * the values the tool itself put into the service's environment.
 */
export function removeExact<T>(value: T, secrets: string[]): T {
  replaceEverywhere(value, exactReplacer(secrets));
  return value;
}

/** Rewrites every string of a value in place (enum and id fields excepted), e.g. to make paths relative. */
export function rewriteStrings<T>(value: T, replace: (s: string) => string): T {
  replaceEverywhere(value, replace);
  return value;
}

const rt = (s: unknown): unknown => (typeof s === 'string' ? redactText(s) : s);

/** Detail keys whose values are dropped outright: environments are never recorded. */
const DROPPED_DETAIL = /^(env|environment|environ)$/i;

function redactOwner(o: NonNullable<HandleInfo['owner']>): void {
  if (typeof o.name === 'string') o.name = redactText(o.name);
  if (typeof o.path === 'string') o.path = redactText(o.path);
}

function redactHandle(h: HandleInfo | undefined): void {
  if (!h || typeof h !== 'object') return;
  if (typeof h.label === 'string') h.label = redactText(h.label);
  if (h.owner && typeof h.owner === 'object') redactOwner(h.owner);
  if (h.details && typeof h.details === 'object') {
    for (const k of Object.keys(h.details)) {
      const val = h.details[k];
      if (DROPPED_DETAIL.test(k)) h.details[k] = REDACTED;
      else if (typeof val === 'string') h.details[k] = isSecretName(k) ? REDACTED : k === 'path' && val.includes('?') ? redactRequestPath(val) : redactText(val);
    }
  }
}

/**
 * A deep copy of a trace with secrets removed: the command lines (meta and processes,
 * spawned children, orphans), output lines (a private key block spread over several lines
 * included), error messages and stacks, listener and phase errors, handle labels and
 * details, request paths (every query value), notes, and the analysis texts. Every exact
 * `extraSecrets` value (env values the launcher knows, the run token) is replaced wherever
 * it appears, in any string of the trace.
 */
export function redactTrace(trace: Trace, extraSecrets?: string[]): Trace {
  const c = structuredClone(trace) as Trace;
  if (c.meta) {
    if (Array.isArray(c.meta.command)) c.meta.command = redactArgv(c.meta.command);
    c.meta.incompleteReason = rt(c.meta.incompleteReason) as string | undefined;
    if (c.meta.incompleteReason === undefined) delete c.meta.incompleteReason;
    const load = c.meta.load;
    if (load && typeof load === 'object') {
      if (typeof load.target === 'string') load.target = redactUrl(load.target);
      if (typeof load.url === 'string') load.url = redactUrl(load.url);
      if (typeof load.path === 'string') load.path = redactRequestPath(load.path);
      if (typeof load.ssePath === 'string') load.ssePath = redactRequestPath(load.ssePath);
    }
    const pid1 = c.meta.platformMode?.pid1;
    if (pid1 && typeof pid1.command === 'string') pid1.command = redactText(pid1.command);
    const ps = c.meta.k8s?.preStop;
    if (ps && typeof ps === 'object') {
      if (ps.action === 'exec' && typeof ps.command === 'string') ps.command = redactText(ps.command);
      if (ps.action === 'httpGet' && typeof ps.url === 'string') ps.url = redactUrl(ps.url);
    }
  }
  for (const p of c.processes ?? []) if (p && typeof p.command === 'string') p.command = redactText(p.command);
  for (const e of c.events ?? []) {
    if (!e || typeof e !== 'object') continue;
    switch (e.kind) {
      case 'spawned':
      case 'spawn':
      case 'orphan':
        e.command = redactText(e.command);
        break;
      case 'listener-start':
        if (e.name !== undefined) e.name = redactText(e.name);
        break;
      case 'listener-end':
        if (e.threw !== undefined) e.threw = redactText(e.threw);
        break;
      case 'listener-settled':
        if (e.error !== undefined) e.error = redactText(e.error);
        break;
      case 'phase-start':
        e.name = redactText(e.name);
        break;
      case 'phase-end':
        if (e.error !== undefined) e.error = redactText(e.error);
        break;
      case 'error':
        e.message = redactText(e.message);
        if (e.stack !== undefined) e.stack = redactText(e.stack);
        break;
      case 'request-start':
        e.path = redactRequestPath(e.path);
        break;
      case 'listen':
        e.address = redactText(e.address);
        break;
      case 'conn-end':
        e.remote = redactText(e.remote);
        break;
      case 'handle-open':
        redactHandle(e.handle);
        break;
      case 'snapshot':
        for (const h of e.handles ?? []) redactHandle(h);
        break;
      case 'collector-rejected':
        e.reason = redactText(e.reason);
        break;
      case 'note':
        e.text = redactText(e.text);
        break;
      case 'exit-call':
        if (typeof e.code === 'string') e.code = redactText(e.code);
        break;
      // ---- the load target may carry a token in its query; hook commands, URLs and output are free text.
      case 'load-start':
      case 'load-summary':
        e.url = redactUrl(e.url);
        break;
      case 'load-request':
        if (e.error !== undefined) e.error = redactText(e.error);
        break;
      case 'termination-start':
        if (e.preStop !== undefined) e.preStop = redactText(e.preStop);
        break;
      case 'prestop-start':
        e.detail = redactText(e.detail);
        break;
      case 'prestop-end':
        if (e.error !== undefined) e.error = redactText(e.error);
        if (e.output !== undefined) e.output = redactText(e.output);
        break;
      case 'grace-extension':
        e.reason = redactText(e.reason);
        break;
      case 'platform':
        e.text = redactText(e.text);
        if (e.command !== undefined) e.command = redactText(e.command);
        if (e.message !== undefined) e.message = redactText(e.message);
        if (e.label !== undefined) e.label = redactText(e.label);
        break;
      // No free text in these.
      case 'active-count':
      case 'before-exit':
      case 'deadline':
      case 'dropped':
      case 'exit':
      case 'handle-close':
      case 'kill-sent':
      case 'process-exit':
      case 'request-end':
      case 'server-close':
      case 'server-closed':
      case 'signal-sent':
      case 'signal':
      default:
        // A kind from a newer writer: its known fields only.
        break;
    }
  }
  // Output: line by line, and a private key block that spans lines is hidden to its END line.
  const inKey = new Map<string, boolean>();
  for (const line of c.output ?? []) {
    if (!line || typeof line.text !== 'string') continue;
    const stream = `${line.pid}/${line.stream}`;
    if (inKey.get(stream)) {
      const end = /-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----/.exec(line.text);
      if (end) {
        line.text = REDACTED + redactText(line.text.slice(end.index));
        inKey.set(stream, false);
      } else {
        line.text = REDACTED;
      }
      continue;
    }
    const begins = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----/.exec(line.text);
    if (begins && !/-----END [A-Z0-9 ]*PRIVATE KEY/.test(line.text.slice(begins.index))) inKey.set(stream, true);
    line.text = redactText(line.text);
  }
  const a = c.analysis;
  if (a) {
    a.verdict = rt(a.verdict) as string;
    for (const p of a.phases ?? []) {
      p.name = rt(p.name) as string;
      if (p.error !== undefined) p.error = rt(p.error) as string;
    }
    for (const f of a.findings ?? []) {
      f.title = rt(f.title) as string;
      f.detail = rt(f.detail) as string;
      for (const h of f.handles ?? []) redactHandle(h);
    }
    // A leak's title is a handle's label or its owner's name; its handles carry labels and details.
    for (const l of a.leaks ?? []) {
      l.title = rt(l.title) as string;
      if (l.fix !== undefined) l.fix = rt(l.fix) as string;
      for (const h of l.handles ?? []) redactHandle(h);
      if (l.owner) redactOwner(l.owner);
    }
    if (a.platform?.pid1) a.platform.pid1.command = rt(a.platform.pid1.command) as string;
    if (a.requests && typeof a.requests.url === 'string') a.requests.url = redactUrl(a.requests.url);
    if (a.k8s) {
      if (a.k8s.preStop !== undefined) a.k8s.preStop = rt(a.k8s.preStop) as string;
      a.k8s.summary = rt(a.k8s.summary) as string;
    }
  }
  replaceEverywhere(c, exactReplacer(extraSecrets));
  return c;
}
