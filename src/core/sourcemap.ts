/**
 * Source positions for compiled services run without source-map support: after
 * the run, the launcher maps every stack frame in a compiled file (tsc, esbuild, swc output
 * with a `//# sourceMappingURL=` comment) to its original position, with node's own
 * `module.SourceMap`, and keeps the compiled position in `frame.generated`.
 *
 * Only frames whose file itself carries the comment are mapped, so frames the runtime already
 * mapped (tsx, --enable-source-maps: the file shown is the .ts) are left as they are. Nothing
 * here throws: a missing, oversized, unreadable or invalid map leaves its frames alone.
 */
import * as fs from 'fs';
import * as path from 'path';
import { SourceMap } from 'module';
import { fileURLToPath, pathToFileURL } from 'url';
import type { Frame, Site } from '../shared/frames';
import type { Trace } from '../shared/trace';
import { isUserFile, parseFrameLine } from '../shared/frames';

/** Compiled files and maps larger than this are not read. */
export const MAX_SOURCEMAP_BYTES = 50 * 1024 * 1024;
/** The comment is at the end of the file; the tail read first to find it. */
const TAIL_BYTES = 64 * 1024;

export interface SourceMapStats {
  /** Frames looked at (in every site), and how many of them were mapped. */
  frames: number;
  mapped: number;
  /** Distinct compiled files looked at, and how many had a usable map. */
  files: number;
  maps: number;
  /** 'error' stack strings rewritten. */
  stacks: number;
  ms: number;
}

interface Loaded {
  map: SourceMap;
}

// Line-anchored like the tools write it; the last one in the file wins, as in node.
const COMMENT_RE = /^[ \t]*\/\/[#@][ \t]+sourceMappingURL=([^\s'"`]+)[ \t]*$/gm;

function inNodeModules(file: string): boolean {
  return /[\\/]node_modules[\\/]/.test(file);
}

function toPath(file: string): string | undefined {
  if (file.startsWith('file://')) {
    try {
      return fileURLToPath(file);
    } catch {
      return undefined;
    }
  }
  return path.isAbsolute(file) ? file : undefined;
}

/** A source's absolute URL: `sourceRoot` joined in front, then resolved against the map's own URL. */
function resolveSource(source: string, sourceRoot: string | undefined, base: string): string | undefined {
  let s = source;
  const isUrl = (x: string) => /^[a-z][a-z0-9+.-]+:/i.test(x) && !/^[a-z]:[\\/]/i.test(x);
  if (sourceRoot && !isUrl(s) && !path.isAbsolute(s)) s = sourceRoot.replace(/\/?$/, '/') + s;
  try {
    if (!isUrl(s) && (path.isAbsolute(s) || /^[a-z]:[\\/]/i.test(s))) return pathToFileURL(s).href;
    return new URL(s, base).href;
  } catch {
    return undefined;
  }
}

/** Resolves `sources` in place (and in an index map's sections), as node's own cache does. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a source map's JSON, checked field by field here
function absolutize(payload: any, base: string, depth = 0): boolean {
  if (!payload || typeof payload !== 'object' || depth > 4) return false;
  if (Array.isArray(payload.sections)) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- an index map's sections, checked here
    return payload.sections.every((s: any) => s && typeof s === 'object' && absolutize(s.map, base, depth + 1));
  }
  // Node's decoder reads any text as mappings; characters outside base64 VLQ mean a damaged map.
  if (!Array.isArray(payload.sources) || typeof payload.mappings !== 'string' || !/^[A-Za-z0-9+/,;]*$/.test(payload.mappings)) return false;
  const root = typeof payload.sourceRoot === 'string' ? payload.sourceRoot : undefined;
  payload.sources = payload.sources.map((s: unknown) => (typeof s === 'string' ? (resolveSource(s, root, base) ?? s) : s));
  payload.sourceRoot = '';
  return true;
}

function decodeDataUrl(url: string): string | undefined {
  const comma = url.indexOf(',');
  if (comma < 0) return undefined;
  const head = url.slice(5, comma);
  const body = url.slice(comma + 1);
  if (!/^application\/json\b/i.test(head) && head !== '' && !/^;/.test(head)) return undefined;
  try {
    return /;base64$/i.test(head) ? Buffer.from(body, 'base64').toString('utf8') : decodeURIComponent(body);
  } catch {
    return undefined;
  }
}

/** The compiled file's last sourceMappingURL comment, looked for in its last 64 kB, or in the whole file when its last line is longer. */
function findComment(file: string): string | undefined {
  let fd: number | undefined;
  try {
    const st = fs.statSync(file);
    if (!st.isFile() || st.size > MAX_SOURCEMAP_BYTES) return undefined;
    fd = fs.openSync(file, 'r');
    const read = (start: number, len: number) => {
      const buf = Buffer.alloc(len);
      const n = fs.readSync(fd!, buf, 0, len, start);
      return buf.toString('utf8', 0, n);
    };
    const last = (text: string) => {
      let url: string | undefined;
      for (const m of text.matchAll(COMMENT_RE)) url = m[1];
      return url;
    };
    if (st.size > TAIL_BYTES) {
      const tail = read(st.size - TAIL_BYTES, TAIL_BYTES);
      // The tail starts mid-line: only whole lines count.
      const nl = tail.indexOf('\n');
      const found = nl < 0 ? undefined : last(tail.slice(nl + 1));
      if (found) return found;
      // Tools write the comment last; only a last line longer than the tail (an inline map) needs the whole file.
      if (tail.trimEnd().includes('\n')) return undefined;
    }
    return last(read(0, st.size));
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined)
      try {
        fs.closeSync(fd);
      } catch {}
  }
}

/** Maps frames of one trace; caches each compiled file's map for its own lifetime only. */
export class SourceMapper {
  private cache = new Map<string, Loaded | null>();
  readonly stats: SourceMapStats = { frames: 0, mapped: 0, files: 0, maps: 0, stacks: 0, ms: 0 };

  private load(file: string): Loaded | null {
    const hit = this.cache.get(file);
    if (hit !== undefined) return hit;
    this.stats.files++;
    let loaded: Loaded | null;
    try {
      loaded = this.loadUncached(file);
    } catch {
      loaded = null;
    }
    if (loaded) this.stats.maps++;
    this.cache.set(file, loaded);
    return loaded;
  }

  private loadUncached(file: string): Loaded | null {
    const url = findComment(file);
    if (!url) return null;
    const fileUrl = pathToFileURL(file).href;
    let text: string | undefined;
    let base = fileUrl;
    if (url.startsWith('data:')) {
      text = decodeDataUrl(url);
    } else {
      const mapUrl = new URL(url, fileUrl);
      if (mapUrl.protocol !== 'file:') return null;
      const mapFile = fileURLToPath(mapUrl);
      const st = fs.statSync(mapFile);
      if (!st.isFile() || st.size > MAX_SOURCEMAP_BYTES) return null;
      text = fs.readFileSync(mapFile, 'utf8');
      base = mapUrl.href;
    }
    if (text === undefined) return null;
    const payload = JSON.parse(text);
    if (!absolutize(payload, base)) return null;
    return { map: new SourceMap(payload) };
  }

  /** Maps one frame in place; true if it was mapped. Frames mapped before are left alone. */
  mapFrame(frame: Frame): boolean {
    if (frame.generated || typeof frame.file !== 'string' || !Number.isInteger(frame.line) || !Number.isInteger(frame.col)) return false;
    if (frame.file.startsWith('node:') || !path.isAbsolute(frame.file) || frame.line < 1 || frame.col < 1) return false;
    const loaded = this.load(frame.file);
    if (!loaded) return false;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- what the source-map library returns is untyped
    let entry: any;
    try {
      // Stack positions are 1-based; findEntry takes 0-based (as node's own --enable-source-maps does).
      entry = loaded.map.findEntry(frame.line - 1, frame.col - 1);
    } catch {
      return false;
    }
    if (!entry || typeof entry.originalSource !== 'string' || !Number.isInteger(entry.originalLine) || !Number.isInteger(entry.originalColumn)) return false;
    const original = toPath(entry.originalSource);
    if (!original) return false;
    // A library's frame stays a library frame: a map pointing out of node_modules (the author's
    // own paths) would pass it off as the user's code.
    if (inNodeModules(frame.file) && !inNodeModules(original)) return false;
    frame.generated = { file: frame.file, line: frame.line, col: frame.col };
    frame.file = original;
    frame.line = entry.originalLine + 1;
    frame.col = entry.originalColumn + 1;
    return true;
  }

  /** Maps a site's frames and recomputes its user frame; true if any frame was mapped. */
  mapSite(site: Site): boolean {
    let any = false;
    for (const f of site.frames) {
      if (!f || typeof f !== 'object') continue;
      this.stats.frames++;
      if (this.mapFrame(f)) {
        this.stats.mapped++;
        any = true;
      }
    }
    if (any) site.user = userIndex(site.frames);
    return any;
  }

  /** An error's stack text with each mappable "at …(file:line:col)" rewritten to the original. */
  mapStack(stack: string): string {
    let changed = false;
    const lines = stack.split('\n').map((line) => {
      const m = parseFrameLine(line);
      if (!m) return line;
      const file = toPath(m.location);
      if (!file) return line;
      const f: Frame = { file, line: m.line, col: m.col };
      if (!this.mapFrame(f)) return line;
      changed = true;
      return `${m.prefix}${f.file}:${f.line}:${f.col}${m.suffix}`;
    });
    if (!changed) return stack;
    this.stats.stacks++;
    return lines.join('\n');
  }
}

/** The preload's rule: the first frame outside node internals and node_modules, else the first non-internal one. */
export function userIndex(frames: Frame[]): number {
  const i = frames.findIndex((f) => isUserFile(f.file));
  if (i >= 0) return i;
  return frames.findIndex((f) => !f.file.startsWith('node:') && /[\\/]/.test(f.file));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any object of the trace, walked untyped
function isSite(v: any): v is Site {
  return Array.isArray(v.frames) && typeof v.user === 'number';
}

/**
 * Maps every site in the trace's events, wherever it sits (an event's `site`, a handle's, a
 * handle owner's, a snapshot's handles'), and the `stack` strings of errors. Never throws.
 */
export function mapTraceSourcePositions(trace: Trace): SourceMapStats {
  const started = performance.now();
  const mapper = new SourceMapper();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- every value of the trace, walked untyped
  const walk = (v: any, depth: number): void => {
    if (v === null || typeof v !== 'object' || depth > 16) return;
    if (Array.isArray(v)) {
      for (const x of v) walk(x, depth + 1);
      return;
    }
    if (isSite(v)) {
      mapper.mapSite(v);
      return;
    }
    for (const k in v) {
      const x = v[k];
      if (k === 'stack' && typeof x === 'string') v[k] = mapper.mapStack(x);
      else if (x !== null && typeof x === 'object') walk(x, depth + 1);
    }
  };
  try {
    walk(trace.events, 0);
  } catch {
    // A malformed event must not cost the run its trace.
  }
  mapper.stats.ms = performance.now() - started;
  return mapper.stats;
}
