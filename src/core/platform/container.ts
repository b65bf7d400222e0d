/**
 * The service as PID 1 of its own PID namespace, as in a container (pid_namespaces(7)):
 *
 *  - the namespace's init gets only the signals it has a handler for (or blocks and waits for);
 *    others, from inside or from an ancestor namespace, are dropped by the kernel, except SIGKILL
 *    and SIGSTOP from an ancestor;
 *  - when init exits, the kernel SIGKILLs every other process of the namespace;
 *  - orphans are re-parented to init, which must reap them or they stay zombies.
 *
 * Real namespaces: `unshare --pid --fork --mount-proc` (with `--user --map-root-user` when not
 * root, or when root lacks the capability), then `setsid` so PID 1 leads its own session as a
 * container runtime makes it do. Where namespaces are unavailable, an emulation: the launcher
 * reads SigCgt/SigBlk from /proc/PID/status and does not deliver a signal PID 1 would not get,
 * and SIGKILLs the rest of the tree when the main process exits. meta.platform.pid1.mode says which ran.
 *
 * The preload reports its own process.pid, which is a namespace pid here: PidMap turns those
 * into host pids (NSpid in /proc/PID/status) so the trace has one kind of pid.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync, type ChildProcess, type StdioOptions } from 'child_process';
import type { Readable } from 'stream';
import { allProcStats, readCmdline, signalMasks, hasSignal, nsPids, pidNamespaceOf, waitedSignals, type ProcStat } from './procfs';
import type { ContainerOptions, InitProgram, Pid1Meta } from '../../shared/platform';

const SIGNALS = os.constants.signals as Record<string, number>;

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (!dir) continue;
    const full = path.join(dir, cmd);
    try {
      fs.accessSync(full, fs.constants.X_OK);
      if (fs.statSync(full).isFile()) return full;
    } catch {}
  }
  return undefined;
}

export type NamespaceProbe = { ok: true; unshare: string; setsid: string; flags: string[]; userNamespace: boolean } | { ok: false; why: string };

let probed: NamespaceProbe | undefined;

/**
 * Can this user make a PID namespace here? Tries `unshare … true` once per process: as root
 * without, then with, a user namespace; otherwise with one. SHUTDOWN_TRACE_NO_NAMESPACES=1
 * forces the emulation (tests, or a machine where unshare must not be used).
 */
export function probeNamespaces(): NamespaceProbe {
  if (probed) return probed;
  if (process.platform !== 'linux') return (probed = { ok: false, why: `PID namespaces are a Linux feature (this is ${process.platform})` });
  if (process.env.SHUTDOWN_TRACE_NO_NAMESPACES === '1') return (probed = { ok: false, why: 'disabled by SHUTDOWN_TRACE_NO_NAMESPACES=1' });
  const unshare = which('unshare');
  const setsid = which('setsid');
  if (!unshare || !setsid) return (probed = { ok: false, why: `${!unshare ? 'unshare' : 'setsid'} (util-linux) is not on PATH` });
  const base = ['--pid', '--fork', '--mount-proc'];
  const userns = ['--user', '--map-root-user', ...base];
  const tries = process.getuid?.() === 0 ? [base, userns] : [userns];
  let why = '';
  for (const flags of tries) {
    const r = spawnSync(unshare, [...flags, 'true'], { encoding: 'utf8', timeout: 5000 });
    if (r.status === 0) return (probed = { ok: true, unshare, setsid, flags, userNamespace: flags.includes('--user') });
    why = (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').pop()!;
  }
  return (probed = { ok: false, why: `unshare failed: ${why}` });
}

/** Test hook: forget the probe (the environment changed). */
export function resetNamespaceProbe(): void {
  probed = undefined;
}

export function initPath(init: InitProgram): string {
  const p = which(init);
  if (!p) throw new Error(`--init ${init}: ${init} is not on PATH (Debian: apt-get install ${init})`);
  return p;
}

/**
 * The command with an init in front: `tini -- cmd` (tini registers as a subreaper with -s when
 * it will not be PID 1, in the emulation), `dumb-init cmd`.
 */
export function withInit(init: InitProgram, command: string[], realPid1: boolean): string[] {
  if (init === 'tini') return [initPath('tini'), ...(realPid1 ? [] : ['-s']), '--', ...command];
  return [initPath('dumb-init'), ...command];
}

/** Host pid ↔ pid inside the namespace, from NSpid. */
export class PidMap {
  private readonly toHostMap = new Map<number, number>();
  private readonly toNsMap = new Map<number, number>();
  /** Index of this namespace's pid in an NSpid line. */
  private level = 1;

  constructor(
    private readonly nsLink: string | undefined,
    private readonly initHostPid: number,
    private readonly parentHostPid: number,
  ) {
    const pids = nsPids(initHostPid);
    if (pids && pids.length >= 2) this.level = pids.length - 1;
    this.learn(initHostPid);
  }

  /** Reads a host process's NSpid and remembers its pid in the namespace. */
  learn(hostPid: number): number | undefined {
    const known = this.toNsMap.get(hostPid);
    if (known !== undefined) return known;
    const pids = nsPids(hostPid);
    if (!pids || pids.length <= this.level) return undefined;
    if (this.nsLink && hostPid !== this.initHostPid && pids.length === this.level + 1 && pidNamespaceOf(hostPid) !== this.nsLink) return undefined;
    const ns = pids[this.level];
    this.toHostMap.set(ns, hostPid);
    this.toNsMap.set(hostPid, ns);
    return ns;
  }

  toHost(nsPid: number): number | undefined {
    if (nsPid === 0) return this.parentHostPid;
    const known = this.toHostMap.get(nsPid);
    if (known !== undefined) return known;
    // Not seen yet (it connected before the next poll): look for it.
    for (const s of allProcStats()) {
      if (this.toNsMap.has(s.pid)) continue;
      if (this.learn(s.pid) === nsPid) return s.pid;
    }
    return undefined;
  }

  toNs(hostPid: number): number | undefined {
    return this.toNsMap.get(hostPid) ?? this.learn(hostPid);
  }

  isMember(hostPid: number): boolean {
    return this.toNs(hostPid) !== undefined;
  }
}

/**
 * Does a namespace's init get this signal? The kernel drops a signal for init unless init has a
 * handler for it (SigCgt), or blocks it (SigBlk) or waits for it in sigtimedwait — blocked
 * signals are queued, whatever their handler (kernel/signal.c sig_ignored; pid_namespaces(7)).
 */
export function initReceives(pid: number, signal: string): { receives: boolean; caught: boolean; blocked: boolean; known: boolean } {
  const no = SIGNALS[signal];
  if (signal === 'SIGKILL' || signal === 'SIGSTOP') return { receives: true, caught: false, blocked: false, known: true };
  const m = signalMasks(pid);
  if (!m || !no) return { receives: true, caught: false, blocked: false, known: false };
  const caught = hasSignal(m.caught, no);
  let blocked = hasSignal(m.blocked, no);
  if (!caught && !blocked) {
    const w = waitedSignals(pid);
    if (w === 'unreadable') return { receives: true, caught: false, blocked: false, known: false };
    if (w !== undefined) blocked = hasSignal(w, no);
  }
  return { receives: caught || blocked, caught, blocked, known: true };
}

export interface Member {
  stat: ProcStat;
  command: string;
}

/**
 * One run's PID 1: how it is launched, where its host pid is, how signals reach it, and the
 * processes of its namespace (or, emulated, its session and their descendants).
 */
export class Pid1Runtime {
  readonly meta: Pid1Meta;
  hostPid = 0;
  map: PidMap | undefined;
  private runtimeStderr = '';
  private runtimeStderrDone: Promise<void> = Promise.resolve();
  private readonly probe: NamespaceProbe;

  constructor(
    readonly opts: ContainerOptions,
    command: string[],
  ) {
    this.probe = probeNamespaces();
    const init = opts.init;
    this.meta = this.probe.ok
      ? { mode: 'namespace', userNamespace: this.probe.userNamespace, ...(init ? { init } : {}), command: command.join(' ') }
      : { mode: 'emulated', why: this.probe.why, ...(init ? { init } : {}), command: command.join(' ') };
  }

  get namespaced(): boolean {
    return this.probe.ok;
  }

  /** What to spawn (detached, as the launcher always does) instead of the command. */
  spawnSpec(exe: string, args: string[], stdio: StdioOptions): { file: string; args: string[]; stdio: StdioOptions } {
    const argv = [exe, ...args];
    if (!this.probe.ok) return { file: exe, args, stdio };
    // unshare's own complaints go to fd 2 (ours); the service's stderr is fd 3, moved back to 2
    // by a shell that then execs setsid, which execs the command: one process, PID 1, all along.
    const base = Array.isArray(stdio) ? stdio.slice(0, 3) : [stdio, stdio, stdio];
    return {
      file: this.probe.unshare,
      args: [...this.probe.flags, '--', '/bin/sh', '-c', 'exec 2>&3 3>&-; exec "$@"', 'shutdown-trace-pid1', this.probe.setsid, '--', ...argv],
      stdio: [base[0] ?? 'ignore', base[1] ?? 'pipe', 'pipe', base[2] ?? 'pipe'],
    };
  }

  /** The service's stderr stream. */
  serviceStderr(child: ChildProcess): Readable | null {
    if (!this.probe.ok) return child.stderr;
    const own = child.stderr;
    if (own) {
      own.setEncoding('utf8');
      own.on('data', (d: string) => (this.runtimeStderr = (this.runtimeStderr + d).slice(-4096)));
      this.runtimeStderrDone = new Promise((r) => {
        own.once('end', r);
        own.once('close', r);
      });
    }
    return (child.stdio[3] as Readable | null) ?? null;
  }

  /** Finds PID 1's host pid: the process unshare forked. */
  async attach(child: ChildProcess): Promise<number> {
    if (!this.probe.ok) {
      this.hostPid = child.pid!;
      this.meta.hostPid = this.hostPid;
      return this.hostPid;
    }
    const runtime = child.pid!;
    this.meta.runtimePid = runtime;
    const until = Date.now() + 5000;
    let exited = false;
    child.once('exit', () => (exited = true));
    while (Date.now() < until && !exited) {
      const kid = allProcStats().find((s) => s.ppid === runtime);
      if (kid) {
        this.hostPid = kid.pid;
        break;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    if (!this.hostPid) {
      // unshare exited before forking (or never forked): report it as it said.
      this.hostPid = runtime;
      this.meta.hostPid = runtime;
      return runtime;
    }
    this.meta.hostPid = this.hostPid;
    this.map = new PidMap(pidNamespaceOf(this.hostPid), this.hostPid, runtime);
    return this.hostPid;
  }

  /**
   * PID 1's exit status. unshare passes the child's exit code on and re-raises its fatal signal,
   * except SIGKILL, which it cannot raise on itself: it then says so on its own stderr and exits 1.
   */
  async exitStatus(code: number | null, signal: NodeJS.Signals | null): Promise<[number | null, NodeJS.Signals | null, string | undefined]> {
    if (!this.probe.ok || signal) return [code, signal, undefined];
    await Promise.race([this.runtimeStderrDone, new Promise((r) => setTimeout(r, 200))]);
    const said = this.runtimeStderr.trim();
    if (code === 1 && /unshare: (sigprocmask unblock failed|child exit failed)/.test(said)) return [null, 'SIGKILL', undefined];
    return [code, null, said || undefined];
  }

  toHost(nsPid: number): number {
    if (!this.map) return nsPid;
    return this.map.toHost(nsPid) ?? nsPid;
  }

  toNs(hostPid: number): number {
    if (!this.map) return hostPid;
    return this.map.toNs(hostPid) ?? hostPid;
  }

  /**
   * The processes of the container now, zombies included: in a namespace, every process whose
   * NSpid puts it there; emulated, PID 1's session and the descendants of known members.
   */
  members(known: Set<number>): Member[] {
    if (!this.hostPid) return [];
    const stats = allProcStats();
    const inSet = new Set<number>();
    const byPid = new Map(stats.map((s) => [s.pid, s]));
    for (const s of stats) {
      if (s.pid === this.hostPid || s.sid === this.hostPid || known.has(s.pid)) inSet.add(s.pid);
    }
    // Descendants that left the session (dumb-init's child calls setsid).
    let grew = true;
    while (grew) {
      grew = false;
      for (const s of stats) {
        if (!inSet.has(s.pid) && inSet.has(s.ppid) && s.ppid !== this.meta.runtimePid) {
          inSet.add(s.pid);
          grew = true;
        }
      }
    }
    const out: Member[] = [];
    for (const pid of inSet) {
      const s = byPid.get(pid);
      if (!s) continue;
      if (this.map && !this.map.isMember(pid)) continue;
      out.push({ stat: s, command: s.state === 'Z' ? s.comm : (readCmdline(pid) ?? s.comm) });
    }
    return out;
  }

  owns(hostPid: number): boolean {
    if (hostPid === this.hostPid) return true;
    if (this.map) return this.map.isMember(hostPid);
    return false;
  }
}
