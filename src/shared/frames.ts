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
  if (!site || site.frames.length === 0) return undefined;
  return site.frames[site.user >= 0 ? site.user : 0];
}

export function formatFrame(f: Frame | undefined, cwd?: string): string {
  if (!f) return 'unknown site';
  let file = f.file;
  if (cwd && file.startsWith(cwd + '/')) file = file.slice(cwd.length + 1);
  return `${file}:${f.line}:${f.col}`;
}
