/**
 * The webview's model without a browser: it holds no DOM code, so node:test runs it as it is.
 * Covers the column delivery (round trip, kinds and fields it does not know), the model built
 * from events (a receipt recorded before its send, a kind from a newer version), what it reads
 * from the analysis (leaks, lost and turned-away requests, the signal → exit reference) and the
 * level of detail the renderer draws zoomed-out rows from.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Trace, TraceEvent, Analysis } from '../../src/shared/trace';
import { encodeTraceColumns, decodeTraceColumns, columnBuffers } from '../../src/shared/trace-columns';
import { Model, K, F, Track } from '../../webview/src/model';
import { loadCountsText, lostRequestEvents } from '../../webview/src/model/traffic';
import { generateTrace } from '../webview/gen-trace';

function trace(events: TraceEvent[], analysis?: Partial<Analysis>, extra: Partial<Trace> = {}): Trace {
  return {
    format: 'shutdown-trace',
    version: 1,
    meta: {
      tool: 'shutdown-trace',
      toolVersion: '0.0.0',
      createdAt: '2026-11-30T15:00:00.000Z',
      command: ['node', 'server.js'],
      cwd: '/srv',
      platform: 'linux',
      node: 'v20',
      plan: { signal: 'SIGTERM', when: { mode: 'never' }, graceMs: 1000, delivery: 'main' },
      mainPid: 100,
      complete: true,
      durationMs: 2000,
      counters: { droppedEvents: 0, rejectedConnections: 0, malformedFrames: 0, outputLinesTruncated: 0 },
    },
    processes: [{ pid: 100, ppid: 1, command: 'node server.js', traced: true, isMain: true, start: 0, end: 1500, exit: { code: 0, signal: null } }],
    events,
    output: [],
    ...(analysis ? { analysis: { verdict: '', exitReason: 'graceful', leakedHandleCount: 0, phases: [], findings: [], graceMs: 1000, ...analysis } as Analysis } : {}),
    ...extra,
  } as Trace;
}

const ev = (e: Record<string, unknown>): TraceEvent => e as unknown as TraceEvent;

describe('trace columns', () => {
  it('round-trips a generated trace exactly, through a structured clone of its buffers', () => {
    const t = generateTrace(5000);
    const c = encodeTraceColumns(t);
    assert.ok(columnBuffers(c).every((b) => b instanceof ArrayBuffer));
    const back = decodeTraceColumns(structuredClone(c));
    assert.deepEqual(JSON.parse(JSON.stringify(back)), JSON.parse(JSON.stringify(t)));
  });

  it('keeps kinds and fields it does not know, absent fields absent, and nested objects', () => {
    const t = trace([
      ev({ kind: 'from-the-future', t: 1, pid: 100, level: 3, note: 'x', flag: true, nested: { a: 1, b: ['y'] } }),
      ev({ kind: 'from-the-future', t: 2, pid: 100, note: 'z' }),
      ev({ kind: 'process-exit', t: 3, pid: 100, code: null, signal: 'SIGKILL' }),
    ]);
    const back = decodeTraceColumns(encodeTraceColumns(t));
    assert.deepEqual(back.events, t.events);
    assert.equal('level' in back.events[1], false);
  });

  it('refuses damaged columns with a TraceFormatError', () => {
    const c = encodeTraceColumns(trace([ev({ kind: 'note', t: 1, pid: 0, text: 'hi' })]));
    c.events.n = 5;
    assert.throws(
      () => decodeTraceColumns(c),
      (e: Error) => e.name === 'TraceFormatError',
    );
    const d = encodeTraceColumns(trace([]));
    (d.head as { format: string }).format = 'other';
    assert.throws(() => decodeTraceColumns(d), /not a Shutdown Trace/);
  });
});

describe('webview model', () => {
  it('draws a receipt recorded before its send as the send, never before it', () => {
    // the process's clock a few ms behind the launcher's: its receipt sorts first
    const m = new Model(
      trace([
        ev({ kind: 'spawned', t: 0, pid: 100, command: 'node server.js' }),
        ev({ kind: 'signal', t: 497, pid: 100, signal: 'SIGTERM', nth: 1, listeners: 1 }),
        ev({ kind: 'signal-sent', t: 500, pid: 100, signal: 'SIGTERM', target: 100, delivery: 'main', nth: 1 }),
      ]),
      false,
    );
    const main = m.laneByPid.get(100)!.main;
    const sig = [...Array(main.n).keys()].filter((i) => main.kind[i] === K.signal);
    assert.equal(sig.length, 1, 'one marker for the send and its receipt');
    assert.equal(main.start[sig[0]], 500);
    assert.ok(main.flags[sig[0]] & F.SENT);
    assert.equal(main.ref2[sig[0]], 1, 'the receipt is attached to the send');
    assert.deepEqual(m.signalTs, [500]);
    assert.equal(m.firstSignalT, 500);
  });

  it('pairs a receipt after its send as before: one marker at the send', () => {
    const m = new Model(
      trace([
        ev({ kind: 'signal-sent', t: 500, pid: 100, signal: 'SIGTERM', target: 100, delivery: 'main', nth: 1 }),
        ev({ kind: 'signal', t: 503, pid: 100, signal: 'SIGTERM', nth: 1, listeners: 1 }),
      ]),
      false,
    );
    const main = m.laneByPid.get(100)!.main;
    const sig = [...Array(main.n).keys()].filter((i) => main.kind[i] === K.signal);
    assert.deepEqual(
      sig.map((i) => main.start[i]),
      [500],
    );
  });

  it('skips an event kind from a newer trace version without failing', () => {
    const m = new Model(trace([ev({ kind: 'from-the-future', t: 10, pid: 100 }), ev({ kind: 'exit', t: 1400, pid: 100, code: 0 })]), false);
    assert.equal(m.eventsSeen, 2);
    m.layout();
    assert.ok(m.rows.length > 0);
  });

  it('times "after the signal" from the analysis window, so the exit is signal → exit after it', () => {
    const events = [ev({ kind: 'signal-sent', t: 500, pid: 100, signal: 'SIGTERM', target: 100, delivery: 'main', nth: 1 }), ev({ kind: 'process-exit', t: 847, pid: 100, code: 0, signal: null })];
    const m = new Model(trace(events, { signalToExitMs: 347, window: { start: 500, opener: 'SIGTERM', end: 847 } }), false);
    const ref = m.signalRef();
    assert.equal(847 - ref.t, m.trace.analysis!.signalToExitMs);
    assert.equal(ref.name, 'SIGTERM');
    assert.equal(m.graceStart(), 500);
  });

  it('marks the analysis leaks, in its order, each on a row of its own', () => {
    const h = (id: string, label: string) => ({ id, type: 'interval' as const, label, ref: true, createdAt: 5 });
    const events = [
      ev({ kind: 'handle-open', t: 5, pid: 100, handle: h('a', 'setInterval A') }),
      ev({ kind: 'handle-open', t: 6, pid: 100, handle: h('b', 'setInterval B') }),
      ev({ kind: 'handle-open', t: 7, pid: 100, handle: h('c', 'setTimeout C') }),
    ];
    const leaks = [
      { pid: 100, title: 'setInterval B', inUserCode: true, handles: [h('b', 'setInterval B')], count: 1 },
      { pid: 100, title: 'setInterval A', inUserCode: true, handles: [h('a', 'setInterval A')], count: 1 },
    ];
    const m = new Model(trace(events, { leaks, leakedHandleCount: 2 }), false);
    assert.deepEqual(
      m.leaks.map((x) => x.info.id),
      ['b', 'a'],
    );
    assert.deepEqual(
      m.leakList.map((x) => x.leak.title),
      ['setInterval B', 'setInterval A'],
    );
    assert.equal(m.laneByPid.get(100)!.leaks.length, 2);
    assert.equal(m.handles.find((x) => x.info.id === 'c')!.leaked, false);
  });

  it('reads lost and turned-away requests from the analysis, never its own rule', () => {
    const req = (t: number, outcome: string) => ev({ kind: 'load-request', t, end: t + 5, pid: 0, id: t, outcome, keepAlive: true });
    // a reset at close (turned away by the analysis) and a reset mid-request (lost)
    const events = [req(100, 'ok'), req(600, 'reset'), req(700, 'reset'), req(800, 'refused')];
    const requests = {
      url: 'http://x/',
      all: { total: 4, byOutcome: { ok: 1, refused: 1, reset: 2, timeout: 0, 'http-5xx': 0, 'other-error': 0 } },
      shutdown: { total: 3, byOutcome: { ok: 0, refused: 1, reset: 2, timeout: 0, 'http-5xx': 0, 'other-error': 0 } },
      lost: 1,
      refusedWhileAlive: 1,
      resetAtClose: 1,
      failedBeforeShutdown: 0,
      afterExit: 0,
      streams: { total: 0, endedByServer: 0, cut: 0, other: 0 },
      unrecorded: 0,
      roles: { lost: [2], turnedAway: [1, 3], afterExit: [], beforeShutdown: [] },
    };
    const m = new Model(trace(events, { requests }), false);
    assert.equal(loadCountsText(m), '1 lost · 2 turned away · 3 during shutdown');
    assert.deepEqual([...lostRequestEvents(m)], [2]);
    const tr = m.load[0];
    const flagOf = (ref: number) => tr.flags[[...Array(tr.n).keys()].find((i) => tr.ref[i] === ref)!];
    assert.ok(flagOf(1) & F.TURNED, 'the reset at close is drawn turned away');
    assert.equal(flagOf(1) & F.BAD, 0);
    assert.ok(flagOf(2) & F.BAD, 'the lost reset stays a failure');
    // without an analysis: outcomes as recorded, no "lost"
    const live = new Model(trace(events), true);
    assert.doesNotMatch(loadCountsText(live), /lost/);
  });

  it('applies live appends incrementally and keeps tracks sorted', () => {
    const m = new Model(trace([ev({ kind: 'spawned', t: 0, pid: 100, command: 'node' })]), true);
    m.apply(
      [
        ev({ kind: 'request-start', t: 10, pid: 100, server: 's', req: 'r1', method: 'GET', path: '/' }),
        ev({ kind: 'request-end', t: 20, pid: 100, server: 's', req: 'r1', status: 200, aborted: false }),
      ],
      [],
      [],
      30,
    );
    const tr = m.laneByPid.get(100)!.requests[0];
    assert.equal(tr.n, 1);
    assert.equal(tr.end[0], 20);
    assert.equal(m.keyForEvent(2), 'e:1');
  });
});

describe('level of detail', () => {
  it('merges short items per colour and keeps long and open ones apart', () => {
    const tr = new Track('requests', 'requests', null);
    for (let k = 0; k < 100; k++) tr.push(k * 10, k * 10 + 2, K.request, 0, k);
    tr.push(1000, 1900, K.request, F.BAD, 100);
    tr.push(1950, Infinity, K.request, 0, 101);
    const lv = tr.lod.get(tr, 3, 2, (i) => (tr.flags[i] & F.BAD ? 1 : 0)); // buckets of 8 ms
    assert.deepEqual([...lv.spans[0]], [0, 992], 'gaps of 8 ms or less merge into one span');
    assert.deepEqual(
      [...lv.long].map((i) => tr.ref[i]),
      [100, 101],
    );
    assert.equal(lv.spans[1].length, 0);
    const coarse = tr.lod.get(tr, 7, 2, (i) => (tr.flags[i] & F.BAD ? 1 : 0)); // 128 ms: 900 ms is short now
    assert.deepEqual(
      [...coarse.long].map((i) => tr.ref[i]),
      [101],
    );
    // a change of the track drops its levels
    tr.push(2000, 2001, K.request, 0, 102);
    assert.equal(tr.lod.get(tr, 3, 2, () => 0).spans[0].at(-1), 2001);
  });
});
