/**
 * node:timers/promises makes its Timeout inside Node, where the setTimeout hook (timers.ts)
 * never sees it: `await setTimeout(ms)` in a polling loop, `for await (… of setInterval(ms))`.
 * Their calls are recorded instead, and a snapshot names them only for the Timeouts that Node
 * counts alive and no recorded timer accounts for:
 *  - a setTimeout whose time has not come, whose signal is not aborted and that is ref'd holds
 *    its Timeout: that is certain;
 *  - a setInterval iterator holds one until the loop over it ends, which is not seen: those
 *    account for what the setTimeouts do not, newest first.
 * The wrappers read the options' own data properties only (a getter is the caller's code, and
 * Node reads it once itself) and keep a bounded number of calls.
 */
import { now } from './clock';
import { captureSite, SHALLOW_FRAMES, type SiteHolder } from './site';
import { disguise } from './native-look';
import type { PreloadContext } from './context';
import type { SiteSampler } from './site-sampling';
import type { HandleInfo } from '../shared/wire';

const MAX_CALLS = 256;
// As Node does: a delay that is not a number in [1, 2^31-1] is 1 ms.
const TIMEOUT_MAX = 2 ** 31 - 1;

interface Call {
  kind: 'timeout' | 'interval';
  ms: number;
  at: number;
  site: SiteHolder | undefined;
  signal: unknown;
}

export interface PromiseTimers {
  /**
   * Up to `count` recorded timers that hold a Timeout now, as handles (the certain ones first),
   * each with the record it was made from, the object owners are attributed to.
   */
  holding(count: number): { handle: HandleInfo; source: object }[];
}

export function installPromiseTimers(ctx: PreloadContext, sampler: SiteSampler): PromiseTimers {
  const calls: Call[] = [];
  const none: PromiseTimers = { holding: () => [] };
  let tp: Record<string, unknown>;
  try {
    tp = require('timers/promises') as Record<string, unknown>;
  } catch {
    return none;
  }
  const abortedGetter = Object.getOwnPropertyDescriptor(AbortSignal.prototype, 'aborted')?.get;
  const own = (o: unknown, k: string): unknown => (o !== null && typeof o === 'object' ? Object.getOwnPropertyDescriptor(o, k)?.value : undefined);

  const wrap = (name: 'setTimeout' | 'setInterval', kind: Call['kind']) => {
    const orig = tp[name];
    if (typeof orig !== 'function') return;
    const wrapped = function (this: unknown, delay?: unknown, _value?: unknown, options?: unknown) {
      try {
        if (own(options, 'ref') !== false) {
          let ms = Number(delay);
          if (!(ms >= 1 && ms <= TIMEOUT_MAX)) ms = 1;
          const site = sampler.wantTimerSite(calls.length) ? captureSite(wrapped, SHALLOW_FRAMES) : undefined;
          calls.push({ kind, ms: Math.trunc(ms), at: now(), site, signal: own(options, 'signal') });
          if (calls.length > MAX_CALLS) calls.splice(0, calls.length - MAX_CALLS);
        }
      } catch {}
      // eslint-disable-next-line prefer-rest-params
      return (orig as Function).apply(this, arguments);
    };
    Object.defineProperties(wrapped, Object.getOwnPropertyDescriptors(orig));
    tp[name] = disguise(wrapped, orig as Function);
  };
  wrap('setTimeout', 'timeout');
  wrap('setInterval', 'interval');

  const aborted = (signal: unknown): boolean => {
    if (signal === undefined || !abortedGetter) return false;
    try {
      return abortedGetter.call(signal) === true;
    } catch {
      return false;
    }
  };

  return {
    holding(count) {
      if (count <= 0 || calls.length === 0) return [];
      const t = now();
      // Fired or aborted setTimeouts hold nothing any more: dropped.
      for (let i = calls.length - 1; i >= 0; i--) {
        const c = calls[i];
        if ((c.kind === 'timeout' && c.at + c.ms <= t) || aborted(c.signal)) calls.splice(i, 1);
      }
      const newestFirst = calls.slice().reverse();
      const chosen = [...newestFirst.filter((c) => c.kind === 'timeout'), ...newestFirst.filter((c) => c.kind === 'interval')].slice(0, count);
      return chosen.map((call) => ({
        source: call,
        handle: ctx.describe(call, {
          id: ctx.newId('tp'),
          type: call.kind,
          site: call.site,
          createdAt: call.at,
          label: `timers/promises ${call.kind === 'timeout' ? 'setTimeout' : 'setInterval'} ${call.ms} ms`,
          details: { delayMs: call.ms, promises: true },
          ref: true,
        }),
      }));
    },
  };
}
