/**
 * The value grammar of the command line: usage errors, durations, signals and counts. Every
 * option of every command reads its values through these, so one spelling means one thing.
 */
import * as os from 'os';
import { parseDuration as parseDurationText, DURATION_EXAMPLES } from '../shared/duration';

/** A mistake in the command line: printed as one line, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** "1500", "1500ms", "1.5s", "2m" → ms (the grammar shared with the extension's settings). */
export function parseDuration(v: string, opt: string): number {
  const ms = parseDurationText(v);
  if (ms === undefined) throw new UsageError(`${opt}: not a duration: ${v} (use e.g. ${DURATION_EXAMPLES})`);
  return ms;
}

/** "10", "10s", "1m" → ms; a bare number is seconds, as Docker, systemd and the Pod spec read it. */
export function parseSeconds(v: string, opt: string): number {
  return /^\d+(\.\d+)?$/.test(v.trim()) ? Math.round(parseFloat(v) * 1000) : parseDuration(v, opt);
}

/** terminationGracePeriodSeconds: "30", "30s", "1m" → 30, 30, 60; whole seconds ≥ 1. */
export function wholeSeconds(v: string, opt: string): number {
  const ms = /^\d+$/.test(v.trim()) ? parseInt(v, 10) * 1000 : parseDuration(v, opt);
  if (ms % 1000 !== 0 || ms < 1000) throw new UsageError(`${opt}: whole seconds of at least 1, as in the Pod spec (got ${v})`);
  return ms / 1000;
}

/** systemd's own spelling: "90", "90s", "1min 30s" ("infinity" is refused). */
export function systemdSeconds(v: string, opt: string): number {
  const t = v.trim().replace(/min\b/g, 'm').replace(/sec\b/g, 's');
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(parseFloat(t) * 1000);
  let ms = 0;
  for (const part of t.split(/\s+/)) ms += parseDuration(part, opt);
  return ms;
}

/** "term", "SIGTERM", "sigterm" → "SIGTERM"; only signals this platform knows. */
export function signalName(v: string, opt: string): string {
  const s = v.toUpperCase().startsWith('SIG') ? v.toUpperCase() : `SIG${v.toUpperCase()}`;
  if (!/^SIG[A-Z0-9]+$/.test(s) || !(s in os.constants.signals)) throw new UsageError(`${opt}: unknown signal ${v}`);
  return s;
}

/** A whole number ≥ 0, at most `max`. */
export function wholeNumber(v: string, opt: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(v.trim())) throw new UsageError(`${opt}: not a whole number: ${v}`);
  const n = parseInt(v, 10);
  if (n > max) throw new UsageError(`${opt}: at most ${max} (got ${n})`);
  return n;
}

/** One of a fixed set of words; the message lists them as the option's help does. */
export function oneOf<T extends string>(v: string, allowed: readonly T[], message: (got: string) => string): T {
  if (!(allowed as readonly string[]).includes(v)) throw new UsageError(message(v));
  return v as T;
}
