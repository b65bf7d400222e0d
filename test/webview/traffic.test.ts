/**
 * Traffic during shutdown and the Kubernetes termination on the timeline, from real runs of the
 * CLI (test/webview/traces; every number below is read from the trace, so the tests hold for any
 * run of the same command):
 *  - load-drop: `shutdown-trace run --load --rate 50 -- node test/fixtures/load-drop.js`
 *    (the requests in flight reset by its process.exit(), the ones after refused)
 *  - k8s-prestop-load: `shutdown-trace run --k8s --prestop-sleep 1s --termination-grace 3 --load
 *    --rate 20 -- node test/fixtures/leaked-interval.js` (preStop sleep 1 s, killed at 3 s)
 * both written by scripts/regen-fixtures.ts.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import type { Trace } from '../../src/shared/trace';
import { serve, launch, open, loadTrace, waitLoaded, screenshotPath, items, fitAll, GUTTER, type Served, type Opened, type Item } from './harness';

async function axis(page: Page): Promise<(t: number) => number> {
  const w = await page.evaluate(async () => {
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const tl = document.querySelector('[data-testid=timeline]') as HTMLElement;
    return { t0: Number(tl.dataset.t0), t1: Number(tl.dataset.t1), width: tl.clientWidth };
  });
  const plotW = w.width - GUTTER;
  return (t: number) => GUTTER + ((t - w.t0) / (w.t1 - w.t0)) * plotW;
}

describe('timeline: traffic during shutdown and Kubernetes termination', () => {
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

  async function show(name: string, theme: 'dark' | 'light'): Promise<{ o: Opened; page: Page; trace: Trace }> {
    const o = await open(browser, served, { theme, viewport: { width: 1400, height: 900 } });
    const trace = loadTrace(name);
    await o.send({ type: 'trace', trace, live: false });
    await waitLoaded(o.page);
    await o.page.waitForTimeout(150);
    // these check the whole load: the run, not only the shutdown that Fit frames first
    await fitAll(o.page);
    return { o, page: o.page, trace };
  }

  it('load-drop: lost requests are items with their outcome, turned-away ones too; summary line matches the analysis', async () => {
    const { o, page, trace } = await show('load-drop.shutdown-trace.json', 'dark');
    const rq = trace.analysis!.requests!;
    const reqs = await items(page, 'request');
    const lost = reqs.filter((i) => /^GET reset /.test(i.text));
    assert.equal(lost.length, rq.shutdown.byOutcome.reset, reqs.map((i) => i.text).join('|'));
    assert.match(lost[0].text, /^GET reset \d+(\.\d+)? ms$/);
    assert.ok(
      reqs.some((i) => /^GET refused \(turned away\) /.test(i.text)),
      'refused requests are listed',
    );
    // lost requests are drawn where the axis says, in the load group above the process lane
    const X = await axis(page);
    const ev = trace.events.filter((e) => e.kind === 'load-request' && e.outcome === 'reset');
    const first = lost.sort((a, b) => a.t - b.t)[0];
    assert.ok(Math.abs(first.t - ev[0].t) < 0.01);
    assert.ok(Math.abs(first.x + first.w / 2 - X((ev[0].t + (ev[0] as { end: number }).end) / 2)) <= 5, `x ${first.x}`);
    const proc = (await items(page, 'process')).find((i) => i.text.startsWith('node load-drop.js'))!;
    assert.ok(first.y < proc.y, 'the requests (load) group sits above the process lane');
    // summary: lost / turned away / total during shutdown, as analysed
    const line = (await page.textContent('[data-testid=traffic]'))!;
    assert.ok(line.includes(`${rq.lost} lost`), line);
    assert.ok(line.includes(`${rq.refusedWhileAlive + rq.resetAtClose} turned away`), line);
    assert.ok(line.includes(`${rq.shutdown.total} total`), line);
    assert.equal(await page.$('[data-testid=k8s]'), null, 'no Kubernetes line without --k8s');
    // details of a lost request: outcome, error, keep-alive, start relative to the signal
    await page.click(`[data-testid=tl-item][data-kind=request] >> text=${first.text}`);
    const details = (await page.textContent('[data-testid=details]'))!;
    assert.match(details, /reset — lost/);
    assert.match(details, /Keep-alive\s*no/);
    assert.match(details, /after SIGTERM/);
    await page.keyboard.press('Escape');
    await page.mouse.move(5, 5);
    await page.screenshot({ path: screenshotPath('webview-traffic-load-drop-dark.png') });
    assert.deepEqual(o.problems, []);
    await page.context().close();
  });

  for (const theme of ['light', 'dark'] as const) {
    it(`k8s: preStop bar, grace countdown from termination start to the kubelet's SIGKILL, k8s summary (${theme})`, async () => {
      const { o, page, trace } = await show('k8s-prestop-load.shutdown-trace.json', theme);
      const k8s = trace.meta!.k8s!;
      const killT = k8s.startedAt! + k8s.schedule!.killAtMs;
      const X = await axis(page);
      // preStop: a bar with its duration, from prestop-start to prestop-end
      const pre = await items(page, 'prestop');
      assert.equal(pre.length, 1, pre.map((i) => i.text).join('|'));
      assert.equal(pre[0].text, 'preStop sleep 1 s · 1 s');
      const ps = trace.events.find((e) => e.kind === 'prestop-start')!;
      const pe = trace.events.find((e) => e.kind === 'prestop-end')!;
      assert.ok(Math.abs(pre[0].x - X(ps.t)) <= 2, `preStop x ${pre[0].x} vs ${X(ps.t)}`);
      assert.ok(Math.abs(pre[0].x + pre[0].w - X(pe.t)) <= 3, 'preStop bar ends at prestop-end');
      // termination start marker and the deadline (SIGKILL due) at startedAt + killAtMs
      const term = (await items(page, 'k8s')).find((i) => i.text.startsWith('termination'));
      assert.ok(term, 'termination-start marker');
      assert.equal(term.text, 'termination · grace 3 s');
      const dl = (await items(page, 'deadline'))[0];
      assert.ok(dl, 'deadline marker');
      assert.match(dl.text, /^SIGKILL due 3 s$/);
      const box = await page.$eval('[data-testid=timeline]', (e) => e.getBoundingClientRect().width);
      void box;
      // the marker's vertical line sits at x = X(killT) (its box is the line ± 5 px, or the pill around it)
      assert.ok(Math.abs(X(dl.t) - X(killT)) <= 1.5, `deadline t ${dl.t} vs kubelet kill ${killT}`);
      assert.ok(dl.x <= X(killT) + 1 && dl.x + dl.w >= X(killT) - 1, `deadline box ${dl.x}..${dl.x + dl.w} contains ${X(killT)}`);
      // summaries
      const line = (await page.textContent('[data-testid=traffic]'))!;
      const rq = trace.analysis!.requests!;
      assert.ok(line.includes(`${rq.lost} lost`) && line.includes(`${rq.refusedWhileAlive + rq.resetAtClose} turned away`) && line.includes(`${rq.shutdown.total} total`), line);
      const k = (await page.textContent('[data-testid=k8s]'))!;
      assert.ok(k.includes('a real pod would have been killed at 3 s'), k);
      // tooltip of the preStop bar
      await page.hover(`[data-testid=tl-item][data-kind=prestop]`);
      await page.waitForSelector('.st-tooltip:not([hidden])');
      const tip = (await page.textContent('.st-tooltip'))!;
      assert.match(tip, /action: sleep/);
      await page.mouse.move(5, 5);
      await page.waitForTimeout(100);
      await page.screenshot({ path: screenshotPath(`webview-traffic-k8s-${theme}.png`) });
      assert.deepEqual(o.problems, []);
      await page.context().close();
    });
  }

  it('20,000 overlapping load spans with a few errors: drawn, errors still listed as items', async () => {
    const base = loadTrace('load-drop.shutdown-trace.json');
    const events = base.events.filter((e) => e.kind !== 'load-request');
    const N = 20_000;
    const reqs = [];
    for (let j = 0; j < N; j++) {
      const t = 120 + (j * 400) / N;
      const outcome = j % 997 === 0 ? 'reset' : j % 13 === 0 ? 'refused' : 'ok';
      reqs.push({ kind: 'load-request', pid: 0, id: j + 1, t, end: t + 3 + (j % 7), outcome, keepAlive: true, ...(outcome === 'ok' ? { status: 200 } : { error: 'ECONNRESET' }) });
    }
    const trace = { ...base, events: [...events, ...reqs].sort((a, b) => a.t - b.t) } as Trace;
    const o = await open(browser, served, { theme: 'dark', viewport: { width: 1400, height: 900 } });
    await o.send({ type: 'trace', trace, live: false });
    await waitLoaded(o.page);
    await fitAll(o.page);
    const lost = (await items(o.page, 'request')).filter((i) => i.text.startsWith('GET reset'));
    assert.equal(lost.length, Math.floor((N - 1) / 997) + 1, 'every lost request is an item');
    await o.page.screenshot({ path: screenshotPath('webview-traffic-20k-dark.png') });
    assert.deepEqual(o.problems, []);
    await o.page.context().close();
  });
});
