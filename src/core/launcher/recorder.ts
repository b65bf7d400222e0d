/**
 * The event recorder: the trace being written, fed by the preloads (hello, events, over the
 * socket or from spools), by the launcher's own events and by the service's output lines. Each
 * record also goes to the journal (a watchdog rebuilds the trace from it if the launcher dies)
 * and to live updates.
 */
import type { Journal } from '../journal';
import { OutputAttribution } from '../output-attribution';
import type { Platform } from '../platform/session';
import { redactArgv, redactText } from '../redact';
import type { RunOptions } from '../run-api';
import { TOOL_VERSION } from '../version';
import { isTcpAddress } from '../../shared/address';
import { TRACE_FORMAT, TRACE_VERSION, type LauncherEvent, type OutputLine, type ProcessInfo, type Trace, type TraceEvent } from '../../shared/trace';
import type { HandleInfo, HelloMessage, PreloadEvent } from '../../shared/wire';
import { monoMs } from './clock';
import { MAX_LINE_CHARS } from './output';
import { LiveUpdates } from './updates';

export const MAX_OUTPUT_LINES = 50_000;

/** An empty trace for a run of `opts.command` in `cwd`. */
export function newTrace(opts: RunOptions, cwd: string): Trace {
  return {
    format: TRACE_FORMAT,
    version: TRACE_VERSION,
    meta: {
      tool: 'shutdown-trace',
      toolVersion: TOOL_VERSION,
      createdAt: new Date().toISOString(),
      command: redactArgv(opts.command),
      cwd,
      platform: `${process.platform}-${process.arch}`,
      node: process.version,
      plan: opts.plan,
      complete: false,
      durationMs: 0,
      counters: { droppedEvents: 0, rejectedConnections: 0, malformedFrames: 0, outputLinesTruncated: 0 },
    },
    processes: [],
    events: [],
    output: [],
  };
}

export interface RecorderHooks {
  mainPid(): number;
  journal(): Journal | undefined;
  /** Undefined while the run is being constructed. */
  platform(): Platform | undefined;
  /** A process listened on a TCP port (tools' own IPC pipe servers do not count). */
  tcpListen(address: string): void;
}

export class Recorder {
  readonly procs = new Map<number, ProcessInfo>();
  readonly updates: LiveUpdates;
  /** Per pid, the frame numbers already recorded: the socket and the spool may both bring one. */
  private readonly seqSeen = new Map<number, Set<number>>();
  /** Files output lines under the pid that wrote them (processes sharing the main pipes report their writes). */
  private readonly outputs: OutputAttribution;

  constructor(
    private readonly t0: number,
    readonly trace: Trace,
    private readonly hooks: RecorderHooks,
  ) {
    this.updates = new LiveUpdates(() => this.now());
    this.outputs = new OutputAttribution(() => hooks.mainPid());
  }

  /** stdout and stderr come through one terminal: its lines are read as stdout until a process's report says otherwise. */
  streamsShared(): void {
    this.outputs.streamsShared = true;
  }

  /** Preload monotonic ms → trace ms. */
  rel(t: number): number {
    return Math.round((t - this.t0) * 1000) / 1000;
  }

  private relHandle(h: HandleInfo): HandleInfo {
    return typeof h?.createdAt === 'number' ? { ...h, createdAt: this.rel(h.createdAt) } : h;
  }

  now(): number {
    return Math.round((monoMs() - this.t0) * 1000) / 1000;
  }

  /** A line of the service's output, at most MAX_OUTPUT_LINES of them, each at most MAX_LINE_CHARS. */
  output(t: number, stream: 'stdout' | 'stderr', raw: string): void {
    if (this.trace.output.length >= MAX_OUTPUT_LINES) {
      this.trace.meta.counters.outputLinesTruncated++;
      return;
    }
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const line: OutputLine = { t, pid: this.hooks.mainPid(), stream, text: text.length > MAX_LINE_CHARS ? text.slice(0, MAX_LINE_CHARS) + ' …[truncated]' : text };
    this.outputs.line(line);
    this.hooks.journal()?.write({ type: 'out', line });
    this.trace.output.push(line);
    this.updates.output(line);
  }

  /** A process seen for the first time, or what is new about one. */
  proc(p: Partial<ProcessInfo> & { pid: number }): ProcessInfo {
    let cur = this.procs.get(p.pid);
    if (!cur) {
      cur = { ppid: 0, command: '', traced: false, isMain: false, ...p };
      this.procs.set(p.pid, cur);
      this.trace.processes.push(cur);
    } else {
      for (const [k, v] of Object.entries(p)) if (v !== undefined) (cur as unknown as Record<string, unknown>)[k] = v;
    }
    this.hooks.journal()?.write({ type: 'proc', proc: cur });
    this.updates.process(cur);
    return cur;
  }

  hello(h: HelloMessage): void {
    h = this.hooks.platform()!.hello(h);
    const argv = h.argv.length ? h.argv : ['node'];
    // Keep the command as ps shows it (npm sets its title) when we already know it.
    const known = this.procs.get(h.pid);
    this.proc({ pid: h.pid, ppid: h.ppid, command: known?.command || redactArgv(argv).join(' '), traced: true, node: h.node, start: known?.start ?? Math.max(0, this.rel(h.t)) });
  }

  /** A preload's frame of events, once (by its sequence number), on the trace's clock, redacted. */
  preloadEvents(pid: number, seq: number, events: PreloadEvent[]): void {
    const platform = this.hooks.platform()!;
    [pid, events] = [platform.hostPid(pid), platform.preloadEvents(events)];
    let seen = this.seqSeen.get(pid);
    if (!seen) this.seqSeen.set(pid, (seen = new Set()));
    if (seen.has(seq)) return;
    seen.add(seq);
    for (const e of events) {
      if (e.kind === 'output') {
        this.outputs.report(pid, this.rel(e.t), e.stream, e.text);
        continue;
      }
      const ev = { ...e, t: this.rel(e.t), pid } as TraceEvent;
      if (ev.kind === 'handle-open') ev.handle = this.relHandle(ev.handle);
      if (ev.kind === 'snapshot') ev.handles = ev.handles.map((h) => this.relHandle(h));
      if (ev.kind === 'dropped') this.trace.meta.counters.droppedEvents += ev.count;
      // "Listening" means a TCP port: tools' own IPC pipe servers (tsx, pm2) do not count.
      if (ev.kind === 'listen' && isTcpAddress(ev.address)) this.hooks.tcpListen(ev.address);
      if (ev.kind === 'error') ev.message = redactText(ev.message);
      if (ev.kind === 'spawn') ev.command = redactText(ev.command);
      this.push(ev);
    }
  }

  /** An event of the launcher's own: it carries the pid of the process it concerns, or 0. */
  launcherEvent(e: LauncherEvent): void {
    const pid = 'pid' in e && typeof e.pid === 'number' ? e.pid : 'target' in e && typeof e.target === 'number' ? e.target : 0;
    const ev = { ...(e as object), pid } as TraceEvent;
    this.hooks.journal()?.write({ type: 'launcher', event: ev });
    this.push(ev);
    this.hooks.platform()?.onLauncherEvent(e);
  }

  push(ev: TraceEvent): void {
    this.trace.events.push(ev);
    this.updates.event(ev);
  }
}
