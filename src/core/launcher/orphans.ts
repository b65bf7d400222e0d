/**
 * After the main process exits: child processes that outlived it are stopped (SIGTERM, SIGKILL
 * a second later) and reported as orphans; then every process's end is settled from what it
 * reported and what the tool sent it.
 */
import * as fs from 'fs';
import { isAlive, type ProcEntry } from '../proctree';
import { redactArgv } from '../redact';
import type { LauncherEvent, ProcessInfo, TraceEvent } from '../../shared/trace';
import { monoMs } from './clock';

const ORPHAN_TERM_WAIT_MS = 1000;
const CONNECT_WAIT_MS = 1000;

/**
 * The survivors that carry this run's preload (its token in their environment) and are still
 * alive, once each has connected or CONNECT_WAIT_MS has passed: a helper spawned just before
 * the main process exited may still be starting, and the preload connects only after its main
 * module ran. Those that never connect are stopped without a snapshot, as before.
 */
export async function connectedSurvivors(survivors: ProcEntry[], token: string, connected: () => number[]): Promise<number[]> {
  const traced = survivors.map((s) => s.pid).filter((pid) => carriesToken(pid, token));
  const until = monoMs() + CONNECT_WAIT_MS;
  for (;;) {
    const now = connected();
    const waiting = traced.filter((pid) => !now.includes(pid) && isAlive(pid));
    if (waiting.length === 0 || monoMs() >= until) return survivors.map((s) => s.pid).filter((pid) => now.includes(pid));
    await new Promise((r) => setTimeout(r, 20));
  }
}

function carriesToken(pid: number, token: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'latin1').includes(token);
  } catch {
    return false;
  }
}

export interface OrphanHost {
  now(): number;
  event(e: LauncherEvent): void;
  /** Records the signal the tool sent a process. */
  deliver(pid: number, signal: string): void;
  known(pid: number): ProcessInfo | undefined;
  ended(pid: number): void;
}

export async function stopOrphans(survivors: ProcEntry[], host: OrphanHost): Promise<void> {
  for (const s of survivors) {
    // Recorded when it is signalled: what the orphan does next (its SIGTERM listener, its exit)
    // follows the tool's cleanup in the trace, as it did in time.
    const known = host.known(s.pid);
    host.event({ kind: 'orphan', t: host.now(), pid: s.pid, ppid: known?.ppid ?? s.ppid, command: known?.command || redactArgv(s.command.split(' ')).join(' '), stopped: true });
    try {
      process.kill(s.pid, 'SIGTERM');
    } catch {}
    host.deliver(s.pid, 'SIGTERM');
  }
  const until = monoMs() + ORPHAN_TERM_WAIT_MS;
  while (monoMs() < until && survivors.some((s) => isAlive(s.pid))) await new Promise((r) => setTimeout(r, 20));
  for (const s of survivors) {
    const stillAlive = isAlive(s.pid);
    if (stillAlive) {
      try {
        process.kill(s.pid, 'SIGKILL');
      } catch {}
      host.deliver(s.pid, 'SIGKILL');
    }
    host.ended(s.pid);
  }
}

/**
 * Every process's end, not only the main one's (whose exit status the launcher waits for):
 * a traced process reports its exit code itself; one that ended without that report was ended
 * by a signal, the one the tool sent it (`delivered`); SIGKILL from the tool ends anything.
 */
export function settleExits(events: TraceEvent[], procs: Iterable<ProcessInfo>, delivered: Map<number, string>, event: (e: LauncherEvent) => void): void {
  const reported = new Map<number, { t: number; code: number }>();
  for (const e of events) if (e.kind === 'exit' && !reported.has(e.pid)) reported.set(e.pid, { t: e.t, code: e.code });
  for (const p of procs) {
    if (p.exit || p.end === undefined) continue;
    const r = reported.get(p.pid);
    const sent = delivered.get(p.pid);
    let exit: ProcessInfo['exit'];
    if (r) {
      exit = { code: r.code, signal: null };
      p.end = Math.min(p.end, r.t);
    } else if (sent === 'SIGKILL' || (sent && p.traced)) exit = { code: null, signal: sent };
    if (!exit) continue;
    p.exit = exit;
    event({ kind: 'process-exit', t: p.end, pid: p.pid, code: exit.code, signal: exit.signal });
  }
}
