/**
 * setTimeout and setInterval, wrapped to record each timer's creation site. Live timers are
 * kept in a Set pruned amortised: the set never holds more than ~2x the live timers.
 */
import { now } from './clock';
import { captureSite, SHALLOW_FRAMES } from './site';
import { disguise } from './native-look';
import { setInterval as ownSetInterval } from './own-timers';
import { kInfo, type PreloadContext, type Tracked } from './context';
import type { SiteSampler } from './site-sampling';

export interface LiveTimers {
  readonly live: Set<NodeJS.Timeout & Tracked>;
  /** Drops fired and cleared timers from the set. */
  prune(): void;
}

export function installTimers(ctx: PreloadContext, sampler: SiteSampler): LiveTimers {
  const liveTimers = new Set<NodeJS.Timeout & Tracked>();
  let pruneAt = 1024;
  let sizeAfterPrune = 0;
  const pruneTimers = () => {
    for (const t of liveTimers) if ((t as unknown as { _destroyed: boolean })._destroyed) liveTimers.delete(t);
    sizeAfterPrune = liveTimers.size;
    pruneAt = Math.max(1024, liveTimers.size * 2);
  };
  /** Live timers, pruning first (amortised: at most once per 256 creations) when the set looks big. */
  const liveTimerCount = () => {
    if (liveTimers.size >= 2000 && liveTimers.size - sizeAfterPrune > 256) pruneTimers();
    return liveTimers.size;
  };
  const wantTimerSite = sampler.wantTimerSite;
  const timers = require('timers') as typeof import('timers');
  const wrapTimer = (orig: Function, type: 'timeout' | 'interval') => {
    const wrapped = function (this: unknown, _cb: unknown, ms?: unknown) {
      // eslint-disable-next-line prefer-rest-params
      const t = orig.apply(this, arguments);
      try {
        if (t && typeof t === 'object') {
          const sampled = wantTimerSite(liveTimerCount());
          (t as Tracked)[kInfo] = {
            id: '',
            type,
            site: sampled ? captureSite(wrapped, SHALLOW_FRAMES) : undefined,
            createdAt: now(),
            details: sampled ? { delayMs: typeof ms === 'number' ? ms : 1 } : { delayMs: typeof ms === 'number' ? ms : 1, siteSampled: false },
          };
          liveTimers.add(t);
          if (liveTimers.size >= pruneAt) pruneTimers();
        }
      } catch {}
      return t;
    };
    Object.defineProperties(wrapped, Object.getOwnPropertyDescriptors(orig));
    return disguise(wrapped, orig);
  };
  const ourSetTimeout = wrapTimer(globalThis.setTimeout, 'timeout');
  const ourSetInterval = wrapTimer(globalThis.setInterval, 'interval');
  const origSetTimeout = globalThis.setTimeout;
  const origSetInterval = globalThis.setInterval;
  globalThis.setTimeout = ourSetTimeout as typeof setTimeout;
  globalThis.setInterval = ourSetInterval as typeof setInterval;
  if (timers.setTimeout === origSetTimeout) (timers as { setTimeout: unknown }).setTimeout = ourSetTimeout;
  if (timers.setInterval === origSetInterval) (timers as { setInterval: unknown }).setInterval = ourSetInterval;
  // Fired and cleared timers leave the set within ~2 s, so what it holds tracks live timers.
  // The tool's own timers (own-timers.ts) use the originals and are unref'd: never counted.
  ownSetInterval(() => ctx.guard('prune', pruneTimers), 2000);
  return { live: liveTimers, prune: pruneTimers };
}
