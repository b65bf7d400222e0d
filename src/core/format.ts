/**
 * Small formatting helpers for the exporters and the CLI: sites, exits, the signal plan, bytes.
 * Durations and frames are written by src/shared/duration.ts and src/shared/frames.ts.
 */
import { formatFrame, userFrame, type Frame, type Site } from '../shared/frames';
import { formatDuration } from '../shared/duration';
import type { ProcessInfo, SignalPlan, SignalWhen } from '../shared/trace';

/** Byte sizes with binary units: "512 B", "1.5 KiB", "20 MiB". */
export function formatBytes(n: number | undefined | null): string {
  if (n === undefined || n === null || !Number.isFinite(n)) return '–';
  const sign = n < 0 ? '-' : '';
  let v = Math.abs(n);
  if (v < 1024) return `${sign}${Math.round(v)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const digits = v < 10 ? 1 : 0;
  let text = v.toFixed(digits);
  // 1023.7 KiB rounds to "1024 KiB": move up a unit instead.
  if (Number(text) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
    text = v.toFixed(1);
  }
  return `${sign}${text.replace(/\.0$/, '')} ${units[u]}`;
}

/** True for frames in node internals, node_modules or the tool itself. */
export function isInternalFrame(f: Frame): boolean {
  const file = f.file.replace(/\\/g, '/');
  return file.startsWith('node:') || file.startsWith('internal/') || file.includes('/node_modules/') || (!file.includes('/') && !file.includes('.'));
}

/** "src/server.ts:12:3" for a site (its first user frame), relative to cwd; "unknown site" without one. */
export function formatSite(site: Site | undefined, cwd?: string): string {
  return formatFrame(userFrame(site), cwd);
}

/**
 * Up to `max` user frames of a site, starting at its first user frame and skipping internal
 * frames after it. Without a user frame, the first `max` frames.
 */
export function userFrames(site: Site | undefined, max = 5): Frame[] {
  if (!site || !Array.isArray(site.frames)) return [];
  if (site.user < 0 || site.user >= site.frames.length) return site.frames.slice(0, max);
  return site.frames
    .slice(site.user)
    .filter((f, i) => i === 0 || !isInternalFrame(f))
    .slice(0, max);
}

/** "exit code 0", "killed by SIGKILL", "still running". */
/** ended: the process is known to be gone, though not how (no exit report, no signal from the tool). */
export function formatExit(exit: ProcessInfo['exit'] | undefined, ended = false): string {
  if (!exit) return ended ? 'ended (exit status not seen)' : 'still running';
  if (exit.signal) return `killed by ${exit.signal}`;
  if (exit.code === null || exit.code === undefined) return 'exited (no code)';
  return `exit code ${exit.code}`;
}

/** When the first signal is sent, in words. */
export function describeWhen(when: SignalWhen | undefined): string {
  if (!when) return 'unknown';
  switch (when.mode) {
    case 'listening':
      return `${formatDuration(when.delayMs)} after the service starts listening (or after ${formatDuration(when.timeoutMs)} if it never does)`;
    case 'after':
      return `${formatDuration(when.ms)} after spawn`;
    case 'never':
      return 'never (the tool sends no signal)';
    default:
      return 'unknown';
  }
}

/** The signal plan as short lines for people. */
export function describePlan(plan: SignalPlan | undefined): string[] {
  if (!plan) return ['No signal plan recorded.'];
  const lines: string[] = [];
  if (plan.when?.mode === 'never') lines.push('Signal: none sent by the tool');
  else lines.push(`Signal: ${plan.signal}, ${describeWhen(plan.when)}`);
  if (plan.second) lines.push(`Second signal: ${plan.second.signal}, ${formatDuration(plan.second.afterMs)} after the first`);
  if (plan.when?.mode !== 'never') lines.push(`Grace period: SIGKILL ${formatDuration(plan.graceMs)} after the first signal`);
  lines.push(`Delivery: ${plan.delivery === 'group' ? 'the whole process group (like Ctrl+C in a terminal)' : 'the main process only (like Kubernetes or docker stop)'}`);
  return lines;
}

/** Cuts text to n characters with an ellipsis. */
export function truncate(s: string, n: number): string {
  if (s.length <= n) return s;
  return n <= 1 ? s.slice(0, n) : s.slice(0, n - 1) + '…';
}
