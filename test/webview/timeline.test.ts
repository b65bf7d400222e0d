/**
 * The timeline as a user sees it, in real Chromium, from recorded traces (test/webview/traces): verdict,
 * findings, leaked handles, the items on the timeline and their text, selection and details,
 * open-frame, zoom/pan/fit by buttons, wheel, drag and keys, tooltips, keyboard use, themes.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { serve, launch, open, loadTrace, sourceSite, waitLoaded, screenshotPath, items, fitAll, GUTTER, ROOT, type Served, type Opened, type Item } from './harness';
import type { Trace, TraceEvent } from '../../src/shared/trace';
import { formatDuration } from '../../src/shared/duration';
import * as fs from 'node:fs';
import * as path from 'node:path';

async function windowOf(page: Page): Promise<{ t0: number; t1: number; span: number; range: string }> {
  return page.evaluate(async () => {
    // after the frames already asked for have been drawn
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const tl = document.querySelector('[data-testid=timeline]') as HTMLElement;
    const t0 = Number(tl.dataset.t0);
    const t1 = Number(tl.dataset.t1);
    return { t0, t1, span: t1 - t0, range: document.querySelector('[data-testid=range]')!.textContent! };
  });
}

async function waitWindowChange(page: Page, before: { t0: number; t1: number }): Promise<void> {
  await page.waitForFunction((b) => {
    const tl = document.querySelector('[data-testid=timeline]') as HTMLElement;
    return Math.abs(Number(tl.dataset.t0) - b.t0) > 1e-6 || Math.abs(Number(tl.dataset.t1) - b.t1) > 1e-6;
  }, before);
}

/** Wait until the item layer reflects the current view (it syncs shortly after a frame). */
async function settle(page: Page): Promise<void> {
  await page.waitForTimeout(120);
}

/**
 * The regenerated leaked-interval run (scripts/regen-fixtures.ts: `node src/server.js` in
 * test/fixtures/orders-api, SIGTERM 1.2 s after it listens, 5 s grace): its times and durations
 * are read from the trace, its sites from the service's source.
 */
const LEAKED = loadTrace('leaked-interval.shutdown-trace.json');
const ev = <K extends TraceEvent['kind']>(kind: K, pred: (e: Extract<TraceEvent, { kind: K }>) => boolean = () => true) => {
  const e = LEAKED.events.find((x) => x.kind === kind && pred(x as Extract<TraceEvent, { kind: K }>));
  assert.ok(e, `the fixture has a ${kind} event`);
  return e as Extract<TraceEvent, { kind: K }>;
};
/** A named phase of src/shutdown.js: its start and end. */
const phaseOf = (name: string) => {
  const start = ev('phase-start', (e) => e.name === name);
  return { name, start: start.t, end: ev('phase-end', (e) => e.id === start.id).t, text: `${name} ${formatDuration(ev('phase-end', (e) => e.id === start.id).t - start.t)}` };
};
const HEARTBEAT = sourceSite('orders-api', 'src/jobs/heartbeat.js', 'setInterval(');
const STARTS_HEARTBEAT = sourceSite('orders-api', 'src/server.js', 'startHeartbeat(pool)');

describe('timeline: a leaked interval killed at the grace deadline', () => {
  let served: Served;
  let browser: Browser;
  let o: Opened;
  let page: Page;
  const signal = ev('signal-sent');
  const exit = ev('process-exit');
  const leakHandle = LEAKED.analysis!.leaks![0].handles[0];

  before(async () => {
    served = await serve();
    browser = await launch();
    o = await open(browser, served, { theme: 'dark' });
    page = o.page;
    await o.send({ type: 'trace', trace: loadTrace('leaked-interval.shutdown-trace.json'), live: false });
    await waitLoaded(page);
  });
  after(async () => {
    await browser?.close();
    await served?.close();
  });

  it('says ready first, and shows the verdict and the findings, errors first', async () => {
    const posted = await o.posted();
    assert.deepEqual(posted[0], { type: 'ready' });
    // a short headline, the analysis' whole verdict under it
    assert.equal(await page.textContent('[data-testid=verdict]'), 'Killed at the 5 s deadline: 1 leak kept it alive');
    assert.equal(await page.textContent('[data-testid=verdict-full]'), LEAKED.analysis!.verdict);
    assert.ok(LEAKED.analysis!.verdict.includes(`setInterval 1000 ms at ${HEARTBEAT.text}`), LEAKED.analysis!.verdict);
    const codes = await page.$$eval('[data-testid=finding]', (els) => els.map((e) => e.getAttribute('data-code')));
    assert.deepEqual(codes, ['killed-at-deadline', 'slowest-phase']);
    const first = await page.textContent('[data-testid=finding][data-code=killed-at-deadline]');
    assert.match(first!, /Killed by SIGKILL at the 5 s grace deadline/);
    assert.match(first!, /SIGKILL cannot be caught/);
  });

  it('lists the leaked handle with its label and creation site (relative to cwd)', async () => {
    const leaks = await page.$$eval('[data-testid=leak]', (els) => els.map((e) => e.textContent));
    assert.equal(leaks.length, 1);
    assert.match(leaks[0]!, /setInterval 1000 ms/);
    assert.ok(leaks[0]!.includes(HEARTBEAT.text), leaks[0]!);
    assert.ok(leaks[0]!.includes(`alive ${formatDuration(exit.t - leakHandle.createdAt!)}`), leaks[0]!);
    assert.doesNotMatch(leaks[0]!, /\/home\/dev/);
  });

  it('draws the story as readable items: signal, listener, phases with durations, leak, deadline, SIGKILL, exit', async () => {
    await fitAll(page);
    const all = await items(page);
    assert.ok(all.length > 10 && all.length <= 300, `items: ${all.length}`);
    const texts = (k: string): string[] => all.filter((i) => i.kind === k).map((i) => i.text);
    assert.deepEqual(texts('signal'), ['SIGTERM']);
    // every phase of the analysis, src/shutdown.js's named ones among them
    assert.deepEqual(texts('phase').sort(), LEAKED.analysis!.phases.map((p) => `${p.name} ${formatDuration(p.durationMs!)}`).sort());
    for (const name of ['shutdown', 'drain', 'close server', 'close database pool']) assert.ok(texts('phase').includes(phaseOf(name).text), `${phaseOf(name).text} in ${texts('phase').join('|')}`);
    assert.deepEqual(texts('listener'), [`gracefulShutdown (SIGTERM) ${formatDuration(ev('listener-settled').t - ev('listener-start').t)}`]);
    assert.deepEqual(texts('deadline'), ['deadline 5 s']);
    assert.deepEqual(texts('kill'), ['SIGKILL']);
    assert.deepEqual(texts('exit'), ['killed by SIGKILL']);
    assert.deepEqual(texts('leak'), [`leaked: setInterval 1000 ms — ${HEARTBEAT.text}`]);
    assert.ok(texts('conn').includes(`server.close() ${formatDuration(ev('server-closed').t - ev('server-close').t)}`), texts('conn').join('|'));
    const proc = LEAKED.processes[0];
    assert.ok(
      texts('process').some((t) => t.startsWith(`node server.js (pid ${proc.pid}) ${formatDuration(proc.end! - (proc.start ?? 0))}`)),
      texts('process').join('|'),
    );
    assert.ok(texts('log').some((t) => t === 'stdout: shutdown complete'));
    // the requests its own client sent while it drained (the preload records them from the signal on)
    const requests = LEAKED.events.filter((e) => e.kind === 'request-start') as Extract<TraceEvent, { kind: 'request-start' }>[];
    assert.ok(requests.length > 0, 'the fixture has requests during the drain');
    assert.deepEqual(
      texts('request'),
      requests.map((r) => {
        const end = ev('request-end', (e) => e.req === r.req);
        return `${r.method} ${r.path} ${end.status} ${formatDuration(end.t - r.t)}`;
      }),
    );
  });

  it('puts items where the time axis says, nested phases below and inside their parent', async () => {
    await fitAll(page);
    const w = await windowOf(page);
    const plotW = (await page.$eval('[data-testid=timeline]', (e) => e.clientWidth)) - GUTTER;
    const xOf = (t: number): number => GUTTER + ((t - w.t0) / w.span) * plotW;
    const phases = await items(page, 'phase');
    const drain = phaseOf('drain');
    const parent = phases.find((p) => p.text === phaseOf('shutdown').text)!;
    const child = phases.find((p) => p.text === drain.text)!;
    assert.ok(Math.abs(child.x - xOf(drain.start)) <= 2, `drain at x=${child.x}, expected ${xOf(drain.start)}`);
    assert.ok(Math.abs(child.w - (xOf(drain.end) - xOf(drain.start))) <= 3, `width ${child.w}`);
    assert.ok(child.y > parent.y, 'nested phase is drawn below its parent');
    assert.ok(child.x >= parent.x - 1 && child.x + child.w <= parent.x + parent.w + 1, 'nested phase lies inside its parent');
    const leak = (await items(page, 'leak'))[0];
    assert.ok(Math.abs(leak.x - xOf(leakHandle.createdAt!)) <= 2, 'leak bar starts when the interval was created');
    assert.ok(Math.abs(leak.x + leak.w - xOf(exit.t)) <= 3, 'leak bar runs to the SIGKILL exit');
  });

  it('opens the details of a clicked item, with stack frames; a frame click posts open-frame', async () => {
    await page.click('[data-testid=tl-item][data-kind=leak]');
    const details = page.locator('[data-testid=details]');
    await details.getByText('Created at').waitFor();
    const text = (await details.textContent())!;
    assert.match(text, /setInterval 1000 ms/);
    assert.match(text, /never closed — LEAKED/);
    assert.ok(text.includes(`${leakHandle.createdAt!.toFixed(1)} ms`), `created at ${leakHandle.createdAt} in ${text}`);
    const frames = await page.$$eval('[data-testid=details] [data-testid=frame]', (els) => els.map((e) => e.textContent));
    assert.deepEqual(frames, [HEARTBEAT.text, STARTS_HEARTBEAT.text]);
    await page.click('[data-testid=frame] >> nth=0');
    await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'open-frame'));
    const posted = await o.posted();
    assert.deepEqual(posted.filter((m) => m.type === 'open-frame').pop(), { type: 'open-frame', file: `${LEAKED.meta.cwd}/src/jobs/heartbeat.js`, line: HEARTBEAT.line, col: HEARTBEAT.col });
    // the selection is marked on its item
    assert.equal(await page.getAttribute('[data-testid=tl-item][data-kind=leak]', 'aria-pressed'), 'true');
  });

  it('opens the creation site from the leaked-handles list; a click on the row selects the handle', async () => {
    await page.keyboard.press('Escape');
    await page.click('[data-testid=leak]', { position: { x: 3, y: 3 } });
    await page.waitForFunction(() => document.querySelector('[data-testid=details] .st-details-title')?.textContent?.startsWith('leaked: setInterval 1000 ms'));
    const before = (await o.posted()).length;
    await page.click('[data-testid=leak] .st-leak-site');
    await page.waitForFunction((n) => (window as unknown as { __posted: unknown[] }).__posted.length > n, before);
    const opened = (await o.posted()).slice(before).filter((m) => m.type === 'open-frame');
    assert.deepEqual(opened, [{ type: 'open-frame', file: `${LEAKED.meta.cwd}/src/jobs/heartbeat.js`, line: HEARTBEAT.line, col: HEARTBEAT.col }]);
  });

  it('a finding selects its evidence and brings the timeline to it', async () => {
    // From a zoomed-in view of the start, before the signal: the deadline finding's evidence is
    // SIGTERM sent, the deadline, SIGKILL and the exit.
    await fitAll(page);
    await page.focus('[data-testid=timeline]');
    for (let k = 0; k < 4; k++) await page.keyboard.press('+');
    await page.keyboard.press('Home');
    await settle(page);
    const before = await windowOf(page);
    assert.ok(before.t1 < signal.t, `the view ends before the signal: ${before.t0}..${before.t1}`);
    await page.click('[data-testid=finding][data-code=killed-at-deadline]');
    await waitWindowChange(page, before);
    const after = await windowOf(page);
    assert.ok(after.t0 <= signal.t && after.t1 >= exit.t, `evidence in view: ${after.t0}..${after.t1}`);
    assert.equal(await page.getAttribute('[data-testid=finding][data-code=killed-at-deadline]', 'aria-pressed'), 'true');
    assert.match((await page.textContent('[data-testid=details]'))!, /Killed by SIGKILL at the 5 s grace deadline/);
    await settle(page);
    const shown = (await items(page)).map((i) => i.kind);
    for (const kind of ['signal', 'deadline', 'kill', 'exit']) assert.ok(shown.includes(kind), `${kind} in view: ${shown.join('|')}`);
  });

  it('the slowest-phase finding selects its phase', async () => {
    await page.keyboard.press('Escape');
    await page.click('[data-testid=finding][data-code=slowest-phase]');
    await page.waitForTimeout(200);
    assert.equal(await page.locator('[data-testid=tl-item][aria-pressed=true]').count(), 1, 'an item is selected');
  });

  it('zooms with the buttons, fits, and the range shows it', async () => {
    await page.keyboard.press('Escape');
    await fitAll(page);
    const all = await windowOf(page);
    assert.ok(all.t0 === 0 && all.t1 >= exit.t, `Fit again shows the whole run: ${all.t0}..${all.t1}`);
    await page.click('[data-testid=fit]');
    await settle(page);
    const fit = await windowOf(page);
    // Fit frames the shutdown: from just before SIGTERM to the deadline and SIGKILL
    assert.ok(fit.t0 > signal.t - 300 && fit.t0 <= signal.t && fit.t1 >= exit.t && fit.t1 < exit.t + 400, `fit frames signal → deadline: ${fit.t0}..${fit.t1}`);
    await page.click('[data-testid=zoom-in]');
    await waitWindowChange(page, fit);
    const zin = await windowOf(page);
    assert.ok(Math.abs(zin.span - fit.span / 1.6) < 1, `zoom-in span ${zin.span}`);
    assert.notEqual(zin.range, fit.range);
    await page.click('[data-testid=zoom-out]');
    await waitWindowChange(page, zin);
    assert.ok(Math.abs((await windowOf(page)).span - fit.span) < 1);
  });

  it('zooms with the wheel around the pointer and pans by dragging', async () => {
    await page.click('[data-testid=fit]');
    await settle(page);
    const w0 = await windowOf(page);
    const box = (await page.locator('[data-testid=timeline]').boundingBox())!;
    const plotW = box.width - GUTTER;
    const px = GUTTER + plotW / 2;
    const tAt = w0.t0 + ((px - GUTTER) / plotW) * w0.span;
    await page.mouse.move(box.x + px, box.y + 200);
    await page.mouse.wheel(0, -400);
    await waitWindowChange(page, w0);
    const w1 = await windowOf(page);
    assert.ok(w1.span < w0.span * 0.8, `wheel zoomed in: ${w0.span} → ${w1.span}`);
    const tAfter = w1.t0 + ((px - GUTTER) / plotW) * w1.span;
    assert.ok(Math.abs(tAfter - tAt) < w1.span * 0.01, 'the time under the pointer stays put');
    // drag 200 px to the left → later times come into view
    await page.mouse.move(box.x + px, box.y + 250);
    await page.mouse.down();
    await page.mouse.move(box.x + px - 100, box.y + 250, { steps: 4 });
    await page.mouse.move(box.x + px - 200, box.y + 250, { steps: 4 });
    await page.mouse.up();
    const w2 = await windowOf(page);
    const expected = (200 / plotW) * w1.span;
    assert.ok(Math.abs(w2.t0 - w1.t0 - expected) < w1.span * 0.02, `dragged by ${w2.t0 - w1.t0}, expected ${expected}`);
    assert.ok(Math.abs(w2.span - w1.span) < 0.01, `dragging does not zoom: ${JSON.stringify([w1, w2])}`);
  });

  it('is usable from the keyboard: + - arrows and F on the timeline', async () => {
    await page.click('[data-testid=fit]');
    await page.focus('[data-testid=timeline]');
    const w0 = await windowOf(page);
    await page.keyboard.press('+');
    await waitWindowChange(page, w0);
    const w1 = await windowOf(page);
    assert.ok(w1.span < w0.span);
    await page.keyboard.press('ArrowRight');
    await waitWindowChange(page, w1);
    const w2 = await windowOf(page);
    assert.ok(w2.t0 > w1.t0 && Math.abs(w2.span - w1.span) < 0.01, 'ArrowRight pans later');
    await page.keyboard.press('-');
    await waitWindowChange(page, w2);
    await page.keyboard.press('f');
    await page.waitForFunction(
      (s) =>
        Math.abs(Number((document.querySelector('[data-testid=timeline]') as HTMLElement).dataset.t1) - Number((document.querySelector('[data-testid=timeline]') as HTMLElement).dataset.t0) - s) < 1,
      w0.span,
    );
  });

  it('Tab reaches the findings and Enter selects one; Tab walks the timeline items and Enter opens one', async () => {
    await page.keyboard.press('Escape');
    // start from the top, like a user who clicked the verdict text
    await page.click('[data-testid=verdict]');
    let onFinding = false;
    for (let k = 0; k < 5 && !onFinding; k++) {
      await page.keyboard.press('Tab');
      onFinding = await page.evaluate(() => document.activeElement?.getAttribute('data-testid') === 'finding');
    }
    assert.ok(onFinding, 'a finding takes the focus');
    const code = await page.evaluate(() => document.activeElement!.getAttribute('data-code'));
    await page.keyboard.press('Enter');
    await page.waitForFunction((c) => document.querySelector(`[data-testid=finding][data-code="${c}"]`)?.getAttribute('aria-pressed') === 'true', code);
    // timeline items
    await page.click('[data-testid=fit]');
    await settle(page);
    await page.focus('[data-testid=timeline]');
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => ({ id: document.activeElement?.getAttribute('data-testid'), text: document.activeElement?.textContent }));
    assert.equal(focused.id, 'tl-item');
    await page.keyboard.press('Tab');
    const second = await page.evaluate(() => document.activeElement?.textContent);
    assert.notEqual(second, focused.text);
    await page.keyboard.press('Enter');
    await page.waitForFunction((t) => document.querySelector('[data-testid=details] .st-details-title')?.textContent === t, second);
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !document.querySelector('[data-testid=details] .st-details-title'));
  });

  it('shows a tooltip with the item text on hover', async () => {
    await page.click('[data-testid=fit]');
    await settle(page);
    const sig = (await items(page, 'signal'))[0];
    const box = (await page.locator('[data-testid=timeline]').boundingBox())!;
    await page.mouse.move(box.x + sig.x + 4, box.y + sig.y + sig.h - 6);
    const tip = page.locator('.st-tooltip');
    await tip.waitFor({ state: 'visible' });
    const text = (await tip.textContent())!;
    assert.match(text, /^SIGTERM/);
    assert.ok(text.replace(/,/g, '').includes(`${signal.t.toFixed(1)} ms`), `sent at ${signal.t}: ${text}`);
    await page.mouse.move(5, 5);
    await tip.waitFor({ state: 'hidden' });
  });

  it('shows an error banner for an error message', async () => {
    await o.send({ type: 'error', message: 'The collector lost the connection to pid 4242.' });
    const banner = page.locator('[data-testid=error]');
    await banner.waitFor();
    assert.match((await banner.textContent())!, /The collector lost the connection to pid 4242\./);
    assert.equal(await banner.getAttribute('role'), 'alert');
    await banner.locator('button').click();
    await banner.waitFor({ state: 'detached' });
  });

  it('reports no page errors and no CSP violations', () => {
    assert.deepEqual(o.problems, []);
    assert.deepEqual(o.cspViolations, []);
    assert.deepEqual(o.dialogs, []);
  });
});

describe('timeline: other shutdowns', () => {
  let served: Served;
  let browser: Browser;
  before(async () => {
    served = await serve();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await served?.close();
  });

  async function show(name: string, theme: 'light' | 'dark' = 'dark'): Promise<Opened> {
    const o = await open(browser, served, { theme });
    await o.send({ type: 'trace', trace: loadTrace(name), live: false });
    await waitLoaded(o.page);
    return o;
  }

  /** A recorded phase by name (the nth of that name): its text on the timeline. */
  const phaseText = (t: Trace, name: string, nth = 0): string => {
    const start = t.events.filter((e) => e.kind === 'phase-start' && e.name === name)[nth] as Extract<TraceEvent, { kind: 'phase-start' }>;
    assert.ok(start, `phase ${name} in the fixture`);
    const end = t.events.find((e) => e.kind === 'phase-end' && e.id === start.id) as Extract<TraceEvent, { kind: 'phase-end' }> | undefined;
    if (!end) return `${name} (never finished)`;
    return `${name} ${formatDuration(end.t - start.t)}${end.error ? ' ✗ failed' : ''}`;
  };

  it('graceful shutdown: nested phases by depth, two process lanes, the child got the group signal', async () => {
    // test/fixtures/graceful-nested (index.js and its worker.js), signalled as a group.
    const trace = loadTrace('graceful-nested.shutdown-trace.json');
    const o = await show('graceful-nested.shutdown-trace.json');
    const page = o.page;
    const a = trace.analysis!;
    assert.equal(await page.textContent('[data-testid=verdict]'), `Graceful in ${formatDuration(a.signalToExitMs!)}`);
    assert.equal(await page.textContent('[data-testid=verdict-full]'), a.verdict);
    assert.match(a.verdict, /^Graceful: exited with code 0/);
    assert.equal(await page.locator('[data-testid=leak]').count(), 0);
    // Fit (the first view) frames the shutdown, where the nested phases are read
    await settle(page);
    const ph = await items(page, 'phase');
    const byText = (t: string): Item => {
      const it = ph.find((p) => p.text === t);
      assert.ok(it, `phase "${t}" in ${ph.map((p) => p.text).join(' | ')}`);
      return it;
    };
    // index.js: shutdown > drain http > wait for in-flight requests; shutdown > close clients > pg pool end
    const d0 = byText(phaseText(trace, 'shutdown'));
    const d1 = byText(phaseText(trace, 'drain http'));
    const d2 = byText(phaseText(trace, 'wait for in-flight requests'));
    assert.ok(d0.y < d1.y && d1.y < d2.y, 'depth 0 above depth 1 above depth 2');
    // siblings (one after the other) share a row: drain http and close clients; redis quit and pg pool end
    assert.equal(Math.round(d1.y), Math.round(byText(phaseText(trace, 'close clients')).y), 'phases of the same depth share a row');
    assert.equal(Math.round(byText(phaseText(trace, 'redis quit')).y), Math.round(byText(phaseText(trace, 'pg pool end')).y), 'phases of the same depth share a row');
    // worker.js's own phase
    byText(phaseText(trace, 'finish current job'));
    const procs = (await items(page, 'process')).map((i) => i.text);
    const main = trace.processes.find((p) => p.isMain)!;
    const worker = trace.processes.find((p) => !p.isMain)!;
    assert.equal(worker.ppid, main.pid, 'the worker is its child');
    assert.ok(
      procs.some((t) => t.startsWith(`node index.js (pid ${main.pid})`)),
      procs.join('|'),
    );
    assert.ok(
      procs.some((t) => t.startsWith(`node worker.js (pid ${worker.pid})`)),
      procs.join('|'),
    );
    const sig = (await items(page, 'signal')).map((i) => i.text).sort();
    assert.deepEqual(sig, ['SIGTERM', 'SIGTERM received']);
    const exits = (await items(page, 'exit')).map((i) => i.text);
    assert.deepEqual(exits.sort(), ['exit 0', 'exit 0']);
    await page.mouse.move(5, 5);
    await page.screenshot({ path: screenshotPath('webview-graceful-dark.png') });
    assert.deepEqual(o.problems, []);
    await page.context().close();
  });

  it("a library's handles made in later ticks: the leak row names the owner and the user's line first, as the leak list does, not the library's frame", async () => {
    // The regenerated chokidar run (test/real-app/app-chokidar.js): its fs.watch handles were made
    // by chokidar after its own fs calls, so their own stacks hold chokidar's frames only.
    const t = loadTrace('chokidar-owner.shutdown-trace.json');
    const [leak] = t.analysis!.leaks!;
    assert.equal(t.analysis!.leaks!.length, 1);
    assert.match(leak.handles[0].site!.frames[0].file, /node_modules\/chokidar\//, 'the handle was made in chokidar');
    const lines = fs.readFileSync(path.join(ROOT, 'test/real-app/app-chokidar.js'), 'utf8').split('\n');
    // V8's column of a method call is the method name's.
    const i = lines.findIndex((l) => l.includes('chokidar.watch('));
    const where = `app-chokidar.js:${i + 1}:${lines[i].indexOf('watch(') + 1}`;
    const o = await show('chokidar-owner.shutdown-trace.json');
    await fitAll(o.page);
    const leakTexts = (await items(o.page)).filter((x) => x.kind === 'leak').map((x) => x.text);
    // One row for the one entry the leak lists, which counts the four watches (a row per handle
    // would show the directory's path for all).
    assert.deepEqual(leakTexts, [`leaked: chokidar FSWatcher at ${where} — ${leak.handles[0].label}`]);
    assert.match(leak.handles[0].label, /^4 × fs\.watch \/home\/dev\/config-watcher\/config/);
    assert.match((await o.page.textContent('[data-testid=leak]'))!, new RegExp(`chokidar FSWatcher[^]*${where.replace(/\./g, '\\.')}`));
    await o.page.screenshot({ path: screenshotPath('webview-chokidar-owner-dark.png') });
    await o.page.context().close();
  });

  it('no handler: killed by SIGTERM at once, the in-flight requests were cut', async () => {
    // test/fixtures/no-handler-checkout.js under --load: no SIGTERM listener, every request takes 400 ms.
    const trace = loadTrace('no-handler.shutdown-trace.json');
    const o = await show('no-handler.shutdown-trace.json', 'light');
    const page = o.page;
    assert.match((await page.textContent('[data-testid=verdict]'))!, /^No SIGTERM handler: died at once/);
    assert.deepEqual(await page.$$eval('[data-testid=finding]', (els) => els.map((e) => e.getAttribute('data-code'))), ['no-handler', 'lost-requests']);
    await fitAll(page);
    const texts = (await items(page)).map((i) => `${i.kind}:${i.text}`);
    assert.ok(texts.includes('signal:SIGTERM'), texts.join('|'));
    assert.ok(texts.includes('exit:killed by SIGTERM'), texts.join('|'));
    // the load's requests in flight at the signal, cut by the death
    const signal = trace.events.find((e) => e.kind === 'signal-sent')!;
    const cut = trace.events.filter((e) => e.kind === 'load-request' && e.outcome === 'reset') as Extract<TraceEvent, { kind: 'load-request' }>[];
    assert.ok(cut.length > 0 && cut.every((r) => r.t < signal.t && r.end! >= signal.t), 'in flight at the signal');
    assert.equal(cut.length, trace.analysis!.requests!.lost);
    for (const r of cut) assert.ok(texts.includes(`request:GET reset ${formatDuration(r.end! - r.t)}`), `#${r.id} in ${texts.join('|')}`);
    await page.click('[data-testid=finding][data-code=no-handler]');
    await page.locator('[data-testid=details] .st-details-title').waitFor();
    assert.equal(await page.textContent('[data-testid=details] .st-details-title'), 'SIGTERM');
    const d = (await page.textContent('[data-testid=details]'))!;
    assert.match(d, /not reported by the process/);
    await page.mouse.move(5, 5);
    await page.screenshot({ path: screenshotPath('webview-no-handler-light.png') });
    await page.context().close();
  });

  it('double SIGINT: both signals, the second shutdown, the failed phase and the exit code', async () => {
    // test/fixtures/double-sigint-pool.js: the second SIGINT's "close db" finds the pool ended.
    const trace = loadTrace('double-sigint.shutdown-trace.json');
    const o = await show('double-sigint.shutdown-trace.json');
    const page = o.page;
    await fitAll(page);
    await page.click('[data-testid=finding][data-code=repeated-signal]');
    await settle(page);
    const sig = (await items(page, 'signal')).map((i) => i.text);
    assert.deepEqual(sig, ['SIGINT', 'SIGINT #2']);
    await page.click('[data-testid=finding][data-code=shutdown-error]');
    await settle(page);
    const ph = (await items(page, 'phase')).map((i) => i.text);
    const failedDb = phaseText(trace, 'close db', 1);
    assert.ok(failedDb.endsWith(' ✗ failed'), failedDb);
    assert.ok(ph.includes(failedDb), ph.join('|'));
    // the first shutdown waits for its jobs until the exit; the second failed with its close db
    assert.equal(phaseText(trace, 'shutdown', 0), 'shutdown (never finished)');
    assert.ok(ph.includes('shutdown (never finished)'), ph.join('|'));
    assert.ok(ph.includes(phaseText(trace, 'shutdown', 1)) && phaseText(trace, 'shutdown', 1).endsWith(' ✗ failed'), ph.join('|'));
    assert.match((await page.textContent('[data-testid=details]'))!, /Cannot use a pool after calling end on the pool/);
    const errs = (await items(page, 'error')).map((i) => i.text);
    assert.deepEqual(errs, ['unhandledRejection: Error: Cannot use a pool after calling end on the pool']);
    await page.click('[data-testid=fit]');
    await settle(page);
    const exits = (await items(page, 'exit')).map((i) => i.text).sort();
    assert.deepEqual(exits, ['exit 1', 'process.exit(1)']);
    await page.context().close();
  });

  for (const theme of ['dark', 'light', 'high-contrast'] as const) {
    it(`follows the ${theme} theme (screenshot test-results/webview-${theme}.png)`, async () => {
      const o = await show('leaked-interval.shutdown-trace.json', theme === 'high-contrast' ? 'dark' : theme);
      const page = o.page;
      if (theme === 'high-contrast') await o.send({ type: 'theme', kind: 'high-contrast' });
      await page.click('[data-testid=tl-item][data-kind=leak]');
      await page.locator('[data-testid=details] [data-testid=frame]').first().waitFor();
      await page.mouse.move(5, 5);
      await settle(page);
      // the canvas background follows the theme
      const px = await page.evaluate(() => {
        const c = document.querySelector('canvas')!;
        const d = c.getContext('2d')!.getImageData(c.width - 4, c.height - 4, 1, 1).data;
        return [d[0], d[1], d[2]];
      });
      const lum = (px[0] * 299 + px[1] * 587 + px[2] * 114) / 1000;
      if (theme === 'light') assert.ok(lum > 200, `light canvas background: ${px}`);
      else assert.ok(lum < 60, `dark canvas background: ${px}`);
      const bodyBg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      if (theme === 'high-contrast') assert.equal(bodyBg, 'rgb(0, 0, 0)');
      await page.screenshot({ path: screenshotPath(`webview-${theme}.png`) });
      assert.deepEqual(o.problems, []);
      await page.context().close();
    });
  }

  it('uses the VS Code theme variables when the host defines them', async () => {
    const o = await open(browser, served, { theme: 'dark' });
    await o.page.evaluate(() => {
      document.documentElement.style.setProperty('--vscode-editor-background', '#102030');
      document.documentElement.style.setProperty('--vscode-charts-red', '#ff00aa');
    });
    await o.send({ type: 'trace', trace: loadTrace('leaked-interval.shutdown-trace.json'), live: false });
    await waitLoaded(o.page);
    const [bg, badge] = await o.page.evaluate(() => {
      const c = document.querySelector('canvas')!;
      const d = c.getContext('2d')!.getImageData(c.width - 4, c.height - 4, 1, 1).data;
      return [[d[0], d[1], d[2]], getComputedStyle(document.querySelector('.st-reason')!).backgroundColor];
    });
    assert.deepEqual(bg, [0x10, 0x20, 0x30]);
    assert.equal(badge, 'rgb(255, 0, 170)');
    await o.page.context().close();
  });
});
