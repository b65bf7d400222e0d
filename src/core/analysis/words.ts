/** Words the analysis writes with: counts, shares of the grace period, where a handle came from. */
import type { HandleInfo } from '../../shared/wire';

export function pct(part: number, whole: number): string {
  if (!whole) return '';
  const p = (part / whole) * 100;
  return p < 1 ? '<1%' : `${Math.round(p)}%`;
}

/** How many handles a list stands for: a collapsed entry ("6 × setTimeout …") counts as its members. */
export function handleCount(hs: HandleInfo[]): number {
  let n = 0;
  for (const h of hs) n += Number(h.details?.count ?? 1);
  return n;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
