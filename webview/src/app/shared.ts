/** What the app and its parts share: the saved view state, a located item, zoom steps, "after the signal" times. */
import type { Trace } from '../../../src/shared/trace';
import type { Model, Track } from '../model';
import { fmtDur, displayText } from '../util';

export interface SavedState {
  v: 1;
  trace: string;
  t0: number;
  t1: number;
  follow: boolean;
  sel: string | null;
  scrollTop: number;
  finding: number;
}

export type Loc = { tr: Track; i: number };

export const ZOOM_STEP = 1.6;
/** Live events whose marker must reach the item layer in the frame that draws it. */
export const URGENT_KINDS = new Set(['signal', 'signal-sent', 'kill-sent', 'deadline', 'process-exit', 'exit']);

export function rel(m: Model, t: number): string {
  const { t: s, name } = m.signalRef();
  if (s !== s) return '';
  const d = t - s;
  return `  (${d >= 0 ? '+' : ''}${fmtDur(Math.abs(d))} ${d >= 0 ? 'after' : 'before'} ${displayText(name, 60)})`;
}

export function traceKeyOf(t: Trace): string {
  const m = t.meta;
  return `${m?.createdAt ?? ''}|${(m?.command ?? []).join(' ')}|${m?.mainPid ?? ''}`;
}
