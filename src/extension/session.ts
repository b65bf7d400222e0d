/**
 * One traced run as the extension sees it: the request, the launcher's RunHandle, its state,
 * and change events for the panel and the status bar.
 */
import * as vscode from 'vscode';
import type { RunHandle } from '../core/run-api';
import type { SignalPlan, Trace, TraceEvent } from '../shared/trace';
import type { RunOverrides, RunSettings } from './settings';

export interface RunRequest {
  kind: 'file' | 'script' | 'launch' | 'command';
  /** Short, for titles: "server.ts", "npm run start", "Launch Program". */
  label: string;
  argv: string[];
  cwd: string;
  env?: Record<string, string>;
  overrides?: RunOverrides;
  /** Workspace folder (fsPath) for settings and relative paths. */
  folder?: string;
  /** Things to tell the user before the output (ignored launch options, shell use). */
  notes?: string[];
}

export type SessionState = 'starting' | 'running' | 'finished' | 'failed';

let nextId = 1;

export class RunSession implements vscode.Disposable {
  readonly id = nextId++;
  state: SessionState = 'starting';
  handle?: RunHandle;
  /** The final trace once the run ended. */
  final?: Trace;
  failure?: string;
  tracePath?: string;
  private lastNow = 0;
  private lastNowAt = Date.now();
  private scanned = 0;
  private firstSignal?: { signal: string; t: number };
  private unsubscribe?: () => void;
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly ended = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  readonly onDidEnd = this.ended.event;
  private resolveDone!: (t: Trace | undefined) => void;
  /** Resolves with the final trace, or undefined when the run could not start. */
  readonly done = new Promise<Trace | undefined>((r) => (this.resolveDone = r));

  constructor(
    readonly request: RunRequest,
    readonly settings: RunSettings,
    readonly plan: SignalPlan,
  ) {}

  get live(): boolean {
    return this.state === 'starting' || this.state === 'running';
  }

  /** The trace as it is now (live) or at the end. */
  get trace(): Trace | undefined {
    return this.final ?? this.handle?.trace;
  }

  /** Current time on the trace clock (ms since spawn), extrapolated between updates. */
  get now(): number {
    if (this.final) return this.final.meta.durationMs;
    return this.lastNow + (Date.now() - this.lastNowAt);
  }

  attach(handle: RunHandle): void {
    this.handle = handle;
    this.state = 'running';
    this.lastNowAt = Date.now();
    this.unsubscribe = handle.onUpdate((u) => {
      this.lastNow = u.now;
      this.lastNowAt = Date.now();
      this.changed.fire();
    });
    handle.done.then(
      (t) => this.finish(t),
      (e) => this.fail(e instanceof Error ? e.message : String(e)),
    );
    this.changed.fire();
  }

  finish(t: Trace): void {
    if (!this.live) return;
    this.final = t;
    this.state = 'finished';
    this.unsubscribe?.();
    this.changed.fire();
    this.ended.fire();
    this.resolveDone(t);
  }

  fail(message: string): void {
    if (!this.live) return;
    this.failure = message;
    this.state = 'failed';
    this.unsubscribe?.();
    this.changed.fire();
    this.ended.fire();
    this.resolveDone(this.handle?.trace);
  }

  /** The first signal the launcher sent (trace time), for the status bar. */
  signalInfo(): { signal: string; t: number } | undefined {
    const events: TraceEvent[] = this.trace?.events ?? [];
    if (!this.firstSignal) {
      for (; this.scanned < events.length; this.scanned++) {
        const e = events[this.scanned];
        if (e.kind === 'signal-sent') {
          this.firstSignal = { signal: e.signal, t: e.t };
          break;
        }
      }
    }
    return this.firstSignal;
  }

  dispose(): void {
    this.unsubscribe?.();
    this.changed.dispose();
    this.ended.dispose();
  }
}
