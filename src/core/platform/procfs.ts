/**
 * The few /proc reads the platform modes need, zombies included (proctree.ts leaves them out):
 * one pass over /proc/<pid>/stat, a process's signal masks and its PID-namespace ids.
 * Linux only; every function returns "nothing" where /proc is missing.
 */
import * as fs from 'fs';

export interface ProcStat {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  /** R, S, D, Z, T, X… */
  state: string;
  /** The kernel's short name (comm), available for zombies too. */
  comm: string;
}

export function readProcStat(pid: number): ProcStat | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const rest = stat.slice(close + 2).split(' ');
    return { pid, state: rest[0], ppid: +rest[1], pgid: +rest[2], sid: +rest[3], comm };
  } catch {
    return undefined;
  }
}

/** Every process's stat, zombies included. */
export function allProcStats(): ProcStat[] {
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const out: ProcStat[] = [];
  for (const name of names) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const s = readProcStat(pid);
    if (s) out.push(s);
  }
  return out;
}

export function readCmdline(pid: number): string | undefined {
  try {
    const c = fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1');
    return c ? c.replace(/\0+$/, '').split('\0').join(' ') : undefined;
  } catch {
    return undefined;
  }
}

export interface SignalMasks {
  /** Signals with a handler function (SigCgt). */
  caught: bigint;
  /** Blocked signals (SigBlk): the kernel queues them even for a namespace's init. */
  blocked: bigint;
  /** Ignored signals (SigIgn). */
  ignored: bigint;
}

function statusText(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return undefined;
  }
}

function field(text: string, name: string): string | undefined {
  const m = new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(text);
  return m ? m[1].trim() : undefined;
}

/** SigCgt, SigBlk and SigIgn of a process (the whole process: every thread's mask is alike for Node's main thread). */
export function signalMasks(pid: number): SignalMasks | undefined {
  const text = statusText(pid);
  if (!text) return undefined;
  const hex = (n: string) => BigInt('0x' + (field(text, n) || '0'));
  return { caught: hex('SigCgt'), blocked: hex('SigBlk'), ignored: hex('SigIgn') };
}

/** The bit of a signal number in a /proc mask (bit n-1 for signal n). */
export function hasSignal(mask: bigint, signo: number): boolean {
  return signo > 0 && ((mask >> BigInt(signo - 1)) & 1n) === 1n;
}

/** NSpid: the pid in each PID namespace the process is in, outermost (this /proc's) first. */
export function nsPids(pid: number): number[] | undefined {
  const text = statusText(pid);
  const v = text && field(text, 'NSpid');
  return v ? v.split(/\s+/).map(Number) : undefined;
}

/** The PID namespace a process is in, as "pid:[inode]". */
export function pidNamespaceOf(pid: number): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

/** rt_sigtimedwait's number on the architectures Node ships for Linux. */
const SIGTIMEDWAIT: Record<string, number> = { x64: 128, arm64: 137, ia32: 177, arm: 177, ppc64: 176, s390x: 249, riscv64: 137 };

/**
 * The signals a process is waiting for in sigtimedwait(2)/sigwait(3), as tini and dumb-init do:
 * while it waits the kernel shows them unblocked (SigBlk 0) but still queues them (they are in
 * its saved mask), so they reach it even as PID 1. Read from /proc/PID/syscall (the set's
 * address) and /proc/PID/mem; undefined when not waiting, or not readable (not ours).
 */
export function waitedSignals(pid: number): bigint | 'unreadable' | undefined {
  let line: string;
  try {
    line = fs.readFileSync(`/proc/${pid}/syscall`, 'latin1').trim();
  } catch {
    try {
      return /sigtimedwait/.test(fs.readFileSync(`/proc/${pid}/wchan`, 'latin1')) ? 'unreadable' : undefined;
    } catch {
      return 'unreadable';
    }
  }
  const parts = line.split(' ');
  if (Number(parts[0]) !== SIGTIMEDWAIT[process.arch]) return undefined;
  const addr = BigInt(parts[1]);
  let fd: number | undefined;
  try {
    fd = fs.openSync(`/proc/${pid}/mem`, 'r');
    const buf = Buffer.alloc(8);
    if (fs.readSync(fd, buf, 0, 8, Number(addr)) !== 8) return 'unreadable';
    return buf.readBigUInt64LE(0);
  } catch {
    return 'unreadable';
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
