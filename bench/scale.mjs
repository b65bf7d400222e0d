// Figure 4: timeline scale in headless Chromium. Traces of 10k/100k/1M events made in the page by
// test/webview/gen-trace.ts (generation is not timed), handed to the webview as a host `trace`
// message (injected-host mode, window.postMessage as the VS Code webview bridge does).
// Reported per size:
//  - firstPaintMs: the app's own figure (message received → the frame after the first draw),
//  - postToPaintMs: from the host's postMessage call to that frame, so it includes the structured
//    clone of the whole trace on the page thread (serialize + deserialize; in VS Code the serialize
//    half happens in the extension host instead),
//  - frames: (a) draw + forced raster per zoom/pan step, (b) frame intervals of a 120-frame
//    zoom/pan animation, (c) the app hook benchFrames(80), (d) real input:
//    mouse-wheel zooms and drag pans sent through Chromium's input pipeline, each frame's draw time
//    read from the stats hook right after it, plus input → frame-done latency.
import fs from 'node:fs';
import path from 'node:path';
import { pageScript } from './lib/page-script.mjs';
import { ROOT } from './lib/build.mjs';
import { launchBrowser, serveWebview, openPage } from './lib/page.mjs';
import { sleep } from './lib/proc.mjs';
import { summary, round, median } from './lib/stats.mjs';

const INIT = String.raw`(() => {
  window.__posted = [];
  window.__shutdownTraceHost = { postMessage: (m) => window.__posted.push(m && m.type) };
  // input → the frame the app draws for it: a capture listener stamps the input; a microtask
  // (after every listener, the app's included) asks for the next frame, which runs after the app's.
  const rec = (window.__input = []);
  const stamp = (ev) => {
    const t = performance.now();
    queueMicrotask(() => requestAnimationFrame(() => {
      const s = window.__shutdownTraceStats;
      rec.push({ type: ev.type, latency: performance.now() - t, frameMs: s.frameMs, frames: s.frames });
    }));
  };
  window.addEventListener('wheel', stamp, { capture: true, passive: true });
  window.addEventListener('pointermove', (ev) => { if (ev.buttons) stamp(ev); }, { capture: true, passive: true });
})();`;

// The panel's column encoder (src/shared/trace-columns.ts), for the page: window.__columns.
function columnsScript() {
  return pageScript("import { encodeTraceColumns, columnBuffers } from './src/shared/trace-columns'; (globalThis as any).__columns = { encodeTraceColumns, columnBuffers };", ROOT);
}

/** Whether the bundle served reads 'trace-columns' (a bundle from before it, for a before/after run, does not). */
function bundleReadsColumns() {
  const dir = process.env.BENCH_WEBVIEW_DIR || path.join(ROOT, 'media');
  try {
    return fs.readFileSync(path.join(dir, 'webview.js'), 'utf8').includes('trace-columns');
  } catch {
    return false;
  }
}

// mode: 'object' (a structured clone of the trace), 'text' (its JSON text, the panel's delivery
// before columns), 'columns' (the panel's delivery: trace-columns with its ArrayBuffers transferred)
async function postAndPaint(page, k, mode = 'object') {
  return page.evaluate(
    ({ k, mode }) =>
      new Promise((resolve) => {
        const s = window.__shutdownTraceStats;
        const loads = s.loads;
        // a new identity each time, so every load is a first load (not a refresh of the same run)
        window.__trace.meta.createdAt = '2026-11-20T15:00:00.000Z#bench' + k + mode;
        // Made by the extension host in VS Code, so not timed here (encodeMs says what it costs).
        let te = performance.now();
        let msg;
        let transfer = [];
        if (mode === 'columns') {
          const columns = window.__columns.encodeTraceColumns(window.__trace);
          transfer = window.__columns.columnBuffers(columns);
          msg = { type: 'trace-columns', columns, live: false };
        } else msg = { type: 'trace', trace: mode === 'text' ? JSON.stringify(window.__trace) : window.__trace, live: false };
        const encodeMs = performance.now() - te;
        // What VS Code adds for a message with ArrayBuffers: the rest of it goes through JSON
        // (stringify in the extension host, parse in the webview). Timed apart, not in post → paint.
        let restJsonMs = 0;
        if (mode === 'columns') {
          const { events, output, ...rest } = msg.columns;
          const strip = (o) => JSON.stringify(o, (key, v) => (v instanceof ArrayBuffer ? { byteLength: v.byteLength } : v));
          te = performance.now();
          JSON.parse(strip({ ...rest, events, output }));
          restJsonMs = performance.now() - te;
        }
        const onMsg = () => {
          window.removeEventListener('message', onMsg);
          // added after the app's listener: the app has handled the message, and the frame
          // requested now runs right after the app's first-paint frame callback
          requestAnimationFrame(() => {
            const t1 = performance.now();
            resolve({ postToPaintMs: t1 - t0, firstPaintMs: s.firstPaintMs, loadMs: s.loadMs, buildMs: s.buildMs, loaded: s.loads > loads, encodeMs, restJsonMs });
          });
        };
        window.addEventListener('message', onMsg);
        const t0 = performance.now();
        window.postMessage(msg, '*', transfer);
      }),
    { k, mode },
  );
}

async function oneSize(page, n, loadsPerSize, columns) {
  const cdp = await page.context().newCDPSession(page);
  const gc = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    await sleep(100);
  };
  // generate once (untimed); then load it `loadsPerSize` times, garbage collected before each
  const gen = await page.evaluate((n) => {
    const t = performance.now();
    window.__trace = window.__genTrace(n);
    return { ms: performance.now() - t, events: window.__trace.events.length };
  }, n);
  const loads = [];
  for (let k = 0; k < loadsPerSize; k++) {
    await gc();
    loads.push(await postAndPaint(page, k));
    await page.waitForFunction(() => window.__shutdownTraceStats.domItems > 0, null, { timeout: 30000 });
    await sleep(150);
  }
  const textLoads = [];
  for (let k = 0; k < loadsPerSize; k++) {
    await gc();
    textLoads.push(await postAndPaint(page, k, 'text'));
    await page.waitForFunction(() => window.__shutdownTraceStats.domItems > 0, null, { timeout: 30000 });
    await sleep(150);
  }
  const columnLoads = [];
  for (let k = 0; columns && k < loadsPerSize; k++) {
    await gc();
    columnLoads.push(await postAndPaint(page, k, 'columns'));
    await page.waitForFunction(() => window.__shutdownTraceStats.domItems > 0, null, { timeout: 30000 });
    await sleep(150);
  }
  // what the delivery itself costs, for reference: a structured clone of the trace (window.postMessage,
  // both halves) and JSON.parse of its text (what a webview does with a JSON-serialised message)
  const delivery = await page.evaluate(() => {
    let t = performance.now();
    structuredClone(window.__trace);
    const cloneMs = performance.now() - t;
    const text = JSON.stringify(window.__trace);
    t = performance.now();
    JSON.parse(text);
    return { cloneMs, jsonParseMs: performance.now() - t, jsonMB: text.length / 1048576 };
  });
  await page.evaluate(() => (window.__trace = undefined));
  const afterLoad = await page.evaluate(() => ({ ...window.__shutdownTraceStats }));
  const heap = await cdp.send('Runtime.getHeapUsage').catch(() => null);
  await gc();
  // (a) the real cost of a zoom/pan frame: each step's draw (the app's drawNow) followed by a
  // 1-pixel readback, which makes Chromium rasterize the canvas's recorded ops right there
  const forced = await page.evaluate(() => {
    const api = window.__shutdownTrace;
    const ctx = document.querySelector('canvas').getContext('2d');
    api.fit();
    api.zoom(4);
    const draw = [];
    const full = [];
    for (let k = 0; k < 120; k++) {
      if (k % 4 === 0) api.zoom(1.25);
      else if (k % 4 === 1) api.pan(90);
      else if (k % 4 === 2) api.zoom(0.8);
      else api.pan(-90);
      const t = performance.now();
      draw.push(api.drawNow());
      ctx.getImageData(0, 0, 1, 1);
      full.push(performance.now() - t);
    }
    return { draw, full };
  });
  // (b) an animation: one zoom or pan step per animation frame for 120 frames; the intervals
  // between frames show dropped frames whatever their cause (script, raster, compositing)
  const anim = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const api = window.__shutdownTrace;
        api.fit();
        api.zoom(4);
        const ts = [];
        let k = 0;
        const step = (t) => {
          ts.push(t);
          if (k++ >= 120) return resolve(ts.slice(1).map((x, i) => x - ts[i]));
          if (k % 4 === 0) api.zoom(1.25);
          else if (k % 4 === 1) api.pan(90);
          else if (k % 4 === 2) api.zoom(0.8);
          else api.pan(-90);
          requestAnimationFrame(step);
        };
        requestAnimationFrame(step);
      }),
  );
  // (c) the app's own hook: synchronous draws without presenting (see README: Chromium batches
  // the raster of ~12 such draws into one, so its p95 shows the batch, not a frame)
  await page.evaluate(() => {
    window.__shutdownTrace.fit();
    window.__shutdownTrace.zoom(4);
  });
  const bench = await page.evaluate(() => window.__shutdownTrace.benchFrames(80));
  await page.evaluate(() => window.__shutdownTrace.fit());
  await sleep(100);
  // (d) real input through Chromium: wheel zooms in then out, then drag pans
  await page.evaluate(() => (window.__input.length = 0));
  const box = await page.evaluate(() => {
    const r = document.querySelector('[data-testid=timeline]').getBoundingClientRect();
    return { x: r.left, y: r.top, w: r.width, h: r.height };
  });
  const cx = box.x + box.w * 0.55;
  const cy = box.y + Math.min(box.h * 0.5, 200);
  await page.mouse.move(cx, cy);
  for (let k = 0; k < 16; k++) {
    await page.mouse.wheel(0, k < 9 ? -120 : 120);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  }
  await page.mouse.down();
  for (let k = 0; k < 16; k++) {
    await page.mouse.move(cx + (k % 8 < 4 ? -1 : 1) * 30 * ((k % 4) + 1), cy + (k % 3), { steps: 1 });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  }
  await page.mouse.up();
  await sleep(200);
  const input = await page.evaluate(() => window.__input.slice());
  const after = await page.evaluate(() => ({ ...window.__shutdownTraceStats }));
  const wheel = input.filter((x) => x.type === 'wheel');
  const drag = input.filter((x) => x.type === 'pointermove');
  const frameMs = input.map((x) => x.frameMs);
  return {
    events: gen.events,
    generateMs: round(gen.ms, 0),
    loads: loads.length,
    allLoaded: loads.every((l) => l.loaded),
    firstPaintMs: round(median(loads.map((l) => l.firstPaintMs)), 1),
    firstPaintMsEach: loads.map((l) => round(l.firstPaintMs, 1)),
    postToPaintMs: round(median(loads.map((l) => l.postToPaintMs)), 1),
    postToPaintMsEach: loads.map((l) => round(l.postToPaintMs, 1)),
    textPostToPaintMs: round(median(textLoads.map((l) => l.postToPaintMs)), 1),
    textPostToPaintMsEach: textLoads.map((l) => round(l.postToPaintMs, 1)),
    ...(columnLoads.length
      ? {
          columnsPostToPaintMs: round(median(columnLoads.map((l) => l.postToPaintMs)), 1),
          columnsPostToPaintMsEach: columnLoads.map((l) => round(l.postToPaintMs, 1)),
          columnsAllLoaded: columnLoads.every((l) => l.loaded),
          columnsFirstPaintMs: round(median(columnLoads.map((l) => l.firstPaintMs)), 1),
          columnsBuildMs: round(median(columnLoads.map((l) => l.buildMs)), 1),
          columnsHostEncodeMs: round(median(columnLoads.map((l) => l.encodeMs)), 1),
          columnsRestJsonMs: round(median(columnLoads.map((l) => l.restJsonMs)), 1),
        }
      : {}),
    loadMs: round(median(loads.map((l) => l.loadMs)), 1),
    buildMs: round(median(loads.map((l) => l.buildMs)), 1),
    pageHeapMB: heap ? round(heap.usedSize / 1048576, 0) : null,
    structuredCloneMs: round(delivery.cloneMs, 1),
    jsonParseMs: round(delivery.jsonParseMs, 1),
    jsonMB: round(delivery.jsonMB, 1),
    layerSyncMs: round(afterLoad.syncMs, 1),
    domItems: afterLoad.domItems,
    frameDrawPlusRasterMs: summary(forced.full, 2),
    frameDrawOnlyMs: summary(forced.draw, 2),
    animationFrameIntervalMs: summary(anim, 1),
    animationDroppedFrames: anim.filter((x) => x > 20).length,
    animationFrames: anim.length,
    benchFramesHookMs: { avg: round(bench.avg, 2), p95: round(bench.p95, 2), max: round(bench.max, 2) },
    inputFrameDrawMs: summary(frameMs, 2),
    wheelInputToFrameMs: summary(
      wheel.map((x) => x.latency),
      1,
    ),
    dragInputToFrameMs: summary(
      drag.map((x) => x.latency),
      1,
    ),
    lastLayerSyncMs: round(after.syncMs, 1),
    maxFrameMsAll: round(after.maxFrameMs, 1),
  };
}

export async function runScale(helpers, { sizes = [10_000, 100_000, 1_000_000], loadsPerSize = 3, browser: given, log = () => {} } = {}) {
  const browser = given ?? (await launchBrowser());
  const served = await serveWebview(helpers, { mode: 'host' });
  const columns = bundleReadsColumns();
  const colScript = columns ? await columnsScript() : null;
  const out = {};
  try {
    for (const n of sizes) {
      // a fresh page per size: no garbage or state from the previous one
      const { page, ctx, problems } = await openPage(browser, served.url, { initScript: INIT });
      try {
        await page.evaluate(helpers.genTraceScript);
        if (colScript) await page.evaluate(colScript);
        const r = await oneSize(page, n, loadsPerSize, columns);
        r.problems = problems.slice(0, 5);
        out[n] = r;
        log(
          `  ${String(n).padStart(7)} events: first paint ${r.firstPaintMs} ms [${r.firstPaintMsEach.join(', ')}] (post→paint incl. clone ${r.postToPaintMs} ms, as JSON text ${r.textPostToPaintMs} ms${r.columnsPostToPaintMs !== undefined ? `, as columns ${r.columnsPostToPaintMs} ms [${r.columnsPostToPaintMsEach.join(', ')}] + VS Code's JSON of the rest ${r.columnsRestJsonMs} ms, host encode ${r.columnsHostEncodeMs} ms` : ''}), frame draw+raster p95 ${r.frameDrawPlusRasterMs.p95} ms, animation ${r.animationDroppedFrames}/${r.animationFrames} frames over 20 ms, hook benchFrames p95 ${r.benchFramesHookMs.p95} ms`,
        );
      } finally {
        await ctx.close();
      }
    }
  } finally {
    await served.close();
    if (!given) await browser.close();
  }
  return out;
}
