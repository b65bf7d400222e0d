/**
 * Which new handles get a creation site. Memory stays proportional to what is live: every
 * handle gets a creation site while fewer than SITE_ALWAYS of its kind are live, then one in
 * SITE_SAMPLE. Unsampled handles are still reported and counted; only their stack is missing
 * (details.siteSampled = false).
 */
import { now } from './clock';
import type { PreloadContext } from './context';

const SITE_ALWAYS = 2000;
const SITE_SAMPLE = 16;
// CPU stays proportional too: a site costs 20–40 µs, and some libraries arm a timer per request
// (pg-pool's idle timer each time a client goes back to the pool). Every timer gets a site for
// the process's first TIMER_SITES_AT_START timers (start-up, where the timers that leak are
// armed) and from the first signal on (the timers that can hold a shutdown). In between, the
// first TIMER_SITES_PER_S of each second get one, then one in TIMER_SAMPLE. A library's timer
// left alive is still tied to its owner (owners.ts) without a site of its own.
const TIMER_SITES_AT_START = 1000;
const TIMER_SITES_PER_S = 10;
const TIMER_SAMPLE = 256;

export interface SiteSampler {
  /** For a handle of a kind with `live` handles alive. */
  wantSite(live: number): boolean;
  /** For a timer, with `live` timers alive. */
  wantTimerSite(live: number): boolean;
}

/** One sampler for all kinds of handle: the sampling counter is shared, as one tick. */
export function createSiteSampler(ctx: PreloadContext): SiteSampler {
  let sampleTick = 0;
  const wantSite = (live: number) => live < SITE_ALWAYS || ++sampleTick % SITE_SAMPLE === 0;
  let timersSeen = 0;
  let timerWindow = 0;
  let timerSites = 0;
  const wantTimerSite = (live: number) => {
    if (++timersSeen <= TIMER_SITES_AT_START || ctx.shuttingDown) return wantSite(live);
    const second = Math.floor(now() / 1000);
    if (second !== timerWindow) {
      timerWindow = second;
      timerSites = 0;
    }
    if (timerSites < TIMER_SITES_PER_S) {
      if (!wantSite(live)) return false;
      timerSites++;
      return true;
    }
    return ++sampleTick % TIMER_SAMPLE === 0;
  };
  return { wantSite, wantTimerSite };
}
