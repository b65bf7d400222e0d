/** Colour slots (marks are batched per colour), which slot an item takes, and the level-of-detail thresholds. */
import { K, F } from '../model';
import type { Palette } from '../theme';

// Colour slots used for batching fills.
export const enum C {
  grey,
  blue,
  purple,
  red,
  orange,
  green,
  faint,
  yellow,
  count,
}

export function fillOf(p: Palette, c: number): string {
  switch (c) {
    case C.grey:
      return p.greySoft;
    case C.blue:
      return p.blueSoft;
    case C.purple:
      return p.purpleSoft;
    case C.red:
      return p.redSoft;
    case C.orange:
      return p.orangeSoft;
    case C.green:
      return p.greenSoft;
    case C.yellow:
      return p.yellowSoft;
    default:
      return p.faint;
  }
}
export function strokeOf(p: Palette, c: number): string {
  switch (c) {
    case C.grey:
      return p.grey;
    case C.blue:
      return p.blue;
    case C.purple:
      return p.purple;
    case C.red:
      return p.red;
    case C.orange:
      return p.orange;
    case C.green:
      return p.green;
    case C.yellow:
      return p.yellow;
    default:
      return p.faint;
  }
}

/** Colour slot of a bar or tick. */
export function slot(type: string, k: number, f: number): number {
  if (f & F.LEAK) return C.red;
  switch (k) {
    case K.phase:
      return f & F.BAD ? C.red : f & F.WARN ? C.orange : C.purple;
    case K.listener:
      return f & F.BAD ? C.red : f & F.WARN ? C.orange : C.blue;
    case K.request:
      if (type === 'load' && f & F.TURNED) return C.grey;
      return f & F.BAD ? C.red : f & F.WARN ? C.orange : C.green;
    case K.prestop:
      return f & F.BAD ? C.red : f & F.WARN ? C.orange : C.blue;
    case K.conn:
      return f & F.BAD ? C.red : f & F.WARN ? C.orange : type === 'server' ? C.blue : C.grey;
    case K.handle:
      return f & F.UNREF ? C.faint : C.grey;
    case K.log:
      return f & F.BAD ? C.orange : C.grey;
    case K.process:
      return f & F.WARN ? C.orange : C.grey;
    default:
      return C.grey;
  }
}

export const SPARSE = new Set(['phases', 'listeners', 'server', 'leaks', 'k8s']);
/** Quiet colours first, so warnings and errors end up on top where marks overlap. */
export const FLUSH_ORDER = [C.grey, C.faint, C.green, C.blue, C.purple, C.yellow, C.orange, C.red];
/** Bars at least this wide are drawn one by one (soft fill, edge, label); narrower ones merge. */
export const WIDE_PX = 12;
/** From this many items in view, a row is drawn from its track's level of detail (model/lod.ts). */
export const LOD_MIN_ITEMS = 1500;

/** Index (even) of the first span [s, e] of a sorted, disjoint span list with e >= t. */
export function firstSpanReaching(sp: Float64Array, t: number): number {
  let lo = 0;
  let hi = sp.length / 2;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sp[mid * 2 + 1] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo * 2;
}
