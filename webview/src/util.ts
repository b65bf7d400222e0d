/**
 * Small helpers: safe DOM building (textContent only — trace data never reaches innerHTML),
 * display text sanitising, time formatting and sorted-array searches.
 */
import { formatDuration } from '../../src/shared/duration';

/** Create an element; `text` goes through textContent. Attributes are set one by one (never `style`). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Record<string, string | number | boolean | undefined> | null,
  ...children: (Node | string | null | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (attrs) {
    for (const k in attrs) {
      const v = attrs[k];
      if (v === undefined || v === false) continue;
      if (k === 'class') e.className = String(v);
      else if (k === 'text') e.textContent = String(v);
      else if (k === 'style') throw new Error('el(): inline style attributes are not allowed (CSP)');
      else e.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return e;
}

export function clear(node: Element): void {
  while (node.firstChild) node.removeChild(node.firstChild);
}

// Bidi overrides/isolates/marks, zero-width characters, BOM, C0/C1 controls (tab and newline kept).
// eslint-disable-next-line no-misleading-character-class -- the class lists invisible characters (variation selectors among them) on purpose
const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb]/g;

/**
 * Text from a trace as it will be shown: invisible or direction-changing characters become
 * visible `<U+202E>` tokens (so a label cannot spoof its own reading order), and long text is
 * cut to `max` characters with a note of how much was left out.
 */
export function displayText(s: unknown, max = 200, oneLine = true): string {
  let str = typeof s === 'string' ? s : s === undefined || s === null ? '' : String(s);
  let cut = 0;
  if (str.length > max) {
    cut = str.length - max;
    str = str.slice(0, max);
    // don't leave half a surrogate pair
    const last = str.charCodeAt(str.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) str = str.slice(0, -1);
  }
  str = str.replace(INVISIBLE, (c) => '<U+' + c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0') + '>');
  if (oneLine) str = str.replace(/\r?\n|\r/g, ' ⏎ ').replace(/\t/g, ' ');
  if (cut > 0) str += `… (+${fmtInt(cut)} chars)`;
  return str;
}

export function fmtInt(n: number): string {
  const s = String(Math.round(n));
  return s.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A duration for people, by the one formatter (src/shared/duration.ts), with a typographic minus; "?" when unknown. */
export function fmtDur(ms: number | undefined): string {
  if (ms === undefined || !isFinite(ms)) return '?';
  return formatDuration(ms).replace(/^-/, '−');
}

function trimZeros(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** A point on the trace clock (ms since spawn) for an axis with the given tick step. */
export function fmtTick(t: number, step: number): string {
  const a = Math.abs(t);
  const sign = t < 0 ? '−' : '';
  if (step >= 60_000 && a >= 60_000) {
    const m = Math.floor(a / 60_000);
    const s = (a - m * 60_000) / 1000;
    return `${sign}${m}m${s ? ' ' + trimZeros(s.toFixed(step % 1000 ? 1 : 0)) + 's' : ''}`;
  }
  if (step >= 100 && a >= 1000) {
    const digits = step >= 1000 ? 0 : step >= 100 ? 1 : 2;
    return `${sign}${trimZeros((a / 1000).toFixed(Math.max(digits, decimals(step / 1000))))} s`;
  }
  if (a === 0) return '0';
  return `${sign}${trimZeros(a.toFixed(decimals(step)))} ms`;
}

function decimals(step: number): number {
  if (step >= 1) return 0;
  return Math.min(6, Math.ceil(-Math.log10(step) - 1e-9));
}

/** An absolute time on the trace clock, for details: "1,234.5 ms". */
export function fmtAt(t: number | undefined): string {
  if (t === undefined || !isFinite(t)) return '—';
  const a = Math.abs(t);
  return (a < 100 ? t.toFixed(2) : a < 10000 ? t.toFixed(1) : fmtInt(t)) + ' ms';
}

/** Index of the first element >= x in a sorted prefix [0, n). */
export function lowerBound(a: ArrayLike<number>, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first element > x in a sorted prefix [0, n). */
export function upperBound(a: ArrayLike<number>, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/** Strip a file:// URL to a path for display (the host still receives the original). */
export function displayPath(file: string): string {
  if (file.startsWith('file://')) {
    try {
      return decodeURIComponent(file.slice(7));
    } catch {
      return file.slice(7);
    }
  }
  return file;
}

export function isInternalFile(file: string): boolean {
  return file.startsWith('node:') || file.startsWith('internal/') || !/[/\\]/.test(file);
}
