/**
 * The verdict as a short headline ("Killed at the 3 s deadline: 1 leak kept it alive") and as
 * a shorter phrase for CodeLens and the status bar ("killed at 3 s deadline: 1 leak").
 * Read from the analysis (exitReason, leaks, signalToExitMs, serviceExit, findings); it never
 * recomputes a leak. Browser-safe: the viewer, the extension host and the Markdown export use it.
 */
import type { Analysis } from './trace';
import { formatDuration } from './duration';

export type Tone = 'ok' | 'warn' | 'bad';

export interface Headline {
  /** Sentence case, for the panel: "Graceful in 347 ms". */
  text: string;
  /** Lower case, for a CodeLens: "graceful in 347 ms". */
  short: string;
  tone: Tone;
}

/** 347 ms, 3 s, 2.5 s, 1.5 s, 45 s: two significant digits, what a headline needs. */
export function fmtShort(ms: number | undefined): string {
  return formatDuration(ms, 2);
}

function plural(n: number, one: string, many = one + 's'): string {
  return `${n} ${n === 1 ? one : many}`;
}

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

export function headline(a: Analysis | undefined, opts: { signal?: string; complete?: boolean } = {}): Headline {
  if (!a) return { text: opts.complete === false ? 'Incomplete trace' : 'No analysis', short: 'no analysis', tone: 'warn' };
  const leaks = a.leaks?.length ?? 0;
  const has = (code: string) => a.findings?.some((f) => f.code === code) ?? false;
  const sig = opts.signal ?? 'SIGTERM';
  const exitCode = a.serviceExit?.code;
  const mk = (short: string, tone: Tone, text = cap(short)): Headline => ({ text, short, tone });
  if (opts.complete === false) return mk(`stopped early${leaks ? `: ${plural(leaks, 'handle')} alive` : ''}`, 'warn');
  if (has('signal-not-delivered')) return mk(`${sig} never reached the service`, 'bad');
  switch (a.exitReason) {
    case 'graceful': {
      const base = `graceful in ${fmtShort(a.signalToExitMs)}`;
      if (has('orphans')) return mk(`${base}, but child processes outlived it`, 'warn');
      return leaks ? mk(`${base}: ${plural(leaks, 'leak')}`, 'warn') : mk(base, 'ok');
    }
    case 'killed-at-deadline': {
      const grace = fmtShort(a.graceMs);
      if (!leaks) return { text: `Killed at the ${grace} deadline`, short: `killed at ${grace} deadline`, tone: 'bad' };
      return { text: `Killed at the ${grace} deadline: ${plural(leaks, 'leak')} kept it alive`, short: `killed at ${grace} deadline: ${plural(leaks, 'leak')}`, tone: 'bad' };
    }
    case 'forced-exit':
      return { text: `process.exit() hid ${plural(leaks || 1, 'leak')}`, short: `process.exit() over ${plural(leaks || 1, 'leak')}`, tone: 'warn' };
    case 'killed-by-signal':
      if (has('no-handler')) return mk(`no ${sig} handler: died at once`, 'bad', `No ${sig} handler: died at once`);
      if (a.serviceExit?.signal === 'SIGKILL') return mk(`killed by hand${leaks ? `: ${plural(leaks, 'leak')}` : ''}`, 'bad');
      return mk(`died by ${a.serviceExit?.signal ?? 'a signal'} after ${fmtShort(a.signalToExitMs)}`, 'bad');
    case 'crashed':
      return has('shutdown-error')
        ? mk(`crashed during shutdown${exitCode ? ` (exit ${exitCode})` : ''}`, 'bad')
        : mk(`exited with code ${exitCode ?? '?'}${a.signalToExitMs !== undefined ? ` after ${fmtShort(a.signalToExitMs)}` : ''}`, 'bad');
    case 'exited-before-signal':
      return mk('exited before the signal', 'warn');
    case 'still-running':
      return mk(`stopped early${leaks ? `: ${plural(leaks, 'handle')} alive` : ''}`, 'warn');
    case 'unknown':
    default:
      // 'unknown', or a reason from a newer writer.
      return mk('no shutdown observed', 'warn');
  }
}
