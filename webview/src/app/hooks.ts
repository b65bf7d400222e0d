/** Hooks for tests and benchmarks: window.__shutdownTraceStats and window.__shutdownTrace. */
import type { App } from '../app';

// ---------------------------------------------------------------- hooks for tests and benchmarks

export function exposeHooks(a: App): void {
  const w = window as unknown as Record<string, unknown>;
  w.__shutdownTraceStats = a.stats;
  w.__shutdownTrace = {
    view: () => ({ t0: a.view.t0, t1: a.view.t1, follow: a.view.follow }),
    zoom: (f: number) => a.zoomBy(f),
    pan: (px: number) => a.panBy(px),
    fit: () => a.fit(),
    nextLeak: () => a.nextLeak(1),
    select: (k: string | null) => a.select(k, { reveal: true }),
    drawNow: () => a.drawNow(),
    /**
     * n synchronous zoom/pan frames. `avg/p95/max`: draw time (JS); `rasterP95/rasterMax`:
     * draw + raster (forced by a 1-pixel read back), i.e. the whole frame's CPU cost.
     */
    benchFrames: (n = 60) => {
      const times: number[] = [];
      const totals: number[] = [];
      const ctx = a.canvas.getContext('2d')!;
      a.benchmarking = true;
      for (let k = 0; k < n; k++) {
        const phase = k % 4;
        if (phase === 0) a.view.zoomAt(1.25, (a.view.t0 + a.view.t1) / 2, a.bounds());
        else if (phase === 1) a.view.panPx(a.view.width * 0.07, a.bounds());
        else if (phase === 2) a.view.zoomAt(0.8, (a.view.t0 + a.view.t1) / 2, a.bounds());
        else a.view.panPx(-a.view.width * 0.07, a.bounds());
        const t0 = performance.now();
        times.push(a.drawNow());
        ctx.getImageData(0, 0, 1, 1);
        totals.push(performance.now() - t0);
      }
      a.benchmarking = false;
      a.syncLayerSoon();
      const q = (a: number[], p: number): number => a.slice().sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(a.length * p))];
      return { avg: times.reduce((a, b) => a + b, 0) / n, p95: q(times, 0.95), max: q(times, 1), rasterP95: q(totals, 0.95), rasterMax: q(totals, 1) };
    },
  };
}
