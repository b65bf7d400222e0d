/**
 * Live runs (trace → appends → finished), restoring after a reload (VS Code state), the
 * standalone page (embedded data, GET /trace.json, POST /message) and damaged input.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { serve, launch, open, loadTrace, sourceSite, waitLoaded, readStats, type Served } from './harness';
import type { Trace } from '../../src/shared/trace';
import { formatDuration } from '../../src/shared/duration';

async function itemTexts(page: Page, kind: string): Promise<string[]> {
  return page.$$eval(`[data-testid=tl-item][data-kind="${kind}"]`, (els) => els.map((e) => e.textContent!));
}

async function viewOf(page: Page): Promise<{ t0: number; t1: number }> {
  return page.evaluate(async () => {
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const tl = document.querySelector('[data-testid=timeline]') as HTMLElement;
    return { t0: Number(tl.dataset.t0), t1: Number(tl.dataset.t1) };
  });
}

describe('live run: trace, appends, finished', () => {
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

  it('shows events as they arrive, follows "now", and swaps in the analysis when finished', async () => {
    // The regenerated leaked-interval run, replayed as the launcher sends it: up to the signal,
    // up to the end of its "drain" phase, the rest; then the analysis.
    const full = loadTrace('leaked-interval.shutdown-trace.json');
    const signal = full.events.find((e) => e.kind === 'signal-sent')!;
    const drainStart = full.events.find((e) => e.kind === 'phase-start' && e.name === 'drain')!;
    const drainEnd = full.events.find((e) => e.kind === 'phase-end' && e.id === (drainStart as { id: string }).id)!;
    const drainText = `drain ${formatDuration(drainEnd.t - drainStart.t)}`;
    const beforeSignal = full.events.indexOf(signal);
    const o = await open(browser, served, { mode: 'vscode' });
    const page = o.page;
    const live = (n: number, now: number): Trace => ({
      ...full,
      meta: { ...full.meta, complete: false, durationMs: now },
      processes: [{ ...full.processes[0], end: undefined, exit: undefined }],
      events: full.events.slice(0, n),
      output: full.output.filter((l) => l.t <= now),
      analysis: undefined,
    });
    // before the signal
    await o.send({ type: 'trace', trace: live(beforeSignal, signal.t - 1), live: true });
    await waitLoaded(page);
    assert.match((await page.textContent('[data-testid=verdict]'))!, /^Recording… Running; no signal sent yet\./);
    assert.deepEqual(await itemTexts(page, 'signal'), []);
    assert.equal(await page.locator('[data-testid=finding]').count(), 0);
    const commands = await page.$$eval('.st-cmd-btn .long', (els) => els.map((e) => e.textContent));
    assert.deepEqual(commands, ['Send SIGTERM', 'Send SIGINT', 'Kill', 'Stop']);
    await page.click('.st-cmd-btn >> text=Send SIGTERM');
    assert.deepEqual((await o.posted()).pop(), { type: 'command', command: 'send-signal', signal: 'SIGTERM' });
    const v0 = await viewOf(page);

    // the signal and the first phases arrive
    const mid = drainEnd.t + 1;
    const at = (t: number): number => full.events.findIndex((e) => e.t > t);
    await o.send({ type: 'append', events: full.events.slice(beforeSignal, at(mid)), output: full.output.filter((l) => l.t > signal.t - 1 && l.t <= mid), processes: [], now: mid });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=tl-item][data-kind=signal]').length === 1);
    assert.deepEqual(await itemTexts(page, 'signal'), ['SIGTERM']);
    const waiting = `SIGTERM sent at ${formatDuration(signal.t)}; waiting for the service to stop`;
    await page.waitForFunction((w) => document.querySelector('[data-testid=verdict]')!.textContent!.includes(w), waiting);
    await page.waitForFunction((d) => Array.from(document.querySelectorAll('[data-testid=tl-item][data-kind=phase]')).some((e) => e.textContent === d), drainText);
    // the phase around it has not ended yet
    const phases = await itemTexts(page, 'phase');
    assert.ok(phases.includes('shutdown running'), phases.join('|'));
    const v1 = await viewOf(page);
    assert.ok(v1.t1 > v0.t1 && v1.t1 >= mid, `follows now: ${v0.t1} → ${v1.t1}`);

    // the rest, then the end of the run
    await o.send({ type: 'append', events: full.events.slice(at(mid)), output: full.output.filter((l) => l.t > mid), processes: [{ ...full.processes[0] }], now: full.meta.durationMs });
    await page.waitForFunction(() => Array.from(document.querySelectorAll('[data-testid=tl-item][data-kind=kill]')).length === 1);
    // The deadline computed while live and the deadline event are one marker, not two.
    assert.equal(await page.locator('[data-testid=tl-item][data-kind=deadline]').count(), 1);
    const stats = await readStats(page);
    assert.equal(stats.loads, 1, 'appends do not rebuild the timeline');
    assert.equal(stats.appends, 2);
    assert.equal(stats.events, full.events.length);
    await o.send({ type: 'finished', analysis: full.analysis!, trace: full });
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=finding]').length === n, full.analysis!.findings.length);
    assert.equal(await page.textContent('[data-testid=verdict]'), 'Killed at the 5 s deadline: 1 leak kept it alive');
    assert.equal(await page.textContent('[data-testid=verdict-full]'), full.analysis!.verdict);
    assert.equal(await page.locator('[data-testid=leak]').count(), 1);
    await page.waitForFunction(() => Array.from(document.querySelectorAll('[data-testid=tl-item][data-kind=leak]')).length === 1);
    assert.equal((await readStats(page)).loads, 1, 'finished swaps in the analysis without a rebuild');
    const after = await page.$$eval('.st-cmd-btn .long', (els) => els.map((e) => e.textContent));
    assert.deepEqual(after, ['Re-run', 'Copy summary', 'Export…']);
    assert.deepEqual(o.problems, []);
    await page.context().close();
  });

  it('restores the view window and the selection after a reload', async () => {
    const trace = loadTrace('graceful-nested.shutdown-trace.json');
    const drainStart = trace.events.find((e) => e.kind === 'phase-start' && e.name === 'drain http')!;
    const drainEnd = trace.events.find((e) => e.kind === 'phase-end' && e.id === (drainStart as { id: string }).id)!;
    const drain = `drain http ${formatDuration(drainEnd.t - drainStart.t)}`;
    const o = await open(browser, served, { mode: 'vscode' });
    const page = o.page;
    await o.send({ type: 'trace', trace, live: false });
    await waitLoaded(page);
    // an item that is an event (the signal): its selection is told to the host
    await page.click('[data-testid=tl-item][data-kind=signal] >> nth=0');
    await page.click('[data-testid=zoom-in]');
    await page.waitForTimeout(100);
    await page.click(`[data-testid=tl-item][data-kind=phase] >> text=${drain}`);
    await page.waitForFunction((d) => document.querySelector('[data-testid=details] .st-details-title')?.textContent === d, drain);
    const before = await viewOf(page);
    await page.waitForTimeout(300); // state is saved shortly after the last change
    assert.ok(
      (await o.posted()).some((m) => m.type === 'select'),
      'selection is told to the host',
    );
    await page.reload();
    await page.waitForFunction(() => (window as unknown as { __shutdownTraceStats?: { ready: boolean } }).__shutdownTraceStats?.ready === true);
    assert.deepEqual((await o.posted())[0], { type: 'ready' });
    await o.send({ type: 'trace', trace, live: false });
    await waitLoaded(page);
    const restored = await viewOf(page);
    assert.ok(Math.abs(restored.t0 - before.t0) < 0.01 && Math.abs(restored.t1 - before.t1) < 0.01, `view ${JSON.stringify(before)} → ${JSON.stringify(restored)}`);
    assert.equal(await page.textContent('[data-testid=details] .st-details-title'), drain);
    await page.waitForFunction((d) => document.querySelector('[data-testid=tl-item][aria-pressed=true]')?.textContent === d, drain);
    // a different trace does not inherit that view
    const noHandler = loadTrace('no-handler.shutdown-trace.json');
    await o.send({ type: 'trace', trace: noHandler, live: false });
    await page.waitForFunction(() => (document.querySelector('[data-testid=verdict]')?.textContent ?? '').startsWith('No SIGTERM handler'));
    const other = await viewOf(page);
    // framed on its shutdown (dead at once after SIGTERM), with what led up to it
    const signal = noHandler.events.find((e) => e.kind === 'signal-sent')!;
    const exit = noHandler.events.find((e) => e.kind === 'process-exit')!;
    assert.ok(other.t0 >= 0 && other.t0 < signal.t - 20 && other.t1 > exit.t && other.t1 < exit.t + 100, `fit to the new trace: ${JSON.stringify(other)}, signal ${signal.t}, exit ${exit.t}`);
    assert.equal(await page.locator('[data-testid=details] .st-details-title').count(), 0);
    await page.context().close();
  });
});

describe('standalone page', () => {
  let browser: Browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  it('renders a trace embedded in the page, with no host at all', async () => {
    const served = await serve({ initial: loadTrace('leaked-interval.shutdown-trace.json'), title: 'orders-api shutdown' });
    const o = await open(browser, served, { mode: 'standalone', theme: 'none' });
    await waitLoaded(o.page);
    assert.equal(await o.page.title(), 'orders-api shutdown');
    assert.match((await o.page.textContent('[data-testid=verdict-full]'))!, /^Killed at the 5 s deadline: SIGTERM did not stop it/);
    assert.equal(await o.page.evaluate(() => document.querySelectorAll('script:not([nonce])').length), 0);
    // no editor attached: a frame click says where to look instead
    await o.page.click('[data-testid=leak] .st-leak-site');
    const site = sourceSite('orders-api', 'src/jobs/heartbeat.js', 'setInterval(');
    await o.page.waitForFunction((where) => (document.querySelector('.st-status')?.textContent ?? '').includes(where), `heartbeat.js:${site.line}:${site.col}`);
    assert.deepEqual(o.cspViolations, []);
    assert.deepEqual(o.problems, []);
    await o.page.context().close();
    await served.close();
  });

  it('fetches /trace.json and posts clicks to /message', async () => {
    // test/fixtures/double-sigint-pool.js: its second SIGINT's "close db" fails and the rejection handler calls process.exit(1).
    const trace = loadTrace('double-sigint.shutdown-trace.json');
    const served = await serve({ standalone: true, traceJson: trace });
    const o = await open(browser, served, { mode: 'standalone', theme: 'light' });
    await waitLoaded(o.page);
    assert.equal(await o.page.textContent('[data-testid=verdict]'), 'process.exit() hid 1 leak');
    assert.equal(await o.page.textContent('[data-testid=verdict-full]'), trace.analysis!.verdict);
    await o.page.click('[data-testid=finding][data-code=shutdown-error]');
    // the finding's evidence selected: its item pressed, its details with the error
    await o.page.locator('[data-testid=details] .st-details-title').waitFor();
    assert.equal(await o.page.textContent('[data-testid=details] .st-details-title'), await o.page.textContent('[data-testid=tl-item][aria-pressed=true]'));
    assert.match((await o.page.textContent('[data-testid=details]'))!, /Cannot use a pool after calling end on the pool/);
    await o.page.waitForTimeout(150);
    // the leaked timer's creation site: the sleep() the first shutdown was waiting in
    const site = sourceSite('', 'double-sigint-pool.js', 'setTimeout(');
    await o.page.click('[data-testid=tl-item][data-kind=leak]');
    await o.page.locator('[data-testid=details] [data-testid=frame]').first().waitFor();
    await o.page.click(`[data-testid=details] [data-testid=frame] >> text=test/fixtures/${site.text}`);
    const deadline = Date.now() + 5000;
    while (!served.posted.some((m) => (m as { type: string }).type === 'open-frame') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(
      served.posted.find((m) => (m as { type: string }).type === 'open-frame'),
      { type: 'open-frame', file: `${trace.meta.cwd}/test/fixtures/double-sigint-pool.js`, line: site.line, col: site.col },
    );
    assert.deepEqual(served.posted[0], { type: 'ready' });
    assert.deepEqual(o.cspViolations, []);
    await o.page.context().close();
    await served.close();
  });

  it('follows a live run over /events (EventSource): trace, appends, finished', async () => {
    const full = loadTrace('no-handler.shutdown-trace.json');
    // before the signal, up to it and just after, the rest
    const sig = full.events.findIndex((e) => e.kind === 'signal-sent');
    const signalT = full.events[sig].t;
    const head: Trace = { ...full, processes: [{ ...full.processes[0], end: undefined, exit: undefined }], events: full.events.slice(0, sig), output: [], analysis: undefined };
    const served = await serve({
      standalone: true,
      events: {
        messages: [
          { type: 'trace', trace: head, live: true },
          { type: 'append', events: full.events.slice(sig, sig + 1), output: full.output, processes: [], now: signalT + 0.5 },
          { type: 'append', events: full.events.slice(sig + 1), output: [], processes: [full.processes[0]], now: full.meta.durationMs },
          { type: 'finished', analysis: full.analysis, trace: full },
        ],
      },
    });
    const o = await open(browser, served, { mode: 'standalone' });
    const page = o.page;
    await page.waitForFunction(() => document.querySelector('[data-testid=verdict]')?.textContent?.startsWith('Recording…'));
    assert.equal(await page.$('[data-testid=tl-item][data-kind=signal]'), null, 'no signal before it is appended');
    served.nextEvent();
    await page.waitForFunction(() => document.querySelector('[data-testid=tl-item][data-kind=signal]')?.textContent === 'SIGTERM');
    assert.match((await page.textContent('[data-testid=verdict]'))!, /^Recording…/, 'still recording until finished');
    served.nextEvent();
    served.nextEvent();
    await page.waitForFunction(() => (document.querySelector('[data-testid=verdict]')?.textContent ?? '').startsWith('No SIGTERM handler'));
    assert.equal((await readStats(page)).loads, 1, 'one trace, then appends and the analysis');
    assert.deepEqual(await page.$$eval('[data-testid=finding]', (els) => els.map((e) => e.getAttribute('data-code'))), ['no-handler', 'lost-requests']);
    assert.deepEqual(o.cspViolations, []);
    assert.deepEqual(o.problems, []);
    await page.context().close();
    await served.close();
  });

  it('explains a truncated file, a Chrome trace export and a server error', async () => {
    const cases: [unknown, number, RegExp][] = [
      [JSON.stringify(loadTrace('no-handler.shutdown-trace.json')).slice(0, 700), 200, /truncated: the JSON ends early/],
      [{ traceEvents: [] }, 200, /Chrome Trace Event file/],
      ['{"format":"shutdown-trace","version":7,"meta":{}}', 200, /newer Shutdown Trace \(format version 7\)/],
      ['no such run', 404, /Could not load \/trace\.json: 404 Not Found: no such run/],
    ];
    for (const [body, status, re] of cases) {
      const served = await serve({ standalone: true, traceJson: body, traceStatus: status });
      const o = await open(browser, served, { mode: 'standalone' });
      const banner = o.page.locator('[data-testid=error]');
      await banner.waitFor();
      assert.match((await banner.textContent())!, re);
      await o.page.context().close();
      await served.close();
    }
  });
});

describe('trace as JSON text', () => {
  it('accepts the trace as a JSON string (cheap to post when huge) and reports damage in it', async () => {
    const served = await serve();
    const browser = await launch();
    try {
      const o = await open(browser, served);
      await o.send({ type: 'trace', trace: JSON.stringify(loadTrace('no-handler.shutdown-trace.json')) as unknown as Trace, live: false });
      await waitLoaded(o.page);
      assert.match((await o.page.textContent('[data-testid=verdict]'))!, /^No SIGTERM handler/);
      await o.send({ type: 'trace', trace: '{"format":"shutdown-trace","version":1,"meta":{},"processes":[],"events":[{"kind":"x"}]' as unknown as Trace, live: false });
      await o.page.locator('[data-testid=error]').waitFor();
      assert.match((await o.page.textContent('[data-testid=error]'))!, /The trace is truncated/);
      assert.deepEqual(o.problems, []);
    } finally {
      await browser.close();
      await served.close();
    }
  });
});

describe('damaged messages', () => {
  it('shows a banner for a damaged trace and ignores malformed live events', async () => {
    const served = await serve();
    const browser = await launch();
    try {
      const o = await open(browser, served);
      await o.send({ type: 'trace', trace: { format: 'shutdown-trace', version: 1, meta: {}, processes: [], events: 'nope', output: [] } as unknown as Trace, live: false });
      await o.page.locator('[data-testid=error]').waitFor();
      assert.match((await o.page.textContent('[data-testid=error]'))!, /damaged: "events" is missing or not a list/);
      const good = loadTrace('no-handler.shutdown-trace.json');
      await o.send({ type: 'trace', trace: good, live: true });
      await waitLoaded(o.page);
      assert.equal(await o.page.locator('[data-testid=error]').count(), 0, 'a good trace clears the banner');
      const now = good.meta.durationMs + 10;
      await o.send({ type: 'append', events: [{ kind: 'note' } as never, { kind: 'note', t: now, pid: 0, text: 'ok' }], output: [], processes: [], now });
      await o.page.locator('[data-testid=error]').waitFor();
      assert.match((await o.page.textContent('[data-testid=error]'))!, /1 malformed live event\(s\) were ignored/);
      assert.equal((await readStats(o.page)).events, good.events.length + 1, 'the good note is kept');
      assert.deepEqual(o.problems, []);
    } finally {
      await browser.close();
      await served.close();
    }
  });
});
