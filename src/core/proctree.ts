/**
 * The process tree of a run, read from /proc. The launcher starts the service in a new session
 * (setsid), so every descendant shares the session id = main pid even after it has been
 * re-parented to init: that is how orphans are found after the main process is gone.
 * On platforms without /proc, `ps` is used for the same fields.
 */
import * as fs from 'fs';
import { execFileSync } from 'child_process';

export interface ProcEntry {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  state: string;
  command: string;
}

const hasProc = fs.existsSync('/proc/self/stat');

function readStat(pid: number, onlySession?: number): ProcEntry | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    // comm may contain spaces and parens: fields after the last ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const rest = stat.slice(close + 2).split(' ');
    const entry: ProcEntry = { pid, state: rest[0], ppid: +rest[1], pgid: +rest[2], sid: +rest[3], command: comm };
    // The command line only for the run's own processes: a scan reads every process's stat.
    if (onlySession !== undefined && entry.sid !== onlySession) return entry;
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1');
      if (cmdline) entry.command = cmdline.replace(/\0+$/, '').split('\0').join(' ');
    } catch {}
    return entry;
  } catch {
    return undefined;
  }
}

/** All live (non-zombie) processes of a session. */
export function sessionMembers(sid: number): ProcEntry[] {
  if (hasProc) {
    const out: ProcEntry[] = [];
    for (const name of fs.readdirSync('/proc')) {
      const pid = Number(name);
      if (!Number.isInteger(pid) || pid <= 0) continue;
      const e = readStat(pid, sid);
      if (e && e.sid === sid && e.state !== 'Z' && e.state !== 'X') out.push(e);
    }
    return out;
  }
  try {
    const text = execFileSync('ps', ['-A', '-o', 'pid=,ppid=,pgid=,sess=,stat=,command='], { encoding: 'utf8' });
    return text
      .split('\n')
      .map((l) => l.trim().match(/^(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/))
      .filter((m): m is RegExpMatchArray => !!m)
      .map((m) => ({ pid: +m[1], ppid: +m[2], pgid: +m[3], sid: +m[4], state: m[5][0], command: m[6] }))
      .filter((e) => e.sid === sid && e.state !== 'Z');
  } catch {
    return [];
  }
}

/**
 * The run's live processes: the session's members and every descendant of them or of `roots`,
 * so a process that started a session of its own (dumb-init's child, a daemon calling setsid)
 * still belongs to the run while its parent chain leads back to it.
 */
export function runMembers(sid: number, roots: Iterable<number> = []): ProcEntry[] {
  if (!hasProc) return sessionMembers(sid);
  const all: ProcEntry[] = [];
  for (const name of fs.readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const e = readStat(pid, sid);
    if (e && e.state !== 'Z' && e.state !== 'X') all.push(e);
  }
  const inRun = new Set<number>(roots);
  inRun.add(sid);
  for (const e of all) if (e.sid === sid) inRun.add(e.pid);
  // Parents before children is not guaranteed in /proc order: repeat until nothing is added.
  for (let changed = true, rounds = 0; changed && rounds < 32; rounds++) {
    changed = false;
    for (const e of all) {
      if (!inRun.has(e.pid) && inRun.has(e.ppid)) {
        inRun.add(e.pid);
        changed = true;
      }
    }
  }
  // Members outside the session were read without their command line: read it now.
  return all.filter((e) => inRun.has(e.pid)).map((e) => (e.sid === sid ? e : (readStat(e.pid) ?? e)));
}

export function processInfo(pid: number): ProcEntry | undefined {
  return hasProc ? readStat(pid) : sessionMembers(-1).find((e) => e.pid === pid);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  const e = hasProc ? readStat(pid) : undefined;
  return !e || (e.state !== 'Z' && e.state !== 'X');
}

function hexAddress(hex: string): string {
  if (hex.length === 8) return [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.');
  // IPv6: four 32-bit words, each in host (little-endian) order.
  const bytes: string[] = [];
  for (let w = 0; w < 4; w++) for (const i of [3, 2, 1, 0]) bytes.push(hex.slice(w * 8 + i * 2, w * 8 + i * 2 + 2));
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(parseInt(bytes[i] + bytes[i + 1], 16).toString(16));
  const v6 = groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
  return `[${v6}]`;
}

/**
 * The first TCP address one of these processes listens on, seen from outside through /proc
 * (for a service the preload cannot report from). Linux only; undefined elsewhere or when none.
 */
export function listeningAddress(pids: number[]): string | undefined {
  if (!hasProc) return undefined;
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]);
      } catch {}
    }
  }
  if (!inodes.size) return undefined;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(table, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // st 0A is LISTEN; field 9 is the socket's inode.
      if (f.length < 10 || f[3] !== '0A' || !inodes.has(f[9])) continue;
      const [addr, port] = f[1].split(':');
      return `${hexAddress(addr)}:${parseInt(port, 16)}`;
    }
  }
  return undefined;
}
