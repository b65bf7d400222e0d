/**
 * One run's platform: the hooks the launcher calls (each a line in launcher.ts), dispatching to
 * the PID-1 runtime (container.ts), systemd's kill modes and notify socket (systemd.ts) and the
 * Kubernetes endpoint lag (endpoint-lag.ts). With no platform option every hook is a no-op and
 * the launcher behaves as before.
 */
import * as os from 'os';
import type { ChildProcess, StdioOptions } from 'child_process';
import type { Readable } from 'stream';
import type { HelloMessage, PreloadEvent } from '../../shared/wire';
import type { LauncherEvent, ProcessInfo, TraceEvent, TraceMeta } from '../../shared/trace';
import type { Collector } from '../collector';
import { Pid1Runtime, initReceives } from './container';
import { SystemdUnit } from './systemd';
import { EndpointLag } from './endpoint-lag';
import type { PlatformEvent, PlatformOptions, PlatformMeta } from '../../shared/platform';

export interface PlatformContext {
  now(): number;
  event(e: LauncherEvent): void;
  proc(p: Partial<ProcessInfo> & { pid: number }): void;
  processes(): ProcessInfo[];
  events(): TraceEvent[];
  meta(): TraceMeta;
  /** Ask every connected preload for a handle snapshot (reason "manual"). */
  snapshot(): void;
  mainPid(): number;
  /** Stop sending new requests (the Service no longer routes here). */
  stopNewRequests(): void;
  /** Keep the traffic going at least this long after the main process exited. */
  loadTail(ms: number): void;
}

const POLL_MS = 50;
/** A zombie seen this long is reported (a parent that reaps does so within a poll). */
const ZOMBIE_MS = 100;

interface ZombieRecord {
  ev: PlatformEvent & { kind: 'platform' };
  firstSeen: number;
  reported: boolean;
}

export class Platform {
  readonly pid1: Pid1Runtime | undefined;
  readonly systemd: SystemdUnit | undefined;
  readonly lag: EndpointLag | undefined;
  private poll: NodeJS.Timeout | undefined;
  private readonly alive = new Map<number, { command: string; ppid: number }>();
  private readonly zombies = new Map<number, ZombieRecord>();
  private readonly ppidSeen = new Map<number, number>();
  private mainGone = false;

  constructor(
    readonly opts: PlatformOptions | undefined,
    command: string[],
    private readonly ctx: PlatformContext,
  ) {
    const o = opts ?? {};
    const meta: PlatformMeta = {};
    if (o.container) {
      this.pid1 = new Pid1Runtime(o.container, command);
      meta.pid1 = this.pid1.meta;
    }
    if (o.docker) meta.docker = o.docker;
    if (o.systemd) {
      this.systemd = new SystemdUnit(o.systemd, ctx, (target, signal) => this.deliver(target, signal));
      meta.systemd = { ...o.systemd };
    }
    if (o.endpointLagMs !== undefined) {
      this.lag = new EndpointLag(o.endpointLagMs, ctx);
      meta.endpointLagMs = o.endpointLagMs;
    }
    if (o.survive) meta.survive = o.survive;
    if (Object.keys(meta).length) ctx.meta().platformMode = meta;
  }

  get active(): boolean {
    return !!(this.pid1 || this.systemd || this.lag);
  }

  private event(e: Omit<PlatformEvent, 'kind' | 't'> & { t?: number }): PlatformEvent {
    const ev = { kind: 'platform', t: this.ctx.now(), ...e } as PlatformEvent;
    this.ctx.event(ev);
    return ev;
  }

  // ---------------------------------------------------------------- launch

  /** Environment additions (NOTIFY_SOCKET). */
  async prepare(env: Record<string, string | undefined>): Promise<void> {
    if (this.systemd) await this.systemd.prepare(env);
  }

  spawnSpec(exe: string, args: string[], stdio: StdioOptions): { file: string; args: string[]; stdio: StdioOptions } {
    return this.pid1 ? this.pid1.spawnSpec(exe, args, stdio) : { file: exe, args, stdio };
  }

  serviceStderr(child: ChildProcess): Readable | null {
    return this.pid1 ? this.pid1.serviceStderr(child) : child.stderr;
  }

  /** The main process's pid: PID 1's host pid in a namespace, else the spawned process. */
  async attach(child: ChildProcess): Promise<number> {
    if (!this.pid1) {
      this.systemd?.attach(child.pid!);
      return child.pid!;
    }
    const pid = await this.pid1.attach(child);
    const m = this.pid1.meta;
    this.event({
      what: 'pid1',
      pid,
      command: m.command,
      text:
        m.mode === 'namespace'
          ? `PID 1 of a new PID namespace${m.userNamespace ? ' (in a user namespace)' : ''}: ${m.command} (host pid ${pid})`
          : `PID 1 emulated (${m.why}): signals PID 1 has no handler for are not delivered; ${m.command} is pid ${pid}`,
    });
    this.poll = setInterval(() => this.pollMembers(), POLL_MS);
    this.poll.unref();
    this.pollMembers();
    return pid;
  }

  /** The main process's exit status as the platform saw it. */
  async exitStatus(code: number | null, signal: NodeJS.Signals | null): Promise<[number | null, NodeJS.Signals | null]> {
    if (!this.pid1) return [code, signal];
    const [c, s, said] = await this.pid1.exitStatus(code, signal);
    if (said) this.ctx.event({ kind: 'note', t: this.ctx.now(), text: `unshare: ${said.replace(/^unshare: /, '')}` });
    return [c, s];
  }

  // ---------------------------------------------------------------- pids

  /** For the collector: a preload's pid (a namespace pid in a container) belongs to the run. */
  owns(pid: number): boolean {
    if (!this.pid1?.map) return false;
    return this.pid1.map.toHost(pid) !== undefined;
  }

  hostPid(pid: number): number {
    return this.pid1 ? this.pid1.toHost(pid) : pid;
  }

  hello(h: HelloMessage): HelloMessage {
    if (!this.pid1?.map) return h;
    return { ...h, pid: this.pid1.toHost(h.pid), ppid: this.pid1.toHost(h.ppid) };
  }

  preloadEvents(events: PreloadEvent[]): PreloadEvent[] {
    if (!this.pid1?.map) return events;
    return events.map((e) => (e.kind === 'spawn' ? { ...e, childPid: this.pid1!.toHost(e.childPid) } : e));
  }

  /** The collector keys connections by the pid each preload reported: translate at its edge. */
  wrapCollector(c: Collector): void {
    const pid1 = this.pid1;
    if (!pid1?.map) return;
    const connected = c.connectedPids.bind(c);
    const send = c.send.bind(c);
    c.connectedPids = () => connected().map((p) => pid1.toHost(p));
    c.send = (pid, m) => send(pid1.toNs(pid), m);
  }

  // ---------------------------------------------------------------- signals

  /** Sends a signal as the platform would (the launcher's sendSignal). Throws like process.kill. */
  kill(target: number, signal: string): void {
    if (this.systemd) return this.systemd.stop(target, signal);
    this.deliver(target, signal);
  }

  /** One signal to one target, with PID 1's rule applied (real or emulated) and recorded. */
  private deliver(target: number, signal: string): void {
    const pid1 = this.pid1;
    if (pid1 && Math.abs(target) === pid1.hostPid && signal !== 'SIGKILL') {
      const r = initReceives(pid1.hostPid, signal);
      const who = `PID 1 (${pid1.meta.command.split(' ')[0].split('/').pop()})`;
      const emulated = pid1.meta.mode === 'emulated';
      const text = !r.known
        ? `${who}: its signal mask could not be read; ${signal} sent as is`
        : r.caught
          ? `${who} has a handler for ${signal}: the kernel delivers it`
          : r.blocked
            ? `${who} blocks ${signal} and waits for it: the kernel queues it`
            : `${who} has no handler for ${signal}: the kernel drops it (pid_namespaces(7))${emulated ? '; not delivered (emulation)' : ''}`;
      this.event({ what: 'pid1-signal', pid: pid1.hostPid, signal, delivered: r.receives, text });
      if (emulated && !r.receives) {
        // The rest of the group still gets it.
        if (target < 0)
          for (const [pid] of this.alive)
            if (pid !== pid1.hostPid)
              try {
                process.kill(pid, signal as NodeJS.Signals);
              } catch {}
        return;
      }
    }
    process.kill(target, signal as NodeJS.Signals);
  }

  /** The final kill. Returns true when the platform did it (the launcher then does nothing more). */
  killTree(target: number): boolean {
    if (this.systemd) return this.systemd.finalKill(target);
    if (this.pid1?.namespaced && target === this.pid1.hostPid) {
      // The runtime kills the container's init; the kernel kills the rest of the namespace.
      try {
        process.kill(target, 'SIGKILL');
      } catch {}
      return true;
    }
    return false;
  }

  /** At the grace deadline: true when the platform moved it (EXTEND_TIMEOUT_USEC) and will call again. */
  postponeDeadline(fire: () => void): boolean {
    return this.systemd ? this.systemd.postpone(fire) : false;
  }

  /** Sees every launcher event as it is recorded (termination-start, prestop-*, signal-sent…). */
  onLauncherEvent(e: LauncherEvent): void {
    if (this.lag) this.lag.onEvent(e);
    // Kubernetes: what the preStop hook changed, in two snapshots of live handles.
    if (e.kind === 'prestop-start' || e.kind === 'prestop-end') {
      const label = e.kind === 'prestop-start' ? 'preStop start' : 'preStop end';
      this.event({ what: 'snapshot-point', pid: 0, label, text: `handle snapshot at ${label}` });
      this.ctx.snapshot();
    }
  }

  // ---------------------------------------------------------------- the end

  onMainExit(t: number): void {
    if (this.mainGone) return;
    this.mainGone = true;
    this.systemd?.onMainExit();
    this.lag?.onMainExit(t);
    if (!this.pid1) return;
    const pid1 = this.pid1;
    // Emulated, the kernel's part is ours: SIGKILL the rest at once.
    if (pid1.meta.mode === 'emulated') {
      this.pollMembers(true);
      for (const [pid] of this.alive)
        if (pid !== pid1.hostPid)
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            this.alive.delete(pid);
          }
    }
    this.mainExitAt = t;
    this.candidates = new Map(this.alive);
    this.candidates.delete(pid1.hostPid);
    this.alive.clear();
  }
  private mainExitAt = 0;
  private candidates = new Map<number, { command: string; ppid: number }>();

  /**
   * Who was killed with the container: alive at the last look before PID 1 exited, and not gone
   * by itself (a traced process reports its exit; an init's child that died by a signal is in
   * the init's exit status, 128 + the signal).
   */
  private settleContainerKilled(): void {
    const pid1 = this.pid1;
    if (!pid1 || !this.candidates.size) return;
    const t = this.mainExitAt;
    const exited = new Set(
      this.ctx
        .events()
        .filter((e) => e.kind === 'exit')
        .map((e) => e.pid),
    );
    const main = this.ctx.processes().find((p) => p.pid === pid1.hostPid);
    const initCode = pid1.meta.init ? main?.exit?.code : undefined;
    const sigName = initCode && initCode > 128 ? Object.entries(os.constants.signals).find(([, n]) => n === initCode - 128)?.[0] : undefined;
    for (const [pid, m] of this.candidates) {
      if (exited.has(pid)) continue;
      if (sigName && m.ppid === pid1.hostPid) {
        this.ctx.proc({ pid, exit: { code: null, signal: sigName } });
        continue;
      }
      this.event({
        what: 'container-killed',
        t,
        pid,
        ppid: m.ppid,
        command: m.command,
        text: `${m.command} (pid ${pid}) was killed with the container: PID 1 exited, so the kernel SIGKILLed the rest of its PID namespace${pid1.meta.mode === 'emulated' ? ' (emulated: SIGKILL sent by Shutdown Trace)' : ''}`,
      });
      this.ctx.proc({ pid, end: t, exit: { code: null, signal: 'SIGKILL' } });
    }
    this.candidates.clear();
  }

  /** After the main process exited, before the launcher looks for orphans. */
  async beforeOrphans(): Promise<void> {
    if (this.systemd) await this.systemd.afterMainExit();
  }

  finish(): void {
    if (this.poll) clearInterval(this.poll);
    this.poll = undefined;
    this.settleContainerKilled();
    this.systemd?.close();
    this.lag?.close();
  }

  // ---------------------------------------------------------------- the container's processes

  private pollMembers(force = false): void {
    const pid1 = this.pid1;
    if (!pid1 || (this.mainGone && !force)) return;
    const known = new Set(this.alive.keys());
    const members = pid1.members(known);
    // PID 1 exiting: the kernel is killing the rest. Keep the last view of the container as it ran.
    const init = members.find((m) => m.stat.pid === pid1.hostPid);
    if (!force && (!init || init.stat.state === 'Z' || init.stat.state === 'X')) return;
    const now = this.ctx.now();
    const procs = new Map(this.ctx.processes().map((p) => [p.pid, p]));
    const seen = new Set<number>();
    this.alive.clear();
    for (const m of members) {
      const pid = m.stat.pid;
      seen.add(pid);
      if (m.stat.state === 'Z' || m.stat.state === 'X') {
        this.zombie(pid, m, now);
        continue;
      }
      if (!this.ppidSeen.has(pid)) this.ppidSeen.set(pid, m.stat.ppid);
      this.alive.set(pid, { command: procs.get(pid)?.command || m.command, ppid: m.stat.ppid });
      if (!procs.has(pid) && pid !== pid1.hostPid) this.ctx.proc({ pid, ppid: m.stat.ppid, command: m.command, start: now });
    }
    for (const [pid, z] of this.zombies) {
      if (!seen.has(pid) && z.ev.reaped === false) {
        z.ev.reaped = true;
        z.ev.until = now;
      }
    }
  }

  private zombie(pid: number, m: { stat: { ppid: number; comm: string } }, now: number): void {
    let z = this.zombies.get(pid);
    if (!z) {
      const proc = this.ctx.processes().find((p) => p.pid === pid);
      const ev = { kind: 'platform', t: now, pid, what: 'zombie', ppid: m.stat.ppid, command: proc?.command || m.stat.comm, until: now, reaped: false, text: '' } as PlatformEvent;
      z = { ev, firstSeen: now, reported: false };
      this.zombies.set(pid, z);
    }
    z.ev.until = now;
    z.ev.reaped = false;
    if (!z.reported && now - z.firstSeen >= ZOMBIE_MS) {
      z.reported = true;
      const parent = this.ctx.processes().find((p) => p.pid === m.stat.ppid);
      const first = this.ppidSeen.get(pid);
      z.ev.text =
        `${z.ev.command} (pid ${pid}) exited and was not reaped by its parent ${parent?.command ?? ''} (pid ${m.stat.ppid})${first && first !== m.stat.ppid ? `, to which it was re-parented from pid ${first}` : ''}`.replace(
          '  (',
          ' (',
        );
      z.ev.t = z.firstSeen;
      this.ctx.event(z.ev);
    }
  }
}
