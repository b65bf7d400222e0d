// Figure 3b: signal → visible in the live timeline. The real live path end to end:
//   process.kill(SIGUSR2) → preload → collector → launcher (startRun, batched updates) →
//   a host that forwards each update as an `append` on the standalone page's /events stream
//   (the `shutdown-trace view` contract) → webview model → canvas frame → accessible DOM marker.
// Two hosts are measured: 'direct' forwards each launcher update at once (what the standalone
// /events contract allows); 'extension' copies the VS Code panel's policy in
// src/extension/traceView.ts (scheduleAppend: a leading-edge throttle — the first change after a
// quiet spell is posted at once, then at most one append per 30 ms — events sliced by index,
// plus a 500 ms tick), so its figure is what the extension's users get. 'batched' is the policy
// the panel had before (one append 100 ms after the first change), kept for comparison.
// Times are taken on each side's own clock (timeOrigin + now) and put on one clock with an offset
// measured by round trips; page-side stamps come from an EventSource wrapper and a MutationObserver
// installed by the bench (the webview itself is untouched).
import path from 'node:path';
import { ROOT } from './lib/build.mjs';
import { sleep, PRELOAD } from './lib/proc.mjs';
import { launchBrowser, serveWebview, openPage, clockOffset } from './lib/page.mjs';
import { summary } from './lib/stats.mjs';

const TARGET = path.join(ROOT, 'bench', 'fixtures', 'signal-target.js');
const epoch = () => performance.timeOrigin + performance.now();

const INIT = String.raw`(() => {
  const now = () => performance.timeOrigin + performance.now();
  const rec = (window.__lat = { sig: {}, dom: {}, domCount: 0, appends: 0 });
  const Orig = window.EventSource;
  class TimedEventSource extends Orig {
    set onmessage(fn) {
      super.onmessage = (ev) => {
        const recv = now();
        fn.call(this, ev);
        const applied = now();
        let m = null;
        try { m = JSON.parse(ev.data); } catch {}
        if (!m || m.type !== 'append') return;
        rec.appends++;
        const nths = m.events.filter((e) => e.kind === 'signal').map((e) => e.nth);
        if (!nths.length) return;
        for (const n of nths) rec.sig[n] = { recv, applied };
        // registered after the app's own frame request: runs right after its draw
        requestAnimationFrame(() => { const t = now(); for (const n of nths) rec.sig[n].drawn = t; });
      };
    }
    get onmessage() { return super.onmessage; }
  }
  window.EventSource = TimedEventSource;
  const count = () => {
    const c = document.querySelectorAll('[data-testid=tl-item][data-kind=signal]').length;
    if (c > rec.domCount) {
      const t = now();
      for (let n = rec.domCount + 1; n <= c; n++) rec.dom[n] = t;
      rec.domCount = c;
    }
  };
  const start = () => new MutationObserver(count).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-kind'] });
  if (document.body) start(); else document.addEventListener('DOMContentLoaded', start);
})();`;

export async function runTimelineLatency(helpers, { signals = 60, host = 'direct', appendIntervalMs = 100, tickMs = 500, browser: given, log = () => {} } = {}) {
  const run = await helpers.startRun({
    command: [process.execPath, TARGET],
    cwd: ROOT,
    env: { NODE_OPTIONS: '' },
    preloadPath: PRELOAD,
    plan: { signal: 'SIGTERM', when: { mode: 'never' }, graceMs: 60000, delivery: 'main' },
  });
  const browser = given ?? (await launchBrowser());
  const node = { kill: {}, update: {}, sent: {} };
  let served;
  let appendTimer = null;
  let tick = null;
  try {
    // wait for the service to listen and the preload to connect
    for (let i = 0; i < 500; i++) {
      if (run.trace.output.some((l) => /listening/.test(l.text)) && run.trace.processes.find((p) => p.pid === run.mainPid)?.traced) break;
      await sleep(10);
    }
    let stream = null;
    let sentEvents = 0;
    let sentOutput = 0;
    const post = (events, output, processes, now) => {
      stream.write(`data: ${JSON.stringify({ type: 'append', events, output, processes, now })}\n\n`);
      const ts = epoch();
      for (const e of events) if (e.kind === 'signal') node.sent[e.nth] = ts;
    };
    // the extension's flushAppend: everything the live trace gained since the last post
    const flushAppend = () => {
      appendTimer = null;
      if (!stream) return;
      const events = run.trace.events.slice(sentEvents);
      const output = run.trace.output.slice(sentOutput);
      sentEvents = run.trace.events.length;
      sentOutput = run.trace.output.length;
      post(events, output, run.trace.processes, run.trace.meta.durationMs || 0);
    };
    let lastPost = -Infinity;
    const scheduleAppend = () => {
      if (appendTimer) return;
      if (host === 'extension') {
        // leading edge when quiet, then at most one append per interval (traceView.ts)
        const wait = Math.max(0, lastPost + appendIntervalMs - performance.now());
        appendTimer = setTimeout(() => {
          lastPost = performance.now();
          flushAppend();
        }, wait);
        return;
      }
      appendTimer = setTimeout(flushAppend, appendIntervalMs);
    };
    served = await serveWebview(helpers, {
      mode: 'events',
      onEvents: (res) => {
        sentEvents = run.trace.events.length;
        sentOutput = run.trace.output.length;
        res.write(`data: ${JSON.stringify({ type: 'trace', trace: run.trace, live: true })}\n\n`);
        stream = res;
        if (host !== 'direct') tick = setInterval(scheduleAppend, tickMs);
      },
    });
    run.onUpdate((u) => {
      const t = epoch();
      for (const e of u.events) if (e.kind === 'signal') node.update[e.nth] = t;
      if (!stream) return;
      if (host !== 'direct') return scheduleAppend();
      // direct: forward what is new (by index, so nothing is sent twice)
      const events = run.trace.events.slice(sentEvents);
      sentEvents = run.trace.events.length;
      sentOutput = run.trace.output.length;
      post(events, u.output, u.processes, u.now);
    });
    const { page, problems } = await openPage(browser, served.url, { initScript: INIT });
    await page.waitForFunction(() => window.__shutdownTraceStats.loads >= 1 && window.__shutdownTraceStats.domItems > 0, null, { timeout: 15000 });
    await sleep(300);
    for (let n = 1; n <= signals; n++) {
      node.kill[n] = epoch();
      process.kill(run.mainPid, 'SIGUSR2');
      // well apart, so each marker is measured alone: 200-300 ms
      await sleep(200 + Math.random() * 100);
    }
    await sleep(500);
    const off = await clockOffset(page);
    const rec = await page.evaluate(() => window.__lat);
    const stats = await page.evaluate(() => ({ ...window.__shutdownTraceStats }));
    await page.context().close();
    // page time → this process's time
    const P = (t) => (t === undefined ? NaN : t - off.offset);
    const stage = { collectorToUpdate: [], received: [], canvas: [], dom: [] };
    let missing = 0;
    for (let n = 1; n <= signals; n++) {
      const k = node.kill[n];
      const s = rec.sig[n];
      if (!s || rec.dom[n] === undefined) missing++;
      stage.collectorToUpdate.push(node.update[n] - k);
      stage.received.push(P(s?.recv) - k);
      stage.canvas.push(P(s?.drawn) - k);
      stage.dom.push(P(rec.dom[n]) - k);
    }
    const out = {
      host,
      hostPolicy:
        host === 'extension'
          ? `leading-edge throttle, at most one append per ${appendIntervalMs} ms, tick ${tickMs} ms (src/extension/traceView.ts)`
          : host === 'batched'
            ? `append ${appendIntervalMs} ms after the first change (the panel's earlier policy)`
            : 'each launcher update forwarded at once',
      signals,
      missing,
      clock: { rttMs: +off.rtt.toFixed(2), offsetMs: +off.offset.toFixed(2) },
      signalToLauncherUpdateMs: summary(stage.collectorToUpdate.filter(Number.isFinite)),
      signalToPageReceivedMs: summary(stage.received.filter(Number.isFinite)),
      signalToCanvasFrameMs: summary(stage.canvas.filter(Number.isFinite)),
      signalToDomMarkerMs: summary(stage.dom.filter(Number.isFinite)),
      pageAppends: rec.appends,
      pageAppendMsLast: stats.appendMs,
      problems,
    };
    log(
      `  [${host} host] signal → canvas frame p50 ${out.signalToCanvasFrameMs.p50} ms p95 ${out.signalToCanvasFrameMs.p95} ms; → DOM marker p50 ${out.signalToDomMarkerMs.p50} ms p95 ${out.signalToDomMarkerMs.p95} ms (${missing} missing)`,
    );
    return out;
  } finally {
    if (appendTimer) clearTimeout(appendTimer);
    if (tick) clearInterval(tick);
    await run.stop('bench over');
    if (served) await served.close();
    if (!given) await browser.close();
  }
}
