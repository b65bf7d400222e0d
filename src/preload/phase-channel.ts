/**
 * Shutdown phases the app marks itself, through the diagnostics_channel tracing channel
 * PHASE_CHANNEL: each phase's start and end (or error), or no end, which is exactly what a hung
 * shutdown step looks like.
 */
import { now } from './clock';
import { errText } from './guard';
import type { PreloadContext } from './context';
import { PHASE_CHANNEL } from '../shared/wire';

export function installPhaseChannel({ emit, guard, newId }: PreloadContext): void {
  guard('phase channel', () => {
    const dc = require('diagnostics_channel') as typeof import('diagnostics_channel') & { tracingChannel?: Function };
    if (typeof dc.tracingChannel !== 'function') return;
    const kPhase = Symbol('phase');
    const ch = dc.tracingChannel(PHASE_CHANNEL) as unknown as { subscribe(h: Record<string, (ctx: Record<string | symbol, unknown>) => void>): void };
    const end = (ctx: Record<string | symbol, unknown>) =>
      guard('phase end', () => {
        const id = ctx[kPhase] as string | undefined;
        if (!id) return;
        const err = ctx.error;
        emit({ kind: 'phase-end', t: now(), id, error: err === undefined ? undefined : errText(err) });
      });
    ch.subscribe({
      start: (ctx) =>
        guard('phase start', () => {
          const id = newId('ph');
          ctx[kPhase] = id;
          emit({ kind: 'phase-start', t: now(), id, name: String(ctx.name ?? ctx.phase ?? 'phase').slice(0, 200) });
        }),
      // `end` comes when the function returns. Only traceSync sets `result` by then (or the
      // function threw); tracePromise and traceCallback phases end at `asyncEnd` — or never,
      // which is exactly what a hung shutdown step looks like.
      end: (ctx) => {
        if ('result' in ctx || 'error' in ctx) end(ctx);
      },
      asyncStart: () => {},
      asyncEnd: end,
      error: () => {},
    });
  });
}
