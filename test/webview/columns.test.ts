/**
 * A trace delivered in columns (the panel's way for big traces) builds the same model and shows
 * the same timeline as the trace itself: the model's tracks, handles, leaks, labels and keys
 * compared item by item (under node), then the page's verdict, leaks, findings, item layer,
 * details and canvas compared between the two deliveries (in Chromium).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pageScript } from '../../bench/lib/page-script.mjs';
import type { Browser, Page } from 'playwright-core';
import type { Trace, TraceEvent } from '../../src/shared/trace';
import { encodeTraceColumns, type TraceColumns, type FieldColumn } from '../../src/shared/trace-columns';
import { Model } from '../../webview/src/model';
import { ColumnEvents } from '../../webview/src/model/columns';
import { F } from '../../webview/src/model/track';
import { generateTrace } from './gen-trace';
import { serve, launch, open, waitLoaded, items, ROOT, TRACES, type Served } from './harness';

function fixtures(): [string, Trace][] {
  const out: [string, Trace][] = fs
    .readdirSync(TRACES)
    .filter((f) => f.endsWith('.json'))
    .map((f) => [f, JSON.parse(fs.readFileSync(path.join(TRACES, f), 'utf8')) as Trace]);
  out.push(['generated 20k events', generateTrace(20_000)]);
  return out;
}

/** The model through the columns path, as the page builds it from a posted message. */
function fromColumns(trace: Trace): Model {
  const cols = new ColumnEvents(structuredClone(encodeTraceColumns(trace)));
  return new Model(cols.trace(), false, cols);
}

/** Everything the timeline draws and says, from a model. */
function picture(m: Model): unknown {
  m.layout();
  const tracks = m.allTracks().map((tr) => {
    tr.ensure();
    const n = tr.n;
    const its = [];
    for (let i = 0; i < n; i++) its.push([tr.start[i], tr.end[i], tr.kind[i], tr.flags[i], tr.ref[i], tr.ref2[i], m.label(tr, i), m.shortLabel(tr, i), m.tipLines(tr, i), m.keyOf(tr, i)]);
    return { type: tr.type, label: tr.label, lane: tr.lane?.pid, overlaps: tr.overlaps, vmax: tr.vmax, value: tr.value ? Array.from(tr.value.subarray(0, n)) : null, its };
  });
  const keys: (string | null)[] = [];
  for (let i = 0; i < m.events.length; i++) keys.push(m.keyForEvent(i));
  return {
    lanes: m.lanes.map((l) => ({ pid: l.pid, info: l.info, handleCount: l.handleCount })),
    rows: m.rows.map((r) => [r.label, r.y, r.h, r.first, r.header, r.track.type]),
    tracks,
    handles: m.handles.map((h) => [h.pid, h.info, h.start, h.end, h.openEv, h.closeEv, h.leaked, h.snapEv, h.row, h.idx]),
    leaks: m.leaks.map((h) => m.handles.indexOf(h)),
    leakList: m.leakList.map((l) => [l.index, l.handles.map((h) => m.handles.indexOf(h))]),
    unidentified: m.unidentified,
    phases: m.phases,
    times: [m.tMin, m.tMax, m.now, m.deadlineT, m.killT, m.firstSignalT, m.firstSignalName, m.graceMs, m.terminationT, m.k8sKillT],
    load: [m.loadSeen, m.loadSummaryEv, m.loadCountsText()],
    keys,
    eventOfKeys: keys.map((k) => (k ? m.eventOfKey(k) : -2)),
    findingKeys: (m.trace.analysis?.findings ?? []).map((f) => m.findingKeys(f)),
  };
}

describe('columns: the model', () => {
  for (const [name, trace] of fixtures()) {
    it(`is the same from columns as from the trace: ${name}`, () => {
      const plain = new Model(structuredClone(trace), false);
      const cols = fromColumns(trace);
      assert.deepEqual(picture(cols), picture(plain));
      // a handle's bar is marked leaked exactly when its record is, and the records marked are the leaks
      for (const m of [plain, cols]) {
        for (const l of m.lanes) for (const tr of l.handles) for (let i = 0; i < tr.n; i++) assert.equal(!!(tr.flags[i] & F.LEAK), m.handles[tr.ref[i]].leaked, `${l.pid} ${tr.ref[i]}`);
        assert.deepEqual(
          m.handles.filter((h) => h.leaked),
          m.handles.filter((h) => m.leaks.includes(h)),
        );
      }
      // every event made on demand is the trace's own
      for (let i = 0; i < trace.events.length; i++) assert.deepEqual(cols.ev(i), trace.events[i] as TraceEvent, `event ${i}`);
      assert.equal(cols.ev(trace.events.length), undefined);
      assert.equal(cols.ev(-1), undefined);
    });
  }

  it('refuses damaged columns when they arrive, not when an event is first made', () => {
    const trace = generateTrace(3000);
    const damaged = (hurt: (c: TraceColumns) => void): (() => void) => {
      const c = structuredClone(encodeTraceColumns(trace));
      hurt(c);
      return () => new ColumnEvents(c);
    };
    const isFormatError = (e: Error): boolean => e.name === 'TraceFormatError';
    const fieldOf = (c: TraceColumns, kind: string, name: string): FieldColumn => c.events.tables.find((tb) => tb.kind === kind)!.fields.find((f) => f.name === name)!;
    // a request id past the string table
    assert.throws(
      damaged((c) => {
        new Uint32Array(fieldOf(c, 'request-start', 'req').data!.buf)[7] = new Uint32Array(c.strings.ends.buf).length + 5;
      }),
      isFormatError,
    );
    // a snapshot's handles that are not JSON (a request id's text)
    assert.throws(
      damaged((c) => {
        new Uint32Array(fieldOf(c, 'snapshot', 'handles').data!.buf)[0] = new Uint32Array(fieldOf(c, 'request-start', 'req').data!.buf)[0];
      }),
      isFormatError,
    );
    // an event of a kind with no table
    assert.throws(
      damaged((c) => {
        new Uint8Array(c.events.kind.buf)[10] = 200;
      }),
      isFormatError,
    );
    assert.throws(
      damaged((c) => {
        c.events.n += 1;
      }),
      isFormatError,
    );
    // a string table whose entries and text disagree
    assert.throws(
      damaged((c) => {
        c.strings.text += 'x';
      }),
      isFormatError,
    );
  });

  it('takes live appends after a load from columns, closing what the columns opened', () => {
    const full = generateTrace(6000);
    const cut = 4000;
    const head: Trace = { ...full, events: full.events.slice(0, cut), output: full.output.filter((o) => o.t <= full.events[cut - 1].t), analysis: undefined };
    const tail = full.events.slice(cut);
    const tailOut = full.output.slice(head.output.length);
    const plain = new Model(structuredClone(head), true);
    const cols = new ColumnEvents(structuredClone(encodeTraceColumns(head)));
    const fromCols = new Model(cols.trace(), true, cols);
    for (const m of [plain, fromCols]) m.apply(structuredClone(tail), structuredClone(tailOut), [], full.meta.durationMs ?? 0);
    assert.deepEqual(picture(fromCols), picture(plain));
  });
});

/** The encoder, for the page (the host's side of the delivery). */
function encoderScript(): Promise<string> {
  return pageScript("import { encodeTraceColumns, columnBuffers } from './src/shared/trace-columns'; (globalThis as any).__columns = { encodeTraceColumns, columnBuffers };", ROOT);
}

/** What the user sees of a loaded trace: summary, item layer, the first leak's details, the canvas. */
async function seen(page: Page): Promise<unknown> {
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await page.waitForTimeout(150);
  const text = (sel: string): Promise<string[]> => page.$$eval(sel, (els) => els.map((e) => e.textContent ?? ''));
  const out: Record<string, unknown> = {
    verdict: await text('[data-testid=verdict]'),
    verdictFull: await text('[data-testid=verdict-full]'),
    leaks: await text('[data-testid=leak]'),
    findings: await text('[data-testid=finding]'),
    items: await items(page),
    canvas: await page.$eval('canvas', (c) => (c as HTMLCanvasElement).toDataURL()),
  };
  // details of the first, middle and last item listed, selected by key (as a click or Enter does; a click could land on an item drawn over it)
  const keys = await page.$$eval('[data-testid=tl-item]', (els) => els.map((e) => (e as HTMLElement).dataset.key ?? ''));
  const picks = [...new Set([0, Math.floor(keys.length / 2), keys.length - 1])].filter((k) => k >= 0);
  const details: string[] = [];
  for (const k of picks) {
    await page.evaluate((key) => (window as unknown as { __shutdownTrace: { select(k: string): void } }).__shutdownTrace.select(key), keys[k]);
    await page.waitForTimeout(60);
    const shown = (await page.textContent('[data-testid=details]')) ?? '';
    assert.ok(shown.length > 0, `details of ${keys[k]}`);
    details.push(`${keys[k]}: ${shown}`);
  }
  out.details = details;
  return out;
}

describe('columns: the page', () => {
  let served: Served;
  let browser: Browser;
  let script: string;
  before(async () => {
    served = await serve();
    browser = await launch();
    script = await encoderScript();
  });
  after(async () => {
    await browser?.close();
    await served?.close();
  });

  const cases: [string, Trace][] = fixtures().filter(([n]) => /leaked-interval|k8s-prestop-load|load-drop|generated/.test(n));
  for (const [name, trace] of cases) {
    it(`shows the same from columns as from the trace: ${name}`, async () => {
      const shown = [];
      for (const mode of ['trace', 'columns']) {
        const o = await open(browser, served, { theme: 'dark' });
        await o.page.evaluate(script);
        await o.page.evaluate(
          ({ trace, mode }) => {
            const w = window as unknown as { __columns: { encodeTraceColumns(t: unknown): unknown; columnBuffers(c: unknown): ArrayBuffer[] } };
            if (mode === 'trace') return window.postMessage({ type: 'trace', trace, live: false }, '*');
            const columns = w.__columns.encodeTraceColumns(trace);
            window.postMessage({ type: 'trace-columns', columns, live: false }, '*', w.__columns.columnBuffers(columns));
          },
          { trace: trace as unknown as Record<string, unknown>, mode },
        );
        await waitLoaded(o.page);
        shown.push(await seen(o.page));
        assert.deepEqual(o.problems, []);
        await o.page.context().close();
      }
      assert.deepEqual(shown[1], shown[0]);
    });
  }
});
