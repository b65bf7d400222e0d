/** Live updates for a viewer (the extension's timeline): what was recorded since the last one, at most every 16 ms. */
import type { RunUpdate } from '../run-api';
import type { OutputLine, ProcessInfo, TraceEvent } from '../../shared/trace';

export type Listener = (u: RunUpdate) => void;

export class LiveUpdates {
  private readonly listeners = new Set<Listener>();
  private pending: RunUpdate = { events: [], output: [], processes: [], now: 0 };
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly now: () => number) {}

  event(ev: TraceEvent): void {
    this.pending.events.push(ev);
    this.schedule();
  }

  output(line: OutputLine): void {
    this.pending.output.push(line);
    this.schedule();
  }

  /** A process's latest state replaces any earlier one not yet sent. */
  process(p: ProcessInfo): void {
    this.pending.processes = this.pending.processes.filter((x) => x.pid !== p.pid);
    this.pending.processes.push(p);
    this.schedule();
  }

  subscribe(cb: Listener): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  private schedule(): void {
    if (this.timer || this.listeners.size === 0) return;
    this.timer = setTimeout(() => this.flush(), 16);
  }

  flush(): void {
    this.timer = undefined;
    const u = { ...this.pending, now: this.now() };
    this.pending = { events: [], output: [], processes: [], now: 0 };
    if (u.events.length + u.output.length + u.processes.length === 0) return;
    for (const l of this.listeners) {
      try {
        l(u);
      } catch {}
    }
  }

  /** The last update, then no more. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.flush();
    this.listeners.clear();
  }
}
