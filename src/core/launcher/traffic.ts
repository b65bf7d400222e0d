/**
 * Traffic during shutdown (--load, --sse): starts the load generator once the service listens
 * (or at once for an explicit target), and after the main process exits keeps it going for its
 * tail, then records the totals.
 */
import { LoadGenerator, LOAD_DEFAULTS } from '../load';
import type { LoadConfig } from '../../shared/traffic';
import type { LauncherEvent } from '../../shared/trace';

export interface TrafficHost {
  now(): number;
  event(e: LauncherEvent): void;
  /** The traffic started, to this URL (before its load-start event). */
  started(url: string): void;
}

export class Traffic {
  private readonly load: LoadGenerator;
  private failed = false;

  constructor(
    cfg: LoadConfig,
    private readonly host: TrafficHost,
  ) {
    this.load = new LoadGenerator(cfg, { now: () => host.now(), onSpan: (span) => host.event({ kind: 'load-request', ...span }) });
  }

  /** Starts the traffic once there is somewhere to send it (the first TCP listen, or an explicit target). */
  start(firstTcpAddress: string | undefined): void {
    const load = this.load;
    if (load.started || this.failed) return;
    const auto = load.cfg.target === 'auto' || load.cfg.target === '';
    if (auto && !firstTcpAddress) return;
    try {
      const t = this.host.now();
      const url = load.start(firstTcpAddress);
      this.host.started(url.href);
      this.host.event({ kind: 'load-start', t, url: url.href, rate: load.cfg.rate, keepAlive: load.cfg.keepAlive, sse: load.cfg.sse ?? 0 });
    } catch (e) {
      this.failed = true;
      this.host.event({ kind: 'note', t: this.host.now(), text: `No traffic was sent: ${(e as Error).message}.` });
    }
  }

  /** A platform's endpoint lag: requests keep coming this long after the exit. */
  extendTail(ms: number): void {
    this.load.cfg.tailMs = Math.max(this.load.cfg.tailMs ?? LOAD_DEFAULTS.tailMs, ms);
  }

  stopNewRequests(): void {
    this.load.stopNewRequests();
  }

  /** Stops the traffic (after its tail past the main process's exit) and records the totals. */
  async finish(mainExitAt: number | undefined): Promise<void> {
    const load = this.load;
    if (!load.started) {
      if (!this.failed) this.host.event({ kind: 'note', t: this.host.now(), text: 'No traffic was sent: the service never listened on a TCP port.' });
      return;
    }
    const tail = load.cfg.tailMs ?? LOAD_DEFAULTS.tailMs;
    if (mainExitAt !== undefined) {
      const wait = mainExitAt + tail - this.host.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const summary = await load.finish(1000);
    this.host.event({ kind: 'load-summary', t: this.host.now(), ...summary });
  }
}
