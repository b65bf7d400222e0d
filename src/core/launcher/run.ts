/**
 * One traced run: spawns the command with the preload, records what the preloads and the
 * launcher see into the trace, carries out the signal plan (the signal, a second one, the
 * deadline's snapshot and SIGKILL), and seals the trace once the service is gone.
 * Recording (recorder.ts), traffic, Kubernetes termination, orphans, spools, output lines and
 * live updates each have their own file beside this one. Over 500 lines: the run's state (who
 * was signalled when, who exited, what is still alive) has one owner, this class, and the
 * signal plan, the exits and the finish read and change it together.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn, type ChildProcess } from 'child_process';
import { Collector } from '../collector';
import { validateHello, validEvents } from '../../shared/validate-wire';
import { sessionMembers, runMembers, isAlive, listeningAddress, type ProcEntry } from '../proctree';
import { redactArgv } from '../redact';
import { classifyRoles } from '../runners';
import { analyze } from '../analysis';
import { mapTraceSourcePositions } from '../sourcemap';
import { attributeFromSource } from '../source-owners';
import { ENV, type PreloadEvent, type HelloMessage } from '../../shared/wire';
import { type Trace, type TraceEvent, type LauncherEvent, type ProcessInfo, type OutputLine, type Delivery } from '../../shared/trace';
import { LaunchError, type RunOptions, type RunHandle } from '../run-api';
import { Journal, startWatchdog, defaultWatchdogPath, type Watchdog, type JournalStart } from '../journal';
import { planPermission } from '../permission';
import { attachStdio, type AttachedStdio } from '../terminal';
import { Platform } from '../platform/session';
import { monoMs } from './clock';
import { defaultPreloadPath, quoteNodeOption, resolveCommand, withPreload } from './command';
import { KubeletTermination } from './kubernetes';
import { connectedSurvivors, settleExits, stopOrphans } from './orphans';
import { captureLines } from './output';
import { mergeSpools, writeTrace } from './spools';
import { Traffic } from './traffic';
import { newTrace, Recorder, MAX_OUTPUT_LINES } from './recorder';
import type { Listener } from './updates';
import { defaultCodeCacheDir, prepareCodeCacheDir } from './code-cache';

const DEADLINE_SNAPSHOT_WAIT_MS = 1000;
const ORPHAN_SETTLE_MS = 300;
const TREE_POLL_MS = 100;

/** What the watchdog did before rebuilding the trace. */
export interface Rescue {
  launcherPid: number;
  /** at: monotonic ms when it was seen gone. */
  stopped: { pid: number; ppid: number; command: string; signal: 'SIGTERM' | 'SIGKILL'; at: number }[];
}

export class Run implements RunHandle {
  readonly trace: Trace;
  mainPid = 0;
  done!: Promise<Trace>;
  private resolveDone!: (t: Trace) => void;
  private readonly t0: number;
  private collector!: Collector;
  private child!: ChildProcess;
  private spoolDir!: string;
  /** The trace as it is recorded; `trace` and `procs` are its. */
  private readonly rec: Recorder;
  private readonly procs: Map<number, ProcessInfo>;
  private readonly timers = new Set<NodeJS.Timeout>();
  private firstSignalAt: number | undefined;
  private signalsSent = 0;
  private mainExited = false;
  private finishing: Promise<Trace> | undefined;
  private treePoll: NodeJS.Timeout | undefined;
  private deadlineHit = false;
  private listenSeen = false;
  private incompleteReason: string | undefined;
  private readonly traffic: Traffic | undefined;
  private readonly termination: KubeletTermination | undefined;
  private firstTcpAddress: string | undefined;
  private mainExitAt: number | undefined;
  private userEnv: NodeJS.ProcessEnv = {};
  // A launcher killed outright: what it saw is on disk, and a watchdog stops the tree.
  private journal: Journal | undefined;
  private watchdog: Watchdog | undefined;
  private attached: AttachedStdio | undefined;
  private onHangup: (() => void) | undefined;
  private untraced = false;
  /** The last signal the tool sent each process while it was alive: how it ended, when nothing else says. */
  private readonly delivered = new Map<number, string>();
  private readonly platform: Platform;

  /** t0: a rebuilt run (the watchdog's) keeps the dead launcher's clock. */
  constructor(
    private readonly opts: RunOptions,
    private readonly cwd: string,
    t0?: number,
  ) {
    this.t0 = t0 ?? monoMs();
    this.rec = new Recorder(this.t0, newTrace(opts, cwd), {
      mainPid: () => this.mainPid,
      journal: () => this.journal,
      platform: () => this.platform,
      tcpListen: (address) => {
        if (!this.listenSeen) this.onListening(address);
      },
    });
    this.trace = this.rec.trace;
    this.procs = this.rec.procs;
    this.done = new Promise((r) => (this.resolveDone = r));
    this.platform = new Platform(opts.platform, opts.command, {
      now: () => this.now(),
      event: (e) => this.addLauncher(e),
      proc: (p) => void this.upsertProc(p),
      processes: () => this.trace.processes,
      events: () => this.trace.events,
      meta: () => this.trace.meta,
      snapshot: () => void this.snapshotAndWait('manual'),
      mainPid: () => this.mainPid,
      stopNewRequests: () => this.traffic?.stopNewRequests(),
      loadTail: (ms) => this.traffic?.extendTail(ms),
    });
    if (opts.load) {
      this.trace.meta.load = { ...opts.load };
      this.traffic = new Traffic(opts.load, { now: () => this.now(), event: (e) => this.addLauncher(e), started: (url) => (this.trace.meta.load = { ...this.trace.meta.load!, url }) });
    }
    if (opts.k8s) {
      this.trace.meta.k8s = { ...opts.k8s };
      this.termination = new KubeletTermination(opts.k8s, {
        now: () => this.now(),
        event: (e) => this.addLauncher(e),
        later: (ms, fn) => this.later(ms, fn),
        meta: () => this.trace.meta,
        over: () => this.mainExited || !!this.finishing,
        signalled: () => this.signalsSent > 0,
        startTraffic: () => this.startLoad(),
        hookStarted: () => this.journal?.write({ type: 'pids', sessions: [...new Set([this.mainPid, this.child.pid!])], helpers: this.helperPids() }, true),
        sendStopSignal: (signal) => this.sendSignal(signal, 'main'),
        deadline: () => void this.onDeadline(),
        cwd: this.cwd,
        env: () => this.userEnv,
        serviceAddress: () => this.firstTcpAddress,
      });
    }
  }

  /** Preload monotonic ms → trace ms. */
  private rel(t: number): number {
    return this.rec.rel(t);
  }

  now(): number {
    return this.rec.now();
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  async start(): Promise<void> {
    const { opts } = this;
    const env: Record<string, string | undefined> = { ...process.env, ...(opts.env || {}) };
    this.userEnv = { ...env } as NodeJS.ProcessEnv;
    const exe = resolveCommand(opts.command[0], this.cwd, env.PATH);
    const preload = opts.preloadPath || defaultPreloadPath();
    this.collector = new Collector({
      onHello: (h) => {
        this.journal?.write({ type: 'hello', hello: h });
        this.onHello(h);
      },
      onEvents: (pid, seq, evs) => {
        this.journal?.write({ type: 'events', pid, seq, events: evs });
        this.onPreloadEvents(pid, seq, evs);
      },
      onReject: (kind, reason) => {
        if (kind === 'connection') this.trace.meta.counters.rejectedConnections++;
        else this.trace.meta.counters.malformedFrames++;
        if (this.trace.meta.counters.rejectedConnections + this.trace.meta.counters.malformedFrames <= 50) this.addLauncher({ kind: 'collector-rejected', t: this.now(), reason });
      },
      belongsToRun: (pid) => this.belongsToRun(pid),
    });
    const port = await this.collector.start();
    this.spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shutdown-trace-'));
    const perm = planPermission(exe, opts.command.slice(1), env.NODE_OPTIONS, preload, this.cwd);
    if (perm.action === 'skip') {
      // The service runs exactly as untraced: no preload, none of the run's variables.
      this.untraced = true;
      this.incompleteReason = perm.reason;
    } else {
      env.NODE_OPTIONS = withPreload(env.NODE_OPTIONS, preload) + (perm.action === 'allow' ? ` ${quoteNodeOption(perm.nodeOption)}` : '');
      env[ENV.port] = String(port);
      env[ENV.token] = this.collector.token;
      env[ENV.spool] = this.spoolDir;
      env[ENV.stallMs] = String(opts.stallMs ?? 1000);
      env[ENV.launcherPid] = String(process.pid);
      const codeCache = opts.codeCacheDir === false ? undefined : prepareCodeCacheDir(opts.codeCacheDir ?? defaultCodeCacheDir(env));
      if (codeCache) env[ENV.codeCache] = codeCache;
      if (opts.verbose) env[ENV.verbose] = '1';
    }
    this.journal = new Journal(this.spoolDir, () => this.trace.meta, [this.collector.token]);
    const start: JournalStart = { type: 'start', launcherPid: process.pid, t0: this.t0, cwd: this.cwd, command: redactArgv(opts.command), out: opts.tracePathIfKilled ?? opts.tracePath };
    this.journal.write(start, true);
    const watchdogScript = defaultWatchdogPath();
    this.watchdog = watchdogScript && this.journal.ok ? startWatchdog(this.spoolDir, watchdogScript) : undefined;
    if (opts.attach) this.attached = await attachStdio();
    if (this.attached?.sharedStreams) {
      if (!this.untraced) env[ENV.streamsShared] = '1';
      this.rec.streamsShared();
    }

    let child: ChildProcess;
    try {
      await this.platform.prepare(env);
      const spec = this.platform.spawnSpec(exe, opts.command.slice(1), this.attached?.stdio ?? ['ignore', 'pipe', 'pipe']);
      child = spawn(spec.file, spec.args, { cwd: this.cwd, env: env as NodeJS.ProcessEnv, detached: true, stdio: spec.stdio });
    } finally {
      this.attached?.afterSpawn();
    }
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (e) => {
        void this.collector.close();
        void this.attached?.close();
        this.abandonSpool();
        reject(new LaunchError(`Could not start ${opts.command[0]}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'command not found' : e.message}`));
      });
    });
    this.mainPid = await this.platform.attach(child);
    this.platform.wrapCollector(this.collector);
    // The spawned process leads its own session; a platform's PID 1 may lead another.
    this.journal.write({ type: 'pids', sessions: [...new Set([this.mainPid, child.pid!])], helpers: this.helperPids() }, true);
    this.trace.meta.mainPid = this.mainPid;
    this.upsertProc({ pid: this.mainPid, ppid: process.pid, command: redactArgv(opts.command).join(' '), traced: false, isMain: true, start: 0 });
    this.addLauncher({ kind: 'spawned', t: this.now(), pid: this.mainPid, command: redactArgv(opts.command).join(' ') });
    if (perm.action !== 'as-is') this.addLauncher({ kind: 'note', t: this.now(), text: perm.note });
    if (!this.watchdog) this.addLauncher({ kind: 'note', t: this.now(), text: 'No watchdog could be started: if the tool itself is killed, the service is not stopped for it.' });
    for (const text of this.attached?.notes ?? []) this.addLauncher({ kind: 'note', t: this.now(), text });

    const ptys = this.attached?.ptys;
    if (child.stdout) this.pipeOutput(child.stdout, 'stdout');
    else if (ptys?.stdout) this.pipeOutput(ptys.stdout.output, 'stdout', true);
    const stderr = this.platform.serviceStderr(child);
    if (stderr) this.pipeOutput(stderr, 'stderr');
    else if (ptys?.stderr) this.pipeOutput(ptys.stderr.output, 'stderr', true);
    if (opts.attach) {
      // Closing the terminal: the service gets SIGHUP as a plain run's would, then the usual grace.
      this.onHangup = () => this.hangup();
      process.on('SIGHUP', this.onHangup);
    }
    child.once('exit', (code, signal) => void this.platform.exitStatus(code, signal).then(([c, s]) => this.onMainExit(c, s)));
    this.treePoll = setInterval(() => this.pollTree(), TREE_POLL_MS);

    const { when } = opts.plan;
    if (when.mode === 'after') this.later(when.ms, () => this.autoSignal());
    else if (when.mode === 'listening') {
      this.later(when.timeoutMs, () => {
        if (this.signalsSent === 0 && !this.mainExited) {
          this.addLauncher({ kind: 'note', t: this.now(), text: `The service did not start listening within ${when.timeoutMs} ms; signalling anyway.` });
          this.autoSignal();
        }
      });
    }
  }

  private belongsToRun(pid: number): boolean {
    if (process.platform !== 'linux' || this.platform.owns(pid)) return true;
    if (pid === this.mainPid || this.procs.has(pid)) return true;
    return runMembers(this.mainPid, this.procs.keys()).some((e) => e.pid === pid);
  }

  private helperPids(): number[] {
    const p = this.attached?.ptys;
    return [p?.stdout?.pid, p?.stderr?.pid, this.termination?.hook?.pid].filter((x): x is number => typeof x === 'number');
  }

  /** A start that failed: nothing to rescue. */
  private abandonSpool(): void {
    this.journal?.close();
    try {
      fs.rmSync(this.spoolDir, { recursive: true, force: true });
    } catch {}
    this.watchdog?.release();
  }

  private hangup(): void {
    if (this.finishing) return;
    this.incompleteReason ??= 'the terminal was closed during the run (SIGHUP)';
    this.addLauncher({ kind: 'note', t: this.now(), text: "The terminal was closed (SIGHUP to the tool): SIGHUP went to the service's process group, as a terminal sends it to a plain run." });
    this.sendSignal('SIGHUP', 'group');
  }

  /** ptyText: a terminal's bytes, whose colour and cursor sequences are not part of the text recorded. */
  private pipeOutput(stream: NodeJS.ReadableStream, name: 'stdout' | 'stderr', ptyText = false): void {
    captureLines(stream, { echo: this.opts.echo?.[name], ptyText, now: () => this.now(), line: (t, text) => this.addOutput(t, name, text) });
  }

  private pollTree(): void {
    if (process.platform !== 'linux' && process.platform !== 'darwin') return;
    const members = runMembers(this.mainPid, this.procs.keys());
    const alive = new Set<number>();
    for (const m of members) {
      alive.add(m.pid);
      if (!this.procs.has(m.pid)) this.upsertProc({ pid: m.pid, ppid: m.ppid, command: redactArgv(m.command.split(' ')).join(' '), start: this.now() });
    }
    for (const p of this.procs.values()) {
      if (p.end === undefined && p.pid !== this.mainPid && !alive.has(p.pid) && !isAlive(p.pid)) this.upsertProc({ pid: p.pid, end: this.now() });
    }
    // Without the preload, "listening" is seen from outside.
    if (this.untraced && !this.listenSeen && !this.mainExited) {
      const address = listeningAddress([...alive]);
      if (address) this.onListening(address);
    }
  }

  private onListening(address: string): void {
    this.listenSeen = true;
    this.firstTcpAddress = address;
    this.startLoad();
    const when = this.opts.plan.when;
    if (when.mode === 'listening') this.later(when.delayMs, () => this.autoSignal());
  }

  private addOutput(t: number, stream: 'stdout' | 'stderr', raw: string): void {
    this.rec.output(t, stream, raw);
  }

  private upsertProc(p: Partial<ProcessInfo> & { pid: number }): ProcessInfo {
    return this.rec.proc(p);
  }

  private onHello(h: HelloMessage): void {
    this.rec.hello(h);
  }

  private onPreloadEvents(pid: number, seq: number, events: PreloadEvent[]): void {
    this.rec.preloadEvents(pid, seq, events);
  }

  private addLauncher(e: LauncherEvent): void {
    this.rec.launcherEvent(e);
  }

  private push(ev: TraceEvent): void {
    this.rec.push(ev);
  }

  onUpdate(cb: Listener): () => void {
    return this.rec.updates.subscribe(cb);
  }

  private autoSignal(): void {
    if (this.signalsSent > 0 || this.mainExited || this.finishing || this.termination?.started) return;
    if (this.termination) return this.termination.start();
    this.startLoad();
    const plan = this.opts.plan;
    this.sendSignal(plan.signal, plan.delivery);
    if (plan.second) {
      const second = plan.second;
      this.later(second.afterMs, () => {
        if (!this.mainExited) this.sendSignal(second.signal, plan.delivery);
      });
    }
  }

  sendSignal(signal: string, delivery: Delivery = this.opts.plan.delivery): void {
    if (this.mainExited || !this.mainPid) return;
    const target = delivery === 'group' ? -this.mainPid : this.mainPid;
    // Who the group signal reaches, read before it is sent: those it kills are gone right after.
    const group = delivery === 'group' ? sessionMembers(this.mainPid).filter((m) => m.pgid === this.mainPid) : [];
    // Read before kill(): the service's preload stamps the arrival on the same monotonic clock,
    // and "received" must never come before "sent".
    const sentAt = this.now();
    try {
      this.platform.kill(target, signal);
    } catch (e) {
      this.addLauncher({ kind: 'note', t: this.now(), text: `Could not send ${signal}: ${(e as Error).message}` });
      return;
    }
    this.signalsSent++;
    for (const m of group) this.deliver(m.pid, signal);
    this.deliver(this.mainPid, signal);
    this.addLauncher({ kind: 'signal-sent', t: sentAt, signal, target: this.mainPid, delivery, nth: this.signalsSent });
    if (this.firstSignalAt === undefined) {
      this.firstSignalAt = sentAt;
      // With --k8s the kubelet's arithmetic schedules the kill (startTermination).
      if (!this.termination?.started) this.later(this.opts.plan.graceMs, () => void this.onDeadline());
    }
  }

  private async onDeadline(): Promise<void> {
    if (this.finishing || this.platform.postponeDeadline(() => void this.onDeadline())) return;
    const alive = [...this.procs.values()].filter((p) => p.end === undefined && isAlive(p.pid));
    if (this.mainExited && alive.length === 0) return;
    this.deadlineHit = true;
    this.addLauncher({ kind: 'deadline', t: this.now(), graceMs: this.opts.plan.graceMs });
    await this.snapshotAndWait('deadline');
    this.killTree();
  }

  /** Asks every connected preload for a snapshot and waits until each answered, or briefly. */
  private async snapshotAndWait(reason: 'deadline' | 'manual'): Promise<void> {
    const before = this.trace.events.length;
    const asked = this.collector.requestSnapshot(reason);
    if (asked.length === 0) return;
    const until = monoMs() + DEADLINE_SNAPSHOT_WAIT_MS;
    while (monoMs() < until) {
      const answered = new Set(
        this.trace.events
          .slice(before)
          .filter((e) => e.kind === 'snapshot' && e.reason === reason)
          .map((e) => e.pid),
      );
      if (asked.every((p) => answered.has(p))) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Test hook: simulate the collector's connections dropping in the middle of a run. */
  dropCollectorConnections(): void {
    this.collector.dropConnections();
  }

  requestSnapshot(): void {
    void this.snapshotAndWait('manual');
  }

  /** Kill by hand: first a snapshot, so the user sees what was still alive. */
  kill(): void {
    if (this.mainExited || this.finishing) return;
    void this.snapshotAndWait('manual').then(() => this.killTree());
  }

  private killTree(): void {
    // A preStop exec runs inside the container: it dies with it.
    this.termination?.cancelHook();
    const target = this.mainPid;
    this.addLauncher({ kind: 'kill-sent', t: this.now(), target });
    if (this.platform.killTree(target)) return this.deliver(target, 'SIGKILL');
    const members = runMembers(target, this.procs.keys());
    try {
      process.kill(-target, 'SIGKILL');
    } catch {}
    for (const m of members) {
      try {
        process.kill(m.pid, 'SIGKILL');
      } catch {}
      this.deliver(m.pid, 'SIGKILL');
    }
  }

  private deliver(pid: number, signal: string): void {
    if (this.delivered.get(pid) !== 'SIGKILL') this.delivered.set(pid, signal);
  }

  private settleExits(): void {
    settleExits(this.trace.events, this.procs.values(), this.delivered, (e) => this.addLauncher(e));
  }

  private onMainExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.mainExited = true;
    const t = this.now();
    this.mainExitAt = t;
    this.termination?.cancelHook('cut short: the main process exited');
    this.upsertProc({ pid: this.mainPid, end: t, exit: { code, signal } });
    this.addLauncher({ kind: 'process-exit', t, pid: this.mainPid, code, signal });
    this.platform.onMainExit(t);
    this.later(ORPHAN_SETTLE_MS, () => void this.handleOrphansAndFinish());
  }

  private async handleOrphansAndFinish(): Promise<void> {
    await this.platform.beforeOrphans();
    await this.awaitSignalledService();
    const survivors = runMembers(this.mainPid, this.procs.keys()).filter((m) => m.pid !== this.mainPid);
    if (survivors.length) {
      // Show what they hold before stopping them.
      const tracedSurvivors = await connectedSurvivors(survivors, this.collector.token, () => this.collector.connectedPids());
      if (tracedSurvivors.length) {
        this.collector.requestSnapshot('stalled', tracedSurvivors);
        await new Promise((r) => setTimeout(r, 150));
      }
      await this.stopOrphans(survivors);
    }
    void this.finish();
  }

  /**
   * The group signal reached the runner's children too. When the runner died of it at once (npm
   * run, sh -c) and left the service still shutting down, or hanging on a leak, the stop is not
   * over for the service: a terminal leaves it running, and systemd's default control-group stop
   * waits for it until TimeoutStopSec= (systemd.kill(5)). So the run goes on until the service
   * exits or the grace deadline, which snapshots it and SIGKILLs it, as for a service launched
   * directly. Only for the service under a runner: a child that outlives the service itself is
   * an orphan. Not with a platform mode (it models its own end), nor for a signal sent to the
   * main process only: a container's PID 1 exiting takes the rest with it (pid_namespaces(7)).
   */
  private async awaitSignalledService(): Promise<void> {
    if (this.opts.platform || this.opts.k8s || this.firstSignalAt === undefined || this.deadlineHit) return;
    const { servicePid } = classifyRoles(this.trace.processes, this.mainPid);
    if (servicePid === this.mainPid || !this.delivered.has(servicePid)) return;
    const running = () => this.procs.get(servicePid)?.end === undefined && isAlive(servicePid);
    // Bounded even if the deadline's kill failed: then the orphan cleanup below stops it.
    const until = monoMs() + Math.max(0, this.firstSignalAt + this.opts.plan.graceMs - this.now()) + DEADLINE_SNAPSHOT_WAIT_MS + 2000;
    while (!this.finishing && monoMs() < until && running()) await new Promise((r) => setTimeout(r, 20));
  }

  private stopOrphans(survivors: ProcEntry[]): Promise<void> {
    return stopOrphans(survivors, {
      now: () => this.now(),
      event: (e) => this.addLauncher(e),
      deliver: (pid, signal) => this.deliver(pid, signal),
      known: (pid) => this.procs.get(pid),
      ended: (pid) => void this.upsertProc({ pid, end: this.now() }),
    });
  }

  stop(reason: string): Promise<Trace> {
    if (!this.finishing) {
      this.incompleteReason = reason;
      this.addLauncher({ kind: 'note', t: this.now(), text: `Run stopped: ${reason}` });
      if (!this.mainExited) this.killTree();
      else
        for (const m of runMembers(this.mainPid, this.procs.keys())) {
          try {
            process.kill(m.pid, 'SIGKILL');
          } catch {}
          this.deliver(m.pid, 'SIGKILL');
        }
      // Give the process a moment to be reaped and spools to land.
      return new Promise((r) => setTimeout(r, 100)).then(() => this.finish());
    }
    return this.finishing;
  }

  private mergeSpools(): void {
    mergeSpools(this.spoolDir, {
      wantsHello: (pid) => !this.procs.get(pid)?.traced,
      hello: (h) => this.onHello(h),
      events: (pid, seq, evs) => this.onPreloadEvents(pid, seq, evs),
      malformed: () => void this.trace.meta.counters.malformedFrames++,
    });
  }

  finish(): Promise<Trace> {
    if (this.finishing) return this.finishing;
    this.finishing = (async () => {
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
      this.termination?.cancelHook();
      await this.traffic?.finish(this.mainExitAt);
      if (this.treePoll) clearInterval(this.treePoll);
      await this.collector.close();
      // The ptys' last output, now that nothing of the service's tree writes to them.
      await this.attached?.close();
      if (this.onHangup) process.off('SIGHUP', this.onHangup);
      this.mergeSpools();
      this.platform.finish(); // after the spools: who exited by itself before PID 1 did
      this.journal?.close();
      try {
        fs.rmSync(this.spoolDir, { recursive: true, force: true });
      } catch {}
      this.watchdog?.release();
      for (const p of this.procs.values()) if (p.end === undefined && !isAlive(p.pid)) p.end = this.now();
      this.settleExits();
      const { meta } = this.trace;
      meta.durationMs = this.now();
      meta.complete = this.incompleteReason === undefined;
      if (this.incompleteReason) meta.incompleteReason = this.incompleteReason;
      // Events from different sources arrive slightly out of order; the trace is sorted by time.
      this.trace.events.sort((a, b) => a.t - b.t);
      mapTraceSourcePositions(this.trace); // compiled frames → their .ts originals, from .map files
      attributeFromSource(this.trace); // handles no object was seen to hold → the one call in the user's source
      this.trace.analysis = analyze(this.trace);
      if (this.opts.tracePath) writeTrace(this.opts.tracePath, this.trace);
      this.rec.updates.close();
      this.resolveDone(this.trace);
      return this.trace;
    })();
    return this.finishing;
  }

  get deadlineReached(): boolean {
    return this.deadlineHit;
  }

  /**
   * The watchdog's half: replays a dead launcher's journal through the same paths the live run
   * took, merges the preload's spools, adds what the watchdog did, and seals the trace.
   */
  rebuild(records: Record<string, unknown>[], spoolDir: string, rescue: Rescue): Trace {
    let meta: Trace['meta'] | undefined;
    for (const r of records) {
      try {
        if (r.type === 'meta') meta = r.meta as Trace['meta'];
        else if (r.type === 'hello') this.onHello(validateHello(r.hello));
        else if (r.type === 'events' && typeof r.seq === 'number' && Number.isSafeInteger(r.pid))
          this.onPreloadEvents(
            r.pid as number,
            r.seq,
            validEvents(r.events, () => this.trace.meta.counters.malformedFrames++),
          );
        else if (r.type === 'launcher') this.push(r.event as TraceEvent);
        else if (r.type === 'out' && this.trace.output.length < MAX_OUTPUT_LINES) this.trace.output.push(r.line as OutputLine);
        else if (r.type === 'proc') this.upsertProc(r.proc as ProcessInfo);
      } catch {
        this.trace.meta.counters.malformedFrames++;
      }
    }
    // The launcher's own counts and settings win over the replay's.
    if (meta) Object.assign(this.trace.meta, meta);
    this.mainPid = this.trace.meta.mainPid ?? [...this.procs.values()].find((p) => p.isMain)?.pid ?? 0;
    if (this.procs.get(this.mainPid)?.exit) this.mainExited = true;
    this.spoolDir = spoolDir;
    this.mergeSpools();
    const t = this.now();
    const names = rescue.stopped.map((s) => `pid ${s.pid} by ${s.signal}`);
    this.addLauncher({
      kind: 'note',
      t,
      text: `The tool's process (pid ${rescue.launcherPid}) ended before the run did. Its watchdog ${names.length ? `stopped what was still running (${names.join(', ')})` : 'found nothing of the service still running'} and saved what had been captured.`,
    });
    for (const s of rescue.stopped) {
      if (!this.procs.has(s.pid)) this.upsertProc({ pid: s.pid, ppid: s.ppid, command: redactArgv(s.command.split(' ')).join(' ') });
      this.deliver(s.pid, s.signal);
      const p = this.procs.get(s.pid)!;
      if (p.end === undefined) p.end = this.rel(s.at);
    }
    for (const p of this.procs.values()) if (p.end === undefined && !isAlive(p.pid)) p.end = t;
    this.settleExits();
    const m = this.trace.meta;
    m.durationMs = this.now();
    m.complete = false;
    m.incompleteReason = `the tool's process ended before the run did (killed, or crashed): its watchdog stopped the service and saved this trace${m.incompleteReason ? `; earlier: ${m.incompleteReason}` : ''}`;
    this.trace.events.sort((a, b) => a.t - b.t);
    mapTraceSourcePositions(this.trace);
    attributeFromSource(this.trace);
    this.trace.analysis = analyze(this.trace);
    return this.trace;
  }

  /** Starts the traffic once there is somewhere to send it (the first TCP listen, or an explicit target). */
  private startLoad(): void {
    this.traffic?.start(this.firstTcpAddress);
  }
}
