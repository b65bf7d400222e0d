/**
 * Cheap creation-site capture. Error.captureStackTrace records structured frames; V8 formats
 * them only when `.stack` is first read, which we do only for handles that end up in a
 * snapshot. Formatting happens then through the runtime's own prepareStackTrace, so stacks
 * are source-mapped whenever the service runs with source maps (tsx, --enable-source-maps).
 */
import { isUserFile, parseFrameLine, type Frame, type Site } from '../shared/frames';

export interface SiteHolder {
  stack?: unknown;
}

// A captured stack costs ~90 bytes and a little time per frame. Timers are nearly always
// created straight from user code; sockets, servers and children come through library layers
// (http.Agent, frameworks) and need a deeper stack to reach the user's frame.
export const SHALLOW_FRAMES = 10;
export const DEEP_FRAMES = 24;

export function captureSite(skip: Function, limit = DEEP_FRAMES): SiteHolder {
  const holder: SiteHolder = {};
  const prev = Error.stackTraceLimit;
  Error.stackTraceLimit = limit;
  try {
    Error.captureStackTrace(holder, skip);
  } finally {
    Error.stackTraceLimit = prev;
  }
  return holder;
}

function toPath(file: string): string {
  if (file.startsWith('file://')) {
    try {
      return decodeURIComponent(new URL(file).pathname);
    } catch {
      return file;
    }
  }
  return file;
}

export function parseStack(stack: string, selfFile: string): Site {
  const frames: Frame[] = [];
  const lines = stack.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = parseFrameLine(lines[i]);
    if (!m) continue;
    const file = toPath(m.location);
    if (file === selfFile) continue;
    const frame: Frame = { file, line: m.line, col: m.col };
    if (m.fn) frame.fn = m.fn;
    frames.push(frame);
  }
  let user = -1;
  for (let i = 0; i < frames.length; i++) {
    if (!isUserFile(frames[i].file)) continue;
    user = i;
    break;
  }
  if (user === -1) {
    // Only library frames: still point at the first non-internal one.
    for (let i = 0; i < frames.length; i++) {
      if (!frames[i].file.startsWith('node:') && /[\\/]/.test(frames[i].file)) {
        user = i;
        break;
      }
    }
  }
  return { frames, user };
}

const parsed = new WeakMap<SiteHolder, Site | undefined>();

export function resolveSite(holder: SiteHolder | undefined, selfFile: string): Site | undefined {
  if (!holder) return undefined;
  if (parsed.has(holder)) return parsed.get(holder);
  const site = resolveUncached(holder, selfFile);
  parsed.set(holder, site);
  return site;
}

function resolveUncached(holder: SiteHolder, selfFile: string): Site | undefined {
  let stack: unknown;
  // The user's Error.prepareStackTrace never runs for the tool's own stacks: it is set aside
  // while V8 formats ours, so Node's default (source-mapped when maps are on) formats them.
  const E = Error as { prepareStackTrace?: unknown };
  const user = E.prepareStackTrace;
  try {
    if (user !== undefined) E.prepareStackTrace = undefined;
    if (E.prepareStackTrace !== undefined) return undefined;
    stack = holder.stack;
  } catch {
    return undefined;
  } finally {
    if (user !== undefined) {
      try {
        E.prepareStackTrace = user;
      } catch {}
    }
  }
  // A user's prepareStackTrace may return anything; only strings are parsed.
  if (typeof stack !== 'string') return undefined;
  return parseStack(stack, selfFile);
}
