/**
 * What starts at the first signal: request tracking, the count of live resources sampled every
 * 50 ms (sent when it changes, or once a second), and "stalled" snapshots when nothing has
 * happened for the stall time (at most three).
 */
import { now } from './clock';
import { setTimeout as ownSetTimeout, setInterval as ownSetInterval } from './own-timers';
import type { PreloadContext } from './context';
import type { RequestTracking } from './requests';
import type { Snapshots } from './snapshot';

export interface ShutdownWatch {
  /** The first signal: shutdown starts. Idempotent. */
  start(): void;
  /** (Re)arms the stall snapshot: something happened. */
  armStall(): void;
  /** The process is ending: sampling stops. */
  stop(): void;
}

export function createShutdownWatch(ctx: PreloadContext, snapshots: Snapshots, requests: RequestTracking, stallMs: number): ShutdownWatch {
  const { emit, guard } = ctx;
  let stallTimer: NodeJS.Timeout | undefined;
  let stallSnapshots = 0;
  let countSampler: NodeJS.Timeout | undefined;
  const armStall = () => {
    if (stallTimer) clearTimeout(stallTimer);
    if (stallSnapshots >= 3) return;
    stallTimer = ownSetTimeout(() => {
      stallSnapshots++;
      guard('stall snapshot', () => snapshots.snapshot('stalled'));
    }, stallMs);
  };
  let lastCount = -1;
  let lastCountAt = 0;
  const sampleCount = () =>
    guard('count', () => {
      const t = now();
      const count = snapshots.userResourceCount();
      if (count === lastCount && t - lastCountAt < 1000) return;
      lastCount = count;
      lastCountAt = t;
      emit({ kind: 'active-count', t, count });
    });
  const start = () => {
    if (ctx.shuttingDown) return;
    ctx.shuttingDown = true;
    // The sampler is armed now, before the listeners arm timers of their own: a timer list runs
    // the microtasks between its timers, so arming ours after a listener's 50 ms timer would run
    // that listener's continuation inside Node's timer processing (its error stacks would show
    // runNextTicks and listOnTimeout, as they do not untraced).
    countSampler = ownSetInterval(sampleCount, 50);
    // The rest after the signal's listeners, not before them: untraced, they run at once. A
    // server.close() in one of them starts request tracking itself; requests reach the service
    // only after the listeners (and this microtask) have run.
    queueMicrotask(() =>
      guard('shutdown start', () => {
        requests.start();
        sampleCount();
      }),
    );
  };
  const stop = () => {
    if (countSampler) clearInterval(countSampler);
  };
  return { start, armStall, stop };
}
