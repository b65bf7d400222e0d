/**
 * Stopping a systemd service, as systemd.kill(5) and systemd.service(5) describe it:
 *
 *  - KillSignal= (SIGTERM) goes to the unit's processes per KillMode=: control-group (the
 *    default) every process of the unit, mixed and process the main process only; systemd sends
 *    SIGCONT right after it; SendSIGHUP=yes adds SIGHUP to the same processes at once;
 *  - when TimeoutStopSec= (90 s) has passed, FinalKillSignal= (SIGKILL) goes to every process
 *    left (control-group, mixed) or to the main process (process); with mixed, also as soon as
 *    the main process has exited;
 *  - Type=notify: a NOTIFY_SOCKET (a Unix datagram socket) for sd_notify(3) messages, recorded
 *    on the timeline (READY=1, STOPPING=1, WATCHDOG=1, STATUS=…, EXTEND_TIMEOUT_USEC=…);
 *    EXTEND_TIMEOUT_USEC moves the stop deadline to at least now + that long.
 *
 * "The unit's processes" are the main process's session and their descendants (the launcher
 * starts the service in its own session); a process that leaves both escapes, where a real
 * control group would hold it. Node cannot bind a Unix datagram socket, so a small Perl
 * receiver (perl-base is Essential in Debian) binds it and passes each datagram on as hex.
 * NotifyAccess= is not checked: every datagram is recorded, whichever process sent it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn, type ChildProcess } from 'child_process';
import * as readline from 'readline';
import { allProcStats, readCmdline } from './procfs';
import { LaunchError } from '../run-api';
import type { PlatformContext } from './session';
import type { PlatformEvent, SystemdOptions } from '../../shared/platform';

const RECEIVER = String.raw`use strict; use IO::Socket::UNIX; use Socket;
my $p = shift; unlink $p;
my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $p) or die "bind $p: $!\n";
$| = 1; print "ready\n";
while (1) { my $b; defined($s->recv($b, 65536)) or next; print unpack("H*", $b), "\n"; }`;

/** The unit's processes now: the main process's session and the descendants of any of them (no zombies). */
export function unitProcesses(mainPid: number, known: Iterable<number>): { pid: number; ppid: number; command: string }[] {
  const stats = allProcStats().filter((s) => s.state !== 'Z' && s.state !== 'X');
  const set = new Set<number>();
  const knownSet = new Set(known);
  for (const s of stats) if (s.pid === mainPid || s.sid === mainPid || knownSet.has(s.pid)) set.add(s.pid);
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of stats) {
      if (!set.has(s.pid) && set.has(s.ppid)) {
        set.add(s.pid);
        grew = true;
      }
    }
  }
  return stats.filter((s) => set.has(s.pid)).map((s) => ({ pid: s.pid, ppid: s.ppid, command: readCmdline(s.pid) ?? s.comm }));
}

export class SystemdUnit {
  private mainPid = 0;
  private receiver: ChildProcess | undefined;
  private dir: string | undefined;
  private stopAt: number | undefined;
  /** EXTEND_TIMEOUT_USEC: the stop may not end before this (trace ms). */
  private extendedTo = 0;
  private readyAt: number | undefined;
  private finalSent = false;
  private mainGone = false;
  private giveUp: NodeJS.Timeout | undefined;

  constructor(
    readonly opts: SystemdOptions,
    private readonly ctx: PlatformContext,
    private readonly deliver: (target: number, signal: string) => void,
  ) {}

  private event(e: Omit<PlatformEvent, 'kind' | 't'> & { t?: number }): void {
    this.ctx.event({ kind: 'platform', t: this.ctx.now(), ...e } as PlatformEvent);
  }

  /** Type=notify: bind NOTIFY_SOCKET before the service starts. */
  async prepare(env: Record<string, string | undefined>): Promise<void> {
    if (this.opts.type !== 'notify') return;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shutdown-trace-notify-'));
    const sock = path.join(this.dir, 'notify');
    const perl = spawn('perl', ['-e', RECEIVER, sock], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.receiver = perl;
    let err = '';
    perl.stderr!.on('data', (d) => (err += d));
    const lines = readline.createInterface({ input: perl.stdout! });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('the NOTIFY_SOCKET receiver (perl) did not start within 5 s')), 5000);
      perl.once('error', (e) => (clearTimeout(t), reject(new Error(`--type notify needs perl to bind NOTIFY_SOCKET: ${e.message}`))));
      perl.once('exit', () => (clearTimeout(t), reject(new Error(`the NOTIFY_SOCKET receiver exited: ${err.trim()}`))));
      lines.once('line', () => (clearTimeout(t), resolve()));
    }).catch((e: Error) => {
      throw new LaunchError(e.message);
    });
    perl.removeAllListeners('exit');
    lines.on('line', (hex) => this.onDatagram(Buffer.from(hex, 'hex').toString('utf8')));
    env.NOTIFY_SOCKET = sock;
    const meta = this.ctx.meta().platformMode;
    if (meta?.systemd) meta.systemd.notifySocket = sock;
  }

  attach(pid: number): void {
    this.mainPid = pid;
  }

  private onDatagram(msg: string): void {
    const t = this.ctx.now();
    const fields = msg.split('\n').filter(Boolean);
    for (const f of fields) {
      const [k, ...rest] = f.split('=');
      const v = rest.join('=');
      let text: string;
      if (k === 'READY' && v === '1') {
        this.readyAt ??= t;
        text = 'READY=1: the service says it has finished starting';
      } else if (k === 'STOPPING' && v === '1') text = 'STOPPING=1: the service says it is shutting down';
      else if (k === 'WATCHDOG' && v === '1') text = 'WATCHDOG=1: watchdog keep-alive';
      else if (k === 'STATUS') text = `STATUS=${v}`;
      else if (k === 'EXTEND_TIMEOUT_USEC') {
        const us = Number(v);
        text = `EXTEND_TIMEOUT_USEC=${v}: ${Number.isFinite(us) ? `${(us / 1e6).toFixed(us % 1e6 ? 1 : 0)} s more` : 'not a number'}`;
        if (Number.isFinite(us) && us >= 0) this.extend(t, us / 1000);
      } else text = f;
      this.event({ what: 'notify', pid: this.mainPid, message: f, text });
    }
  }

  /** systemd extends the current state's timeout to at least now + the value (service.c, service_extend_timeout). */
  private extend(t: number, ms: number): void {
    if (this.stopAt === undefined || this.mainGone) return;
    const deadline = this.stopAt + this.opts.timeoutStopMs;
    const to = t + ms;
    // The first extension must come before TimeoutStopSec= is exceeded (systemd.service(5)).
    if (this.extendedTo === 0 && t > deadline) return;
    if (to <= Math.max(deadline, this.extendedTo)) {
      this.extendedTo = Math.max(this.extendedTo, to);
      return;
    }
    this.extendedTo = to;
    this.event({
      what: 'deadline-moved',
      pid: this.mainPid,
      deadlineAt: to,
      text: `the stop deadline moves to ${(to - this.stopAt).toFixed(0)} ms after ${this.opts.killSignal} (TimeoutStopSec=${this.opts.timeoutStopMs / 1000}s)`,
    });
  }

  private others(): { pid: number; ppid: number; command: string }[] {
    return unitProcesses(
      this.mainPid,
      this.ctx
        .processes()
        .filter((p) => p.end === undefined)
        .map((p) => p.pid),
    ).filter((p) => p.pid !== this.mainPid);
  }

  private signalAll(pids: number[], signal: string): number[] {
    const hit: number[] = [];
    for (const pid of pids) {
      try {
        process.kill(pid, signal as NodeJS.Signals);
        hit.push(pid);
      } catch {}
      // SIGKILL ends it for sure: its exit is known (the main process's comes from its own status).
      if (signal === 'SIGKILL' && pid !== this.mainPid && hit.includes(pid)) this.ctx.proc({ pid, exit: { code: null, signal } });
    }
    return hit;
  }

  /** KillSignal= per KillMode=, SIGCONT, and SendSIGHUP=. */
  stop(target: number, signal: string): void {
    const main = Math.abs(target);
    const others = this.opts.killMode === 'control-group' ? this.others().map((p) => p.pid) : [];
    this.stopAt ??= this.ctx.now();
    this.deliver(main, signal);
    const hit = this.signalAll(others, signal);
    if (hit.length)
      this.event({
        what: 'unit-signal',
        pid: main,
        signal,
        pids: hit,
        text: `KillMode=control-group: ${signal} to the ${hit.length} other process${hit.length === 1 ? '' : 'es'} of the unit (${hit.join(', ')})`,
      });
    this.signalAll([main, ...hit], 'SIGCONT');
    if (this.opts.sendSighup) {
      const h = this.signalAll([main, ...hit], 'SIGHUP');
      this.event({
        what: 'unit-signal',
        pid: main,
        signal: 'SIGHUP',
        pids: h,
        text: `SendSIGHUP=yes: SIGHUP to ${h.length === 1 ? 'the main process' : `${h.length} processes`} right after ${signal}`,
      });
    }
  }

  /** At TimeoutStopSec=: true when EXTEND_TIMEOUT_USEC moved it (fire is called again then). */
  postpone(fire: () => void): boolean {
    const wait = this.extendedTo - this.ctx.now();
    if (wait <= 1) return false;
    const t = setTimeout(fire, wait);
    t.unref?.();
    return true;
  }

  /** FinalKillSignal= at the deadline: to every process left (control-group, mixed), or the main process (process). */
  finalKill(target: number): boolean {
    const sig = this.opts.finalKillSignal;
    const targets = this.opts.killMode === 'process' ? [target] : [target, ...this.others().map((p) => p.pid)];
    const hit = this.signalAll(this.mainGone ? targets.filter((p) => p !== target) : targets, sig);
    this.finalSent = true;
    this.event({
      what: 'unit-signal',
      pid: target,
      signal: sig,
      pids: hit,
      text: `TimeoutStopSec=${this.opts.timeoutStopMs / 1000}s passed: FinalKillSignal=${sig} to ${this.opts.killMode === 'process' ? 'the main process only (KillMode=process)' : `${hit.length} process${hit.length === 1 ? '' : 'es'} of the unit`}`,
    });
    if (sig !== 'SIGKILL' && !this.giveUp) {
      // A catchable final signal may leave them running; systemd then gives up, with the unit failed.
      this.giveUp = setTimeout(() => {
        const left = targets.filter((p) => {
          try {
            process.kill(p, 0);
            return true;
          } catch {
            return false;
          }
        });
        if (!left.length) return;
        this.ctx.event({
          kind: 'note',
          t: this.ctx.now(),
          text: `Still running ${this.opts.timeoutStopMs / 1000} s after FinalKillSignal=${sig}: systemd would leave the unit failed with these processes around; Shutdown Trace stops them (SIGKILL).`,
        });
        this.signalAll(left, 'SIGKILL');
      }, this.opts.timeoutStopMs);
      this.giveUp.unref?.();
    }
    return true;
  }

  onMainExit(): void {
    this.mainGone = true;
    // KillMode=mixed: what remains once the main process has exited gets FinalKillSignal at once.
    if (this.opts.killMode === 'mixed' && this.stopAt !== undefined && !this.finalSent) {
      const rest = this.others().map((p) => p.pid);
      const hit = this.signalAll(rest, this.opts.finalKillSignal);
      if (hit.length)
        this.event({
          what: 'unit-signal',
          pid: 0,
          signal: this.opts.finalKillSignal,
          pids: hit,
          text: `KillMode=mixed: the main process exited, so ${this.opts.finalKillSignal} to the ${hit.length} remaining process${hit.length === 1 ? '' : 'es'} of the unit (${hit.join(', ')})`,
        });
    }
  }

  /**
   * After the main process exited, before the launcher stops what is left: control-group waits
   * for the rest until the stop deadline, then FinalKillSignal; process leaves them (they are
   * reported as the survivors KillMode=process leaves running).
   */
  async afterMainExit(): Promise<void> {
    if (this.stopAt === undefined || this.opts.killMode === 'process') return;
    const deadline = () => Math.max(this.stopAt! + this.opts.timeoutStopMs, this.extendedTo);
    while (this.others().length && this.ctx.now() < deadline()) await new Promise((r) => setTimeout(r, 20));
    const rest = this.others().map((p) => p.pid);
    if (rest.length && !this.finalSent) {
      this.finalSent = true;
      const hit = this.signalAll(rest, this.opts.finalKillSignal);
      this.event({
        what: 'unit-signal',
        pid: 0,
        signal: this.opts.finalKillSignal,
        pids: hit,
        text: `TimeoutStopSec=${this.opts.timeoutStopMs / 1000}s passed with ${hit.length} process${hit.length === 1 ? '' : 'es'} of the unit left: FinalKillSignal=${this.opts.finalKillSignal} to them`,
      });
    }
    const until = Date.now() + 1000;
    while (this.others().length && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  }

  get ready(): number | undefined {
    return this.readyAt;
  }

  close(): void {
    if (this.giveUp) clearTimeout(this.giveUp);
    this.receiver?.kill('SIGKILL');
    this.receiver = undefined;
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
