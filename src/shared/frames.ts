/**
 * Stack frames: what a frame is, which one is the user's, and the one way a frame is written
 * (`file:line:col`, relative to the workspace when given one). Browser-safe.
 */
/**
 * One stack frame, already source-mapped where the runtime had maps (tsx, --enable-source-maps);
 * otherwise mapped by the launcher from the compiled file's `.map` (src/core/sourcemap.ts).
 */
export interface Frame {
  fn?: string;
  file: string;
  line: number;
  col: number;
  /**
   * Set when the launcher mapped this frame from a source map after the run: the compiled
   * position that actually ran (e.g. dist/cache.js:14:5); file/line/col are then the original's.
   */
  generated?: { file: string; line: number; col: number };
}

/** Where something was created or called: frames plus the first frame in user code. */
export interface Site {
  frames: Frame[];
  /** Index into frames of the first frame outside node internals, the tool and node_modules; -1 if none. */
  user: number;
}

/** One line of V8's stack text, as written: what comes before the location, the location, and what closes it. */
export interface FrameLine {
  /** "    at fn (" or "    at async " or "    at ": kept as written when a location is rewritten. */
  prefix: string;
  /** The function, as V8 names it ("async fn", "new Foo", "Object.<anonymous>"); absent for a bare location. */
  fn?: string;
  /** The location as written: a path, or a file:// URL for ES modules. */
  location: string;
  line: number;
  col: number;
  /** ")" after a named frame's location, else "". */
  suffix: string;
}

// "    at fn (loc:1:2)" | "    at loc:1:2" | "    at async fn (loc:1:2)" | "    at async loc:1:2"
// (the last: an anonymous async function or a module's top-level await, awaited further down).
const NAMED_FRAME_RE = /^(\s*at (.+?) \()(.+?):(\d+):(\d+)(\))$/;
const BARE_FRAME_RE = /^(\s*at (?:async )?)(.+?):(\d+):(\d+)$/;

/** Parses one line of a stack; undefined for the message lines and frames without a position ("native"). */
export function parseFrameLine(text: string): FrameLine | undefined {
  const named = NAMED_FRAME_RE.exec(text);
  if (named) return { prefix: named[1], fn: named[2], location: named[3], line: +named[4], col: +named[5], suffix: named[6] };
  const bare = BARE_FRAME_RE.exec(text);
  if (bare) return { prefix: bare[1], location: bare[2], line: +bare[3], col: +bare[4], suffix: '' };
  return undefined;
}

/** The package a file under node_modules belongs to (`@scope/name` or `name`); undefined outside node_modules. */
export function packageOf(file: string): string | undefined {
  const i = file.lastIndexOf('/node_modules/');
  if (i === -1) return undefined;
  // Called for every module a service loads: index arithmetic, no split.
  const start = i + 14;
  let end = file.indexOf('/', start);
  if (end !== -1 && file.charCodeAt(start) === 64 /* @scope/name */) end = file.indexOf('/', end + 1);
  return end === -1 ? file.slice(start) : file.slice(start, end);
}

/**
 * The package that made something with no frame of the user's on its stack (a client
 * connecting in a tick of its own): the package of its first frame outside node.
 */
export function madeByPackageAlone(site: Site | undefined): string | undefined {
  if (!site || !Array.isArray(site.frames) || site.frames.some((f) => isUserFile(f.file))) return undefined;
  for (const f of site.frames) {
    if (f.file.startsWith('node:')) continue;
    return packageOf(f.file);
  }
  return undefined;
}

/** True for a frame in the user's own code: a path outside node_modules and node's internals. */
export function isUserFile(file: string): boolean {
  return !file.startsWith('node:') && /[\\/]/.test(file) && !/[\\/]node_modules[\\/]/.test(file);
}

/**
 * The user's line for a handle: where the user's code created its owner when a library owns it
 * (one line per library object), else the handle's own first user frame.
 */
export function leakFrame(h: { site?: Site; owner?: { site?: Site } }): Frame | undefined {
  const own = h.site && h.site.user >= 0 ? h.site.frames[h.site.user] : undefined;
  const o = h.owner?.site && h.owner.site.user >= 0 ? h.owner.site.frames[h.owner.site.user] : undefined;
  if (o && isUserFile(o.file)) return o;
  if (own && isUserFile(own.file)) return own;
  return own ?? userFrame(h.site) ?? userFrame(h.owner?.site);
}

/** The frame to show for a site: the first user frame, else the first frame. */
export function userFrame(site: Site | undefined): Frame | undefined {
  if (!site || !Array.isArray(site.frames) || site.frames.length === 0) return undefined;
  return site.frames[site.user >= 0 && site.user < site.frames.length ? site.user : 0];
}

/**
 * The one way a frame is written: "src/server.ts:12:3", relative to `cwd` (the workspace)
 * when the file lies inside it; "unknown site" when there is none.
 */
export function formatFrame(f: Frame | undefined, cwd?: string): string {
  if (!f) return 'unknown site';
  return `${relativePath(f.file, cwd)}:${f.line}:${f.col}`;
}

/** "at fn (src/server.ts:12:3)" or "at src/server.ts:12:3". */
export function formatFrameLine(f: Frame, cwd?: string): string {
  const loc = formatFrame(f, cwd);
  return f.fn ? `at ${f.fn} (${loc})` : `at ${loc}`;
}

function fileUrlToPath(file: string): string {
  if (!file.startsWith('file://')) return file;
  let p = file.slice('file://'.length);
  // file:///C:/x → C:/x
  if (/^\/[A-Za-z]:\//.test(p)) p = p.slice(1);
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

/**
 * A file path relative to cwd when it lies inside cwd ("src/server.ts"), else unchanged.
 * Accepts `file://` URLs (ESM stack frames) and Windows separators. `node:` and other
 * non-file specifiers come back as they are.
 */
export function relativePath(file: string, cwd?: string): string {
  const p = fileUrlToPath(file);
  if (!cwd) return p;
  const norm = (s: string) => s.replace(/\\/g, '/').replace(/\/+$/, '');
  const base = norm(cwd);
  const np = p.replace(/\\/g, '/');
  if (base === '') return p;
  const ci = /^[A-Za-z]:\//.test(base); // Windows paths compare case-insensitively
  const eq = (a: string, b: string) => (ci ? a.toLowerCase() === b.toLowerCase() : a === b);
  if (eq(np, base)) return '.';
  if (np.length > base.length && eq(np.slice(0, base.length), base) && np[base.length] === '/') {
    return np.slice(base.length + 1);
  }
  return p;
}
