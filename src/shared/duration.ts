/**
 * Durations: the one grammar people type them in (CLI flags, extension settings, input boxes)
 * and the one way they are written back (reports, verdicts, exports, the viewer). Browser-safe.
 */

/**
 * The grammar: a non-negative number with an optional unit, `ms` (the default), `s` or `m`
 * (minutes), in any case, spaces allowed between: "1500", "1500ms", "1.5s", "2m", "45 S".
 */
export const DURATION_GRAMMAR = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/i;

/** What the grammar accepts, for error messages and setting descriptions. */
export const DURATION_EXAMPLES = '500, 500ms, 5s, 1m';

/** Milliseconds for a duration in the grammar above, rounded to whole ms; undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION_GRAMMAR.exec(text);
  if (!m) return undefined;
  const n = parseFloat(m[1]);
  const unit = m[2]?.toLowerCase();
  return Math.round(unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n);
}

/** "1.50" → "1.5", "5.00" → "5", "10" → "10". */
function trimZeros(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/**
 * A duration for people: "0.42 ms", "2.5 ms", "512 ms", "1.5 s", "2.31 s", "12.3 s", "30 s",
 * "2 min 05 s", "1 h 05 min". At most `digits` significant digits in seconds (3; headlines
 * use 2: "45 s"), no trailing zeros. Undefined, NaN and infinite values give "–".
 */
export function formatDuration(ms: number | undefined | null, digits: 2 | 3 = 3): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return '–';
  const sign = ms < 0 ? '-' : '';
  const a = Math.abs(ms);
  if (a < 1) return `${sign}${a === 0 ? '0' : trimZeros(a.toFixed(2))} ms`;
  if (a < 9.95) return `${sign}${trimZeros(a.toFixed(1))} ms`;
  if (Math.round(a) < 1000) return `${sign}${Math.round(a)} ms`;
  const s = a / 1000;
  if (s < 9.995) return `${sign}${trimZeros(s.toFixed(digits - 1))} s`;
  if (s < 59.95) return `${sign}${trimZeros(s.toFixed(digits - 2))} s`;
  const total = Math.round(s);
  const min = Math.floor(total / 60);
  const sec = total % 60;
  if (min < 60) return `${sign}${min} min ${String(sec).padStart(2, '0')} s`;
  const h = Math.floor(min / 60);
  return `${sign}${h} h ${String(min % 60).padStart(2, '0')} min`;
}

/** A time on the trace clock as an offset from spawn: "+2.31 s". */
export function formatOffset(t: number | undefined | null): string {
  if (t === undefined || t === null || !Number.isFinite(t)) return '–';
  return t < 0 ? formatDuration(t) : `+${formatDuration(t)}`;
}

/**
 * A duration in seconds to a tenth, for times the platform itself counts in seconds (Kubernetes'
 * terminationGracePeriodSeconds, preStop sleeps): "0 s", "1.5 s", "30 s". The same digits as
 * formatDuration for whole and tenth seconds; never switches to ms or minutes.
 */
export function formatSeconds(ms: number): string {
  return `${trimZeros((Math.round(ms / 100) / 10).toFixed(1))} s`;
}
