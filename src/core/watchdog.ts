/**
 * dist/watchdog.js: run by the watchdog shell (journal.ts) when the launcher died mid-run.
 * `node watchdog.js <spool dir>`:
 *  1. stops what is left of the run: every live process of the service's session (and the run's
 *     helpers), SIGTERM first, SIGKILL after a second, as the launcher stops orphans;
 *  2. rebuilds the trace from the journal and the preload's spools, marked incomplete, and
 *     writes it where the run would have (or to the temp directory, and says where);
 *  3. removes the spool directory.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { sessionMembers, isAlive, type ProcEntry } from './proctree';
import { readJournal, type JournalPids, type JournalStart } from './journal';
import { rebuildTrace, writeTrace, type Rescue } from './launcher';

const TERM_WAIT_MS = 1000;
const KILL_WAIT_MS = 1000;
const HELPER_WAIT_MS = 3000;

function monoMs(): number {
  const t = process.hrtime();
  return t[0] * 1e3 + t[1] / 1e6;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** To the tool's stderr, which the watchdog shell passed as fd 3. */
function say(line: string): void {
  try {
    fs.writeSync(3, `shutdown-trace: ${line}\n`);
  } catch {}
}

/** SIGTERM to every live process of the sessions (and the helpers), SIGKILL to what is left. */
export async function stopRun(sessions: number[], helpers: number[]): Promise<Rescue['stopped']> {
  // The run's helpers first (the ptys' script, a preStop hook): script gives the terminal its modes
  // back at once instead of when the service's last process is gone. Not part of the service's trace.
  for (const pid of helpers) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {}
  }
  const found = new Map<number, ProcEntry>();
  const scan = () => {
    for (const sid of sessions) for (const m of sessionMembers(sid)) if (m.pid !== process.pid) found.set(m.pid, m);
  };
  scan();
  const order = [...found.values()];
  const stopped: Rescue['stopped'] = [];
  const signalled = new Map<number, 'SIGTERM' | 'SIGKILL'>();
  const send = (pid: number, sig: 'SIGTERM' | 'SIGKILL') => {
    try {
      process.kill(pid, sig);
      signalled.set(pid, sig);
    } catch {}
  };
  for (const m of order) send(m.pid, 'SIGTERM');
  let until = monoMs() + TERM_WAIT_MS;
  const gone = (pid: number) => !isAlive(pid);
  const settle = () => {
    for (const [pid, sig] of signalled) {
      if (stopped.some((s) => s.pid === pid) || !gone(pid)) continue;
      const m = found.get(pid);
      stopped.push({ pid, ppid: m?.ppid ?? 0, command: m?.command ?? '', signal: sig, at: monoMs() });
    }
  };
  while (monoMs() < until) {
    // Children forked while it was being stopped belong to it too.
    const before = found.size;
    scan();
    for (const m of found.values()) if (!signalled.has(m.pid)) send(m.pid, 'SIGTERM');
    settle();
    if (found.size === before && [...signalled.keys()].every(gone)) break;
    await sleep(20);
  }
  for (const pid of signalled.keys()) if (!gone(pid)) send(pid, 'SIGKILL');
  until = monoMs() + KILL_WAIT_MS;
  while (monoMs() < until && ![...signalled.keys()].every(gone)) {
    settle();
    await sleep(20);
  }
  settle();
  // script restores the terminal's modes on its way out, once it has written what the service
  // wrote (TCSADRAIN: as fast as the terminal reads it): a SIGKILL would leave the terminal raw,
  // so only a helper that ignored SIGTERM for a while gets one.
  const helpersUntil = monoMs() + HELPER_WAIT_MS;
  while (monoMs() < helpersUntil && helpers.some((pid) => isAlive(pid))) await sleep(20);
  for (const pid of helpers) {
    if (!isAlive(pid)) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  return stopped;
}

export async function rescue(spoolDir: string): Promise<void> {
  const records = readJournal(spoolDir);
  const start = records.find((r) => r.type === 'start') as JournalStart | undefined;
  const pids = [...records].reverse().find((r) => r.type === 'pids') as JournalPids | undefined;
  const launcherPid = start?.launcherPid ?? 0;
  const stopped = await stopRun(pids?.sessions ?? [], pids?.helpers ?? []);
  let where: string | undefined;
  try {
    const rebuilt = rebuildTrace(spoolDir, { launcherPid, stopped });
    if (rebuilt) {
      const fallback = path.join(os.tmpdir(), `shutdown-trace-${launcherPid || process.pid}.shutdown-trace.json`);
      for (const file of [rebuilt.out, fallback]) {
        if (!file) continue;
        try {
          writeTrace(file, rebuilt.trace);
          where = file;
          break;
        } catch {
          try {
            fs.rmSync(`${file}.tmp-${process.pid}`, { force: true });
          } catch {}
        }
      }
    }
  } catch (e) {
    say(`the run's trace could not be rebuilt: ${(e as Error).message}`);
  }
  try {
    fs.rmSync(spoolDir, { recursive: true, force: true });
  } catch {}
  const what = stopped.length ? `stopped ${stopped.length} process${stopped.length === 1 ? '' : 'es'} of the service` : 'nothing of the service was still running';
  say(`the tool (pid ${launcherPid}) ended before its run did; ${what}; ${where ? `incomplete trace written to ${where}` : 'no trace could be written'}`);
}

if (require.main === module) {
  const dir = process.argv[2];
  // Only a spool directory this tool made: never remove anything else.
  if (dir && /^shutdown-trace-/.test(path.basename(dir)) && fs.existsSync(dir)) {
    rescue(dir).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  }
}
