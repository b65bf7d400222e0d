/**
 * setTimeout and setInterval, wrapped to keep every live timer within reach and to record the
 * creation site of the sampled ones (site-sampling.ts).
 *
 * The per-timer cost is kept to one array slot: libraries arm a timer per request (pg-pool's
 * idle timer each time a client goes back to the pool). An unsampled timer gets nothing stored
 * on it; its type, delay and arming time are read from Node's own Timeout fields at snapshot
 * time (`_repeat`, `_idleTimeout`, `_idleStart`), which are also what decides when it fires.
 */
import { now } from './clock';
import { captureSite, SHALLOW_FRAMES } from './site';
import { disguise } from './native-look';
import { setInterval as ownSetInterval } from './own-timers';
import { kInfo, type PreloadContext, type Tracked, type TrackInfo } from './context';
import type { SiteSampler } from './site-sampling';

type NodeTimeout = NodeJS.Timeout &
  Tracked & {
    _destroyed?: boolean;
    _idleStart?: number;
    _idleTimeout?: number;
    _repeat?: number | null;
  };

export interface LiveTimers {
  /** Every timer that may still be alive (fired and cleared ones until the next prune). */
  readonly live: readonly NodeTimeout[];
  /** Drops fired and cleared timers. */
  prune(): void;
  /** What the snapshot shows of a timer: recorded when it was sampled, else read from Node's fields. */
  infoOf(t: NodeTimeout): TrackInfo;
  /** When Node last armed it (creation, or a later refresh()), on the tool's clock. */
  armedAt(t: NodeTimeout): number | undefined;
}

/**
 * The delay Node armed a timer with (it turns 0, NaN, strings and overflows into 1 ms or a
 * number): an interval's period, else the timeout's; `requested` when Node's fields are unreadable.
 */
function delayOf(t: NodeTimeout, requested?: unknown): number {
  const d = typeof t._repeat === 'number' ? t._repeat : t._idleTimeout;
  return typeof d === 'number' && d >= 0 ? d : typeof requested === 'number' ? requested : 1;
}

// Dead timers are dropped once the array doubles what was alive at the last prune (never below
// PRUNE_MIN): each prune costs one pass, amortised over as many creations.
const PRUNE_MIN = 512;

export function installTimers(ctx: PreloadContext, sampler: SiteSampler): LiveTimers {
  const live: NodeTimeout[] = [];
  let pruneAt = PRUNE_MIN;
  const prune = () => {
    let k = 0;
    for (let i = 0; i < live.length; i++) {
      const t = live[i];
      if (!t._destroyed) live[k++] = t;
    }
    live.length = k;
    pruneAt = Math.max(PRUNE_MIN, k * 2);
  };
  const wantTimerSite = sampler.wantTimerSite;
  const timers = require('timers') as typeof import('timers');
  const wrapTimer = (orig: Function, type: 'timeout' | 'interval') => {
    const wrapped = function (this: unknown, _cb: unknown, ms?: unknown) {
      // eslint-disable-next-line prefer-rest-params
      const t = orig.apply(this, arguments);
      try {
        if (t && typeof t === 'object') {
          if (wantTimerSite(live.length)) {
            (t as NodeTimeout)[kInfo] = { id: '', type, site: captureSite(wrapped, SHALLOW_FRAMES), createdAt: now(), details: { delayMs: delayOf(t, ms) } };
          }
          if (live.push(t) >= pruneAt) prune();
        }
      } catch {}
      return t;
    };
    Object.defineProperties(wrapped, Object.getOwnPropertyDescriptors(orig));
    return disguise(wrapped, orig);
  };
  const origSetTimeout = globalThis.setTimeout;
  const origSetInterval = globalThis.setInterval;
  const ourSetTimeout = wrapTimer(origSetTimeout, 'timeout');
  const ourSetInterval = wrapTimer(origSetInterval, 'interval');
  globalThis.setTimeout = ourSetTimeout as typeof setTimeout;
  globalThis.setInterval = ourSetInterval as typeof setInterval;
  if (timers.setTimeout === origSetTimeout) (timers as { setTimeout: unknown }).setTimeout = ourSetTimeout;
  if (timers.setInterval === origSetInterval) (timers as { setInterval: unknown }).setInterval = ourSetInterval;
  // Fired and cleared timers leave within ~2 s even when few are created. The tool's own timers
  // (own-timers.ts) use the originals and are unref'd: never counted.
  const pruner = ownSetInterval(() => ctx.guard('prune', prune), 2000) as NodeTimeout;
  // Node stamps a timer with its loop clock (ms since the process's loop began) when it arms it;
  // the offset to the tool's clock (clock.ts) is read once, from a timer armed just now.
  const loopClockOffset = typeof pruner._idleStart === 'number' ? now() - pruner._idleStart : undefined;

  const armedAt = (t: NodeTimeout) => (loopClockOffset !== undefined && typeof t._idleStart === 'number' ? t._idleStart + loopClockOffset : undefined);
  const infoOf = (t: NodeTimeout): TrackInfo => {
    const recorded = t[kInfo];
    if (recorded) return recorded;
    const info: TrackInfo = {
      id: '',
      type: typeof t._repeat === 'number' ? 'interval' : 'timeout',
      // For an unsampled timer, when it was last armed: for a timeout, what its firing counts from.
      createdAt: armedAt(t) as number,
      details: { delayMs: delayOf(t), siteSampled: false },
    };
    t[kInfo] = info;
    return info;
  };
  return {
    live,
    prune,
    infoOf,
    armedAt,
  };
}
