// Over 500 lines on purpose: the Chrome export track by track, and its edge cases, in one suite.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { toChromeTrace, LAUNCHER_PID, TID, type ChromeEvent, type ChromeTrace } from '../../src/core/export-chrome';
import type { Trace, TraceEvent } from '../../src/shared/trace';
import { analyze } from '../../src/core/analysis';
import { loadFixture } from './traces/load';

const PHASES = new Set(['M', 'b', 'e', 'i', 'C']);
/** Colour names chrome://tracing reserves (catapult's ColorScheme); anything else is ignored or breaks it. */
const RESERVED_COLORS = new Set([
  'good',
  'bad',
  'terrible',
  'grey',
  'yellow',
  'olive',
  'black',
  'white',
  'generic_work',
  'rail_response',
  'rail_animation',
  'rail_idle',
  'rail_load',
  'startup',
  'heap_dump_stack_frame',
  'heap_dump_object_type',
  'heap_dump_child_node_arrow',
  'cq_build_running',
  'cq_build_passed',
  'cq_build_failed',
  'cq_build_abandoned',
  'cq_build_attempt_runnig',
  'cq_build_attempt_passed',
  'cq_build_attempt_failed',
  'thread_state_uninterruptible',
  'thread_state_iowait',
  'thread_state_running',
  'thread_state_runnable',
  'thread_state_sleeping',
  'thread_state_unknown',
  'background_memory_dump',
  'light_memory_dump',
  'detailed_memory_dump',
  'vsync_highlight_color',
  'vsync_highlight_color',
  'used_memory_column',
  'older_used_memory_column',
  'tracing_memory_column',
]);

/** Checks everything Perfetto and chrome://tracing need; returns the body (non-metadata) events. */
function assertValid(ct: ChromeTrace, trace: Trace): ChromeEvent[] {
  assert.ok(Array.isArray(ct.traceEvents));
  assert.equal(ct.displayTimeUnit, 'ms');
  assert.equal(typeof ct.metadata, 'object');
  // Survives a JSON round trip unchanged (no undefined, NaN or functions).
  assert.deepEqual(JSON.parse(JSON.stringify(ct)), ct);

  const meta = ct.traceEvents.filter((e) => e.ph === 'M');
  const body = ct.traceEvents.filter((e) => e.ph !== 'M');
  assert.deepEqual(ct.traceEvents.slice(0, meta.length), meta, 'metadata events come first');

  for (const e of ct.traceEvents) {
    const where = JSON.stringify(e);
    assert.equal(typeof e.name, 'string', where);
    assert.ok(e.name.length > 0, where);
    assert.ok(PHASES.has(e.ph), where);
    assert.ok(Number.isInteger(e.ts) && e.ts >= 0, `ts: ${where}`);
    assert.ok(Number.isInteger(e.pid), `pid: ${where}`);
    assert.ok(Number.isInteger(e.tid), `tid: ${where}`);
    if (e.ph === 'b' || e.ph === 'e') {
      assert.equal(typeof e.cat, 'string', where);
      assert.ok(Number.isInteger(e.id), where);
    }
    if (e.ph === 'i') assert.ok(e.s === 't' || e.s === 'p' || e.s === 'g', where);
    if (e.ph === 'C') {
      assert.ok(e.args && Object.keys(e.args).length > 0, where);
      for (const v of Object.values(e.args!)) assert.equal(typeof v, 'number', where);
    }
    if (e.ph === 'M') assert.ok(e.args && ('name' in e.args || 'sort_index' in e.args || 'labels' in e.args), where);
    if (e.cname !== undefined) assert.ok(RESERVED_COLORS.has(e.cname), `cname is a reserved colour name: ${where}`);
  }

  // ts never goes backwards after the metadata.
  for (let i = 1; i < body.length; i++) assert.ok(body[i].ts >= body[i - 1].ts, `ts goes backwards at ${JSON.stringify(body[i])}`);

  // Every b has exactly one later e with the same cat, id, name and pid; nothing unmatched.
  const open = new Map<string, ChromeEvent>();
  const done = new Set<string>();
  for (const e of body) {
    if (e.ph !== 'b' && e.ph !== 'e') continue;
    const key = `${e.cat}/${e.id}`;
    if (e.ph === 'b') {
      assert.ok(!open.has(key) && !done.has(key), `id reused: ${key}`);
      open.set(key, e);
    } else {
      const b = open.get(key);
      assert.ok(b, `e without b: ${JSON.stringify(e)}`);
      assert.equal(e.name, b!.name);
      assert.equal(e.pid, b!.pid);
      assert.ok(e.ts >= b!.ts);
      open.delete(key);
      done.add(key);
    }
  }
  assert.equal(open.size, 0, `unclosed spans: ${[...open.keys()].join(', ')}`);

  // Every pid used has a process_name, every (pid, tid) a thread_name.
  const named = new Set(meta.filter((e) => e.name === 'process_name').map((e) => e.pid));
  const threads = new Set(meta.filter((e) => e.name === 'thread_name').map((e) => `${e.pid}/${e.tid}`));
  for (const e of body) {
    assert.ok(named.has(e.pid), `no process_name for pid ${e.pid}`);
    assert.ok(threads.has(`${e.pid}/${e.tid}`), `no thread_name for ${e.pid}/${e.tid}`);
  }
  for (const p of trace.processes) assert.ok(named.has(p.pid), `process ${p.pid} has a track`);
  return body;
}

const find = (evs: ChromeEvent[], pred: (e: ChromeEvent) => boolean) => evs.filter(pred);
const span = (evs: ChromeEvent[], name: string, pid?: number): [ChromeEvent, ChromeEvent] => {
  const b = evs.find((e) => e.ph === 'b' && e.name === name && (pid === undefined || e.pid === pid));
  assert.ok(b, `span ${name} exists`);
  const e = evs.find((x) => x.ph === 'e' && x.id === b!.id && x.cat === b!.cat);
  assert.ok(e);
  return [b!, e!];
};

/** Trace ms → the export's µs. */
const us = (t: number): number => Math.round(t * 1000);
/** The first event of a kind (in a process). */
const first = <K extends TraceEvent['kind']>(t: Trace, kind: K, pid?: number) => {
  const e = t.events.find((x) => x.kind === kind && (pid === undefined || x.pid === pid));
  assert.ok(e, `the fixture has a ${kind} event`);
  return e as Extract<TraceEvent, { kind: K }>;
};

describe('toChromeTrace: leaked interval killed at the deadline', () => {
  const trace = loadFixture('leaked-interval');
  const ct = toChromeTrace(trace);
  const body = assertValid(ct, trace);
  const P = trace.meta.mainPid!;
  const ev = <K extends TraceEvent['kind']>(kind: K) => first(trace, kind);

  test('one process track named by its command, with main, log and leaked-handle threads', () => {
    const m = ct.traceEvents.filter((e) => e.ph === 'M');
    assert.deepEqual(m.find((e) => e.name === 'process_name' && e.pid === P)?.args, { name: `node test/fixtures/leaked-interval.js (pid ${P})` });
    const tnames = m.filter((e) => e.name === 'thread_name' && e.pid === P).map((e) => [e.tid, e.args!.name]);
    assert.deepEqual(tnames, [
      [TID.main, 'node test/fixtures/leaked-interval.js'],
      [TID.log, 'log'],
      [TID.handles, 'leaked handles'],
    ]);
    assert.deepEqual([...new Set(body.map((e) => e.pid))], [P], 'every event is on the service process');
  });

  test('the phase and the listener are async spans in µs', () => {
    const close = ev('server-close');
    const closed = ev('server-closed');
    const [b, e] = span(body, `close server ${ev('listen').address}`);
    assert.equal(b.cat, 'phase');
    assert.equal(b.ts, us(close.t));
    assert.equal(e.ts, us(closed.t));
    assert.equal(b.args!.durationMs, closed.t - close.t);
    const [lb, le] = span(body, 'listener SIGTERM');
    assert.equal(lb.cat, 'listener');
    assert.equal(lb.ts, us(ev('listener-start').t));
    assert.equal(le.ts, us(ev('listener-end').t), 'a listener that returned no promise ends when it returns');
    assert.equal(lb.args!.site, 'test/fixtures/leaked-interval.js:6:9');
    const [sb, se] = span(body, `http server ${ev('listen').address}`);
    assert.equal(sb.ts, us(ev('listen').t));
    assert.equal(se.ts, us(closed.t));
  });

  test('signals, deadline, kill and exit are instants with the right scope', () => {
    const inst = (name: string) => {
      const e = body.find((x) => x.ph === 'i' && x.name === name);
      assert.ok(e, name);
      return e!;
    };
    assert.deepEqual([inst('SIGTERM sent').ts, inst('SIGTERM sent').s, inst('SIGTERM sent').pid], [us(ev('signal-sent').t), 'p', P]);
    assert.deepEqual([inst('SIGTERM received').ts, inst('SIGTERM received').args], [us(ev('signal').t), { signal: 'SIGTERM', nth: 1, listeners: 1 }]);
    assert.deepEqual([inst('grace deadline').ts, inst('grace deadline').s, inst('grace deadline').pid], [us(ev('deadline').t), 'g', P]);
    assert.deepEqual([inst('SIGKILL sent').ts, inst('SIGKILL sent').args], [us(ev('kill-sent').t), { target: P }]);
    assert.deepEqual([inst('process killed by SIGKILL').ts, inst('process killed by SIGKILL').args], [us(ev('process-exit').t), { code: null, signal: 'SIGKILL' }]);
  });

  test('active-count is a counter', () => {
    const c = find(body, (e) => e.ph === 'C');
    const counts = trace.events.filter((e) => e.kind === 'active-count') as Extract<TraceEvent, { kind: 'active-count' }>[];
    assert.ok(counts.length >= 2);
    assert.deepEqual(
      c.map((e) => [e.name, e.ts, e.args!.count]),
      counts.map((e) => ['active handles', us(e.t), e.count]),
    );
  });

  test('log lines are instants on the log thread with the text in args', () => {
    const logs = find(body, (e) => e.cat === 'log');
    assert.equal(logs.length, trace.output.length);
    assert.ok(logs.every((e) => e.tid === TID.log && e.ph === 'i' && e.s === 't'));
    assert.deepEqual(logs[0].args, { stream: 'stdout', text: 'listening' });
    assert.equal(logs[logs.length - 1].ts, us(trace.output[trace.output.length - 1].t));
  });

  test("the analysis' leaked interval, once, at the exit, with its creation site and stack", () => {
    const leaks = find(body, (e) => e.cat === 'leak');
    assert.equal(leaks.length, 1, 'the stalled snapshot is superseded by the deadline one');
    const l = leaks[0];
    assert.equal(l.name, 'leaked interval: setInterval 1000 ms');
    assert.equal(l.ts, us(ev('process-exit').t), 'still alive when the main process ended');
    assert.equal(l.tid, TID.handles);
    assert.equal(l.args!.site, 'test/fixtures/leaked-interval.js:5:19');
    assert.equal(l.args!.leak, 'setInterval 1000 ms');
    assert.deepEqual(l.args!.stack, ['at Object.<anonymous> (test/fixtures/leaked-interval.js:5:19)']);
  });

  test('metadata carries the run summary', () => {
    assert.equal(ct.metadata.exitReason, 'killed-at-deadline');
    assert.equal(ct.metadata.command, 'node test/fixtures/leaked-interval.js');
    assert.equal(ct.metadata.leakedHandleCount, 1);
    assert.equal(ct.metadata.toolVersion, '0.1.0');
  });
});

describe('toChromeTrace: graceful shutdown across two processes', () => {
  const trace = loadFixture('graceful-two-processes');
  const ct = toChromeTrace(trace);
  const body = assertValid(ct, trace);
  const [M, W] = trace.processes.map((p) => p.pid);
  const phase = (name: string, pid: number) => trace.analysis!.phases.find((p) => p.name === name && p.pid === pid)!;

  test('both processes have tracks; the main one sorts first', () => {
    const names = ct.traceEvents.filter((e) => e.name === 'process_name').map((e) => [e.pid, e.args!.name]);
    assert.deepEqual(names, [
      [M, `node server.js (pid ${M})`],
      [W, `node worker.js --queue jobs (pid ${W})`],
    ]);
    const sort = ct.traceEvents.filter((e) => e.name === 'process_sort_index');
    assert.equal(sort.find((e) => e.pid === M)!.args!.sort_index, 0);
  });

  test('nested and overlapping phases each get their own id, on the right process', () => {
    const user = ['shutdown', 'close http server', 'close db pool', 'wait for worker', 'drain queue'];
    const phases = find(body, (e) => e.ph === 'b' && e.cat === 'phase' && user.includes(e.name)).map((e) => [e.name, e.pid, e.ts]);
    const expected = user.map((n) => phase(n, n === 'drain queue' ? W : M)).sort((x, y) => x.start - y.start);
    assert.deepEqual(
      phases,
      expected.map((p) => [p.name, p.pid, us(p.start)]),
    );
    const ids = find(body, (e) => e.ph === 'b').map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(span(body, 'shutdown', M)[1].ts, us(phase('shutdown', M).end!));
    assert.equal(span(body, 'drain queue', W)[1].ts, us(first(trace, 'phase-end', W).t));
  });

  test('a listener that returned a promise spans until it settled', () => {
    const [b, e] = span(body, 'listener SIGTERM gracefulShutdown');
    const start = first(trace, 'listener-start', M);
    assert.equal(b.ts, us(start.t));
    assert.equal(e.ts, us(first(trace, 'listener-settled', M).t));
    assert.equal(b.args!.syncMs, first(trace, 'listener-end', M).t - start.t);
    assert.equal(b.args!.returnedPromise, true);
    assert.equal(b.args!.settled, 'resolved');
  });

  test('requests are spans, the connection that carried one an instant at its end', () => {
    const [rb, re] = span(body, 'GET /reports/42');
    assert.equal(rb.cat, 'request');
    assert.deepEqual([rb.ts, re.ts, rb.args!.status], [us(first(trace, 'request-start').t), us(first(trace, 'request-end').t), 200]);
    const conn = body.find((e) => e.cat === 'connection')!;
    assert.deepEqual([conn.ph, conn.ts, conn.args!.how, conn.args!.hadRequest], ['i', us(first(trace, 'conn-end').t), 'server-ended', true]);
  });

  test('a signal to the process group is a global instant; each process receives it', () => {
    const sent = body.find((e) => e.name === 'SIGTERM sent')!;
    assert.equal(sent.s, 'g');
    assert.deepEqual(
      find(body, (e) => e.name === 'SIGTERM received').map((e) => e.pid),
      trace.events.filter((e) => e.kind === 'signal').map((e) => e.pid),
    );
    assert.deepEqual(new Set(find(body, (e) => e.name === 'SIGTERM received').map((e) => e.pid)), new Set([M, W]));
  });

  test('no leaked handles after a clean exit', () => {
    assert.equal(find(body, (e) => e.cat === 'leak').length, 0);
  });
});

describe('toChromeTrace: edge cases', () => {
  test('unfinished spans close at meta.durationMs and say so', () => {
    const trace = loadFixture('graceful-two-processes');
    const [M, W] = trace.processes.map((p) => p.pid);
    delete trace.analysis;
    const drop = new Set(['phase-end', 'request-end', 'listener-settled', 'server-closed', 'handle-close', 'conn-end']);
    trace.events = trace.events.filter((e) => !(drop.has(e.kind) && e.pid === M));
    const ct = toChromeTrace(trace);
    const body = assertValid(ct, trace);
    for (const name of ['shutdown', 'close http server', 'close db pool', 'wait for worker', 'GET /reports/42', 'listener SIGTERM gracefulShutdown']) {
      const [b, e] = span(body, name, M);
      assert.equal(e.ts, us(trace.meta.durationMs), name);
      assert.equal(b.args!.unfinished, true, name);
    }
    // The worker's phase came from events alone (no analysis) and did finish.
    const [wb, we] = span(body, 'drain queue', W);
    assert.deepEqual([wb.ts, we.ts, wb.args!.unfinished], [us(first(trace, 'phase-start', W).t), us(first(trace, 'phase-end', W).t), undefined]);
  });

  test('a zero-length span opens before it closes', () => {
    const trace = loadFixture('leaked-interval');
    delete trace.analysis;
    trace.events.push({ kind: 'phase-start', t: 700, pid: trace.meta.mainPid!, id: 'z', name: 'flush metrics' }, { kind: 'phase-end', t: 700, pid: trace.meta.mainPid!, id: 'z' });
    const body = assertValid(toChromeTrace(trace), trace);
    const [b, e] = span(body, 'flush metrics');
    assert.deepEqual([b.ts, e.ts], [700_000, 700_000]);
    assert.ok(body.indexOf(b) < body.indexOf(e));
  });

  test("phases are the analysis' (analysed on export when the trace has none), nested pairs matched by id", () => {
    const trace = loadFixture('graceful-two-processes');
    delete trace.analysis;
    const body = assertValid(toChromeTrace(trace), trace);
    const got = find(body, (e) => e.ph === 'b' && e.cat === 'phase').map((e) => {
      const end = body.find((x) => x.ph === 'e' && x.id === e.id)!;
      return [e.name, e.pid, e.ts, end.ts];
    });
    // The analysis of the events, every phase of it, paired by id: the user's and the automatic ones.
    const phases = analyze(trace).phases;
    assert.ok(phases.some((p) => !p.auto) && phases.some((p) => p.auto));
    assert.deepEqual(
      got.sort((a, b) => String(a[0]).localeCompare(String(b[0])) || Number(a[1]) - Number(b[1])),
      phases.map((p) => [p.name, p.pid, us(p.start), us(p.end!)]).sort((a, b) => String(a[0]).localeCompare(String(b[0])) || Number(a[1]) - Number(b[1])),
    );
    assert.deepEqual([...new Set(got.map((g) => g[0]))].filter((n) => ['shutdown', 'close http server', 'close db pool', 'wait for worker', 'drain queue'].includes(String(n))).sort(), [
      'close db pool',
      'close http server',
      'drain queue',
      'shutdown',
      'wait for worker',
    ]);
  });

  test('errors, exit calls, notes and orphans; launcher-only events get a launcher track', () => {
    const trace = loadFixture('leaked-interval');
    const P = trace.meta.mainPid!;
    const site = { frames: [{ fn: 'shutdown', file: '/home/dev/shop-api/src/server.js', line: 50, col: 5 }], user: 0 };
    const extra: TraceEvent[] = [
      { kind: 'error', t: 410, pid: P, origin: 'uncaughtException', message: 'pool.end is not a function', stack: 'TypeError: pool.end is not a function\n    at shutdown', site },
      { kind: 'exit-call', t: 411, pid: P, code: 1, site },
      { kind: 'note', t: 412, pid: 0, text: 'second signal skipped: process already gone' },
      { kind: 'orphan', t: 5430, pid: 31400, ppid: P, command: 'node child.js', stopped: true },
      { kind: 'dropped', t: 413, pid: P, count: 7 },
    ];
    trace.events.push(...extra);
    trace.events.sort((a, b) => a.t - b.t);
    const body = assertValid(toChromeTrace(trace), trace);
    const err = body.find((e) => e.cat === 'error')!;
    assert.deepEqual([err.name, err.ph, err.s, err.ts, err.args!.site], ['uncaughtException: pool.end is not a function', 'i', 'p', 410_000, 'src/server.js:50:5']);
    const exit = body.find((e) => e.name === 'process.exit(1)')!;
    assert.deepEqual([exit.ts, exit.args!.code, exit.args!.site], [411_000, 1, 'src/server.js:50:5']);
    const note = body.find((e) => e.cat === 'tool' && e.pid === LAUNCHER_PID)!;
    assert.deepEqual([note.s, note.args!.text], ['g', 'second signal skipped: process already gone']);
    const orphan = body.find((e) => e.name === 'orphaned')!;
    assert.deepEqual([orphan.pid, orphan.args!.ppid], [31400, P]);
    const ct = toChromeTrace(trace);
    const pn = ct.traceEvents.filter((e) => e.name === 'process_name').map((e) => [e.pid, e.args!.name]);
    assert.deepEqual(pn, [
      [0, 'shutdown-trace launcher'],
      [P, `node test/fixtures/leaked-interval.js (pid ${P})`],
      [31400, 'pid 31400'],
    ]);
    assert.equal(body.find((e) => e.name === '7 events dropped')!.ts, 413_000);
  });

  test('the export is redacted', () => {
    const trace = loadFixture('leaked-interval');
    trace.meta.command = ['node', 'server.js', '--token', 'chrome-SECRET-1'];
    trace.processes[0].command = 'node server.js --token chrome-SECRET-1';
    const P = trace.meta.mainPid!;
    trace.output.push({ t: 500, pid: P, stream: 'stderr', text: 'DB_PASSWORD=chrome-SECRET-2' });
    trace.events.push({ kind: 'request-start', t: 501, pid: P, server: 's1', req: 'r1', method: 'GET', path: '/x?api_key=chrome-SECRET-3' });
    const json = JSON.stringify(toChromeTrace(trace));
    for (const s of ['chrome-SECRET-1', 'chrome-SECRET-2', 'chrome-SECRET-3']) assert.ok(!json.includes(s), s);
    assert.ok(json.includes(`node server.js --token «redacted» (pid ${P})`));
    assert.ok(json.includes('"text":"DB_PASSWORD=«redacted»"'));
    trace.output.push({ t: 502, pid: P, stream: 'stdout', text: 'run token known-run-token-42' });
    assert.ok(!JSON.stringify(toChromeTrace(trace, ['known-run-token-42'])).includes('known-run-token-42'), 'extra secrets are passed on');
  });

  test('an empty trace still gives a valid file with a track for the main process', () => {
    const trace = loadFixture('leaked-interval');
    trace.events = [];
    trace.output = [];
    delete trace.analysis;
    const ct = toChromeTrace(trace);
    const body = assertValid(ct, trace);
    assert.equal(body.length, 0);
    assert.equal(ct.traceEvents.filter((e) => e.name === 'process_name').length, 1);
  });
});

// ------------------------------------------------------------------ traffic and Kubernetes

/** b events with their matching e (same cat and id). */
const spansOf = (body: ChromeEvent[], pred: (b: ChromeEvent) => boolean): [ChromeEvent, ChromeEvent][] =>
  body.filter((e) => e.ph === 'b' && pred(e)).map((b) => [b, body.find((x) => x.ph === 'e' && x.cat === b.cat && x.id === b.id)!]);
const threadName = (ct: ChromeTrace, pid: number, tid: number) => ct.traceEvents.find((e) => e.ph === 'M' && e.name === 'thread_name' && e.pid === pid && e.tid === tid)?.args?.name;

describe('toChromeTrace: traffic during shutdown (load-drop: requests lost)', () => {
  const trace = loadFixture('load-drop');
  const ct = toChromeTrace(trace);
  const body = assertValid(ct, trace);
  const load = spansOf(body, (b) => b.cat === 'load');
  const requests = trace.events.filter((e) => e.kind === 'load-request') as Extract<TraceEvent, { kind: 'load-request' }>[];
  const a = trace.analysis!.requests!;
  /** The load-request ids of an analysis role (its entries are indexes into the events). */
  const roleIds = (role: 'lost' | 'turnedAway' | 'afterExit') => a.roles![role].map((i) => (trace.events[i] as Extract<TraceEvent, { kind: 'load-request' }>).id);
  const signalAt = first(trace, 'signal-sent').t;
  const exitAt = first(trace, 'process-exit').t;

  test('every load request is one async span on the launcher, from its start to its outcome, in µs', () => {
    assert.equal(requests.length, first(trace, 'load-summary').sent, 'the fixture recorded every request it sent');
    assert.equal(load.length, requests.length);
    assert.ok(load.every(([b, e]) => b.pid === LAUNCHER_PID && e.pid === LAUNCHER_PID));
    // The first request reset mid-request: in flight when the service exited.
    const r = requests.find((x) => x.outcome === 'reset')!;
    assert.ok(r.t < signalAt && r.end! > signalAt, 'in flight at the signal');
    const [b, e] = load.find(([x]) => x.args!.id === r.id)!;
    assert.deepEqual([b.name, b.ts, e.ts], ['request reset', us(r.t), us(r.end!)]);
    assert.deepEqual(b.args, { id: r.id, outcome: 'reset', counted: 'lost', error: r.error, keepAlive: false, durationMs: +(r.end! - r.t).toFixed(3) });
    const [ok] = load.find(([x]) => x.args!.id === 1)!;
    assert.deepEqual([ok.name, ok.args!.status, ok.args!.counted, ok.args!.keepAlive], ['request ok', 200, 'answered', false]);
  });

  test('one thread per outcome class, coloured good / bad / terrible / grey', () => {
    const by = (counted: string) => load.filter(([b]) => b.args!.counted === counted).map(([b]) => b);
    const lost = by('lost');
    const answered = by('answered');
    const away = by('turned away');
    const afterExit = by('after exit');
    assert.ok(
      [lost, answered, away, afterExit].every((x) => x.length > 0),
      'the fixture has requests of every class',
    );
    assert.equal(lost.length + answered.length + away.length + afterExit.length, requests.length, 'each request in one class');
    assert.equal(answered.length, requests.filter((r) => r.outcome === 'ok').length);
    // The same requests as the analysis' roles: in flight at the signal and reset (lost), refused or reset
    // after the signal while the service lived (turned away), sent after it exited.
    assert.deepEqual(
      lost.map((b) => b.args!.id),
      roleIds('lost'),
    );
    assert.equal(lost.length, a.lost, 'the same count as the analysis');
    assert.ok(requests.filter((r) => roleIds('lost').includes(r.id)).every((r) => r.t < signalAt && r.outcome === 'reset'));
    assert.deepEqual(
      away.map((b) => b.args!.id),
      roleIds('turnedAway'),
    );
    assert.equal(away.length, a.refusedWhileAlive + a.resetAtClose);
    assert.ok(requests.filter((r) => roleIds('turnedAway').includes(r.id)).every((r) => r.t > signalAt && r.t < exitAt && r.outcome !== 'ok'));
    assert.deepEqual(
      afterExit.map((b) => b.args!.id),
      roleIds('afterExit'),
    );
    assert.deepEqual(
      afterExit.map((b) => b.args!.id),
      requests.filter((r) => r.t > exitAt).map((r) => r.id),
      'every request sent after the exit',
    );
    assert.ok(lost.every((b) => b.tid === TID.lost && b.cname === 'terrible' && b.args!.outcome === 'reset'));
    assert.ok(answered.every((b) => b.tid === TID.answered && b.cname === 'good'));
    assert.deepEqual(
      away.map((b) => [b.tid, b.cname, b.name]),
      away.map((b) => [TID.turnedAway, 'bad', `request ${requests.find((r) => r.id === b.args!.id)!.outcome}`]),
    );
    assert.ok(afterExit.every((b) => b.tid === TID.turnedAway && b.cname === 'grey' && b.name === 'request refused'));
    // The e carries the colour too (viewers that colour by the end event).
    assert.ok(load.every(([b, e]) => e.cname === b.cname));
    assert.equal(threadName(ct, LAUNCHER_PID, TID.answered), 'requests: answered');
    assert.equal(threadName(ct, LAUNCHER_PID, TID.turnedAway), 'requests: turned away (refused, or after the exit)');
    assert.equal(threadName(ct, LAUNCHER_PID, TID.lost), 'requests: lost or failed');
    assert.equal(threadName(ct, LAUNCHER_PID, TID.streams), undefined, 'no stream thread without streams');
  });

  test('the load start and summary are instants on the load generator thread; the summary and accounting are metadata', () => {
    const ls = first(trace, 'load-start');
    const summary = first(trace, 'load-summary');
    const start = body.find((e) => e.cat === 'load' && e.ph === 'i' && e.name.startsWith('load started'))!;
    assert.deepEqual([start.name, start.ts, start.tid, start.args], ['load started: 50 requests/s', us(ls.t), TID.load, { url: ls.url, rate: 50, keepAlive: false, sse: 0 }]);
    const sum = body.find((e) => e.cat === 'load' && e.ph === 'i' && e.name.startsWith('load summary'))!;
    assert.equal(sum.name, `load summary: ${requests.length} sent`);
    assert.equal(sum.ts, us(summary.t));
    const count = (o: string) => requests.filter((r) => r.outcome === o).length;
    assert.deepEqual(sum.args!.byOutcome, { ok: count('ok'), refused: count('refused'), reset: count('reset'), timeout: 0, 'http-5xx': 0, 'other-error': 0 });
    assert.equal(threadName(ct, LAUNCHER_PID, TID.load), 'load generator');
    const m = ct.metadata.load as { config: { rate: number }; summary: { sent: number }; accounting: { lost: number; refusedWhileAlive: number; afterExit: number } };
    assert.equal(m.config.rate, 50);
    assert.equal(m.summary.sent, requests.length);
    assert.deepEqual([m.accounting.lost, m.accounting.refusedWhileAlive, m.accounting.afterExit], [a.lost, a.refusedWhileAlive, a.afterExit]);
    assert.equal(ct.metadata.k8s, undefined);
  });

  test('the launcher track sorts first and is named', () => {
    const pn = ct.traceEvents.find((e) => e.name === 'process_name' && e.pid === LAUNCHER_PID);
    assert.equal(pn?.args?.name, 'shutdown-trace launcher');
    assert.equal(ct.traceEvents.find((e) => e.name === 'process_sort_index' && e.pid === LAUNCHER_PID)?.args?.sort_index, -1);
  });
});

describe('toChromeTrace: event streams (load-sse)', () => {
  const trace = loadFixture('load-sse');
  const ct = toChromeTrace(trace);
  const body = assertValid(ct, trace);

  test('streams have their own thread, cut ones coloured terrible, with events and status', () => {
    const streams = spansOf(body, (b) => b.cat === 'load' && b.tid === TID.streams);
    const sse = trace.events.filter((e) => e.kind === 'load-request' && e.sse) as Extract<TraceEvent, { kind: 'load-request' }>[];
    assert.equal(sse.length, 2, 'the two streams of --sse 2');
    assert.equal(streams.length, sse.length);
    const [b, e] = streams[0];
    // Cut by the SIGKILL: the stream ends once it was sent (the client can see the reset before the launcher sees the exit).
    assert.equal(sse[0].outcome, 'reset');
    assert.ok(sse[0].end! >= first(trace, 'kill-sent').t, `the stream ended at ${sse[0].end}, after SIGKILL was sent`);
    assert.deepEqual([b.name, b.ts, e.ts, b.cname], ['stream reset', us(sse[0].t), us(sse[0].end!), 'terrible']);
    assert.equal(b.args!.sse, true);
    assert.ok(sse[0].events! > 1, `${sse[0].events} events on the stream`);
    assert.equal(b.args!.events, sse[0].events);
    assert.equal(b.args!.status, 200);
    assert.equal(b.args!.counted, 'cut');
    assert.equal(threadName(ct, LAUNCHER_PID, TID.streams), 'event streams');
    // Plain requests are not on the stream thread.
    assert.ok(spansOf(body, (x) => x.cat === 'load' && x.tid !== TID.streams).every(([x]) => x.args!.sse === undefined));
  });

  test('an ended stream is good', () => {
    const t = loadFixture('load-sse');
    for (const e of t.events) if (e.kind === 'load-request' && e.sse) Object.assign(e, { outcome: 'ok', error: undefined });
    const b = assertValid(toChromeTrace(t), t);
    assert.ok(spansOf(b, (x) => x.tid === TID.streams).every(([x]) => x.cname === 'good' && x.args!.counted === 'ended by the service'));
  });
});

describe('toChromeTrace: Kubernetes termination', () => {
  test('preStop sleep: a span on the kubernetes thread; termination start a global instant; the countdown as a span and its end', () => {
    const trace = loadFixture('k8s-prestop-sleep');
    const ct = toChromeTrace(trace);
    const body = assertValid(ct, trace);
    const k8s = body.filter((e) => e.cat === 'k8s');
    assert.ok(k8s.every((e) => e.pid === LAUNCHER_PID && e.tid === TID.k8s));
    assert.equal(threadName(ct, LAUNCHER_PID, TID.k8s), 'kubernetes termination');
    const term = first(trace, 'termination-start');
    const pre = first(trace, 'prestop-end');
    const schedule = trace.meta.k8s!.schedule!;

    const start = k8s.find((e) => e.ph === 'i' && e.name.startsWith('termination started'))!;
    assert.deepEqual([start.name, start.ts, start.s, start.args], ['termination started (grace 3 s)', us(term.t), 'g', { graceSeconds: 3, stopSignal: 'SIGTERM', preStop: 'sleep 1 s' }]);

    const [pb, pe] = span(body, 'preStop sleep 1 s', LAUNCHER_PID);
    assert.deepEqual([pb.cat, pb.ts, pe.ts, pb.cname], ['k8s', us(first(trace, 'prestop-start').t), us(pre.t), 'good']);
    assert.deepEqual([pb.args!.action, pb.args!.ok, pb.args!.overran], ['sleep', true, false]);
    assert.equal(pb.args!.durationMs, pre.durationMs);
    assert.ok(Math.abs(pre.durationMs - 1000) < 100, 'a 1 s sleep');

    // The grace period counts from termination start; the process exited long before SIGKILL was due.
    const [gb, ge] = span(body, 'grace period 3 s', LAUNCHER_PID);
    assert.deepEqual([gb.ts, ge.ts, gb.args!.endedBy, gb.cname], [us(term.t), us(first(trace, 'process-exit').t), 'exit', 'good']);
    assert.equal(gb.args!.killAtMs, schedule.killAtMs);
    assert.equal(schedule.killAtMs, pre.durationMs + 2000, 'SIGKILL 2 s after the signal, which came when the sleep ended');
    const due = k8s.find((e) => e.ph === 'i' && e.name.includes('SIGKILL due'))!;
    assert.deepEqual([due.name, due.ts, due.args!.reached, due.cname], ['grace period would end: SIGKILL due', us(term.t + schedule.killAtMs), false, 'grey']);
    assert.equal(k8s.filter((e) => e.name.startsWith('grace extension')).length, 0);

    // The stop signal and the exit stay on the service's track.
    const sent = body.find((e) => e.name === 'SIGTERM sent')!;
    assert.deepEqual([sent.pid, sent.ts], [trace.meta.mainPid, us(first(trace, 'signal-sent').t)]);
    assert.ok(first(trace, 'signal-sent').t >= pre.t, 'after the preStop');

    const m = ct.metadata.k8s as { plan: { graceSeconds: number; preStop: unknown }; outcome: { fate: string; summary: string } };
    assert.equal(m.plan.graceSeconds, 3);
    assert.deepEqual(m.plan.preStop, { action: 'sleep', ms: 1000 });
    assert.equal(m.outcome.fate, 'graceful');
    // Lost: the requests refused while the Service still routed here (before the endpoint removal propagated).
    const removed = trace.events.find((e) => e.kind === 'platform' && e.what === 'endpoints-removed')!;
    const refusedRouted = trace.events.filter((e) => e.kind === 'load-request' && e.outcome === 'refused' && e.t < removed.t).length;
    assert.ok(refusedRouted > 0);
    const endedAfter = (first(trace, 'process-exit').t - term.t) / 1000;
    assert.equal(m.outcome.summary, `stopped gracefully ${endedAfter.toFixed(1)} s into its 3 s grace period; ${refusedRouted} requests lost; no handles alive`);
  });

  test('preStop overran: a terrible span, the grace extension, and the countdown ending at SIGKILL', () => {
    const trace = loadFixture('k8s-prestop-overrun');
    const ct = toChromeTrace(trace);
    const body = assertValid(ct, trace);
    const term = first(trace, 'termination-start');
    const hook = first(trace, 'prestop-start');
    const [pb, pe] = span(body, 'preStop exec: echo draining; sleep 5', LAUNCHER_PID);
    assert.deepEqual([pb.ts, pe.ts, pb.cname, pb.tid], [us(hook.t), us(first(trace, 'prestop-end').t), 'terrible', TID.k8s]);
    assert.ok(hook.hookPid! > 0 && hook.hookPid !== trace.meta.mainPid);
    assert.deepEqual([pb.args!.action, pb.args!.hookPid, pb.args!.ok, pb.args!.overran], ['exec', hook.hookPid, false, true]);
    assert.match(String(pb.args!.error), /still running at the 2 s grace deadline/);
    assert.ok(!ct.traceEvents.some((e) => e.pid === hook.hookPid), 'the hook is not drawn as a process of the service');

    const ext = body.find((e) => e.name.startsWith('grace extension'))!;
    assert.deepEqual([ext.name, ext.ph, ext.s, ext.ts, ext.cname, ext.args!.seconds], ['grace extension: SIGKILL 2 s after the signal', 'i', 'g', us(first(trace, 'grace-extension').t), 'bad', 2]);
    assert.match(String(ext.args!.reason), /one-off extension/);

    // 2 s grace overrun by the hook, then the kubelet's one-off 2 s: SIGKILL due 4 s after termination start.
    const [gb, ge] = span(body, 'grace period 2 s', LAUNCHER_PID);
    assert.deepEqual([gb.ts, ge.ts, gb.args!.endedBy, gb.args!.extended, gb.cname], [us(term.t), us(term.t + 4000), 'SIGKILL due', true, 'terrible']);
    const due = body.find((e) => e.cat === 'k8s' && e.ph === 'i' && e.name.includes('SIGKILL due'))!;
    assert.deepEqual([due.name, due.ts, due.args!.reached], ['grace period over: SIGKILL due', us(term.t + 4000), true]);
    // The launcher's own deadline and kill still show on the service.
    assert.equal(body.find((e) => e.name === 'grace deadline')!.ts, us(first(trace, 'deadline').t));
    assert.equal(body.find((e) => e.name === 'SIGKILL sent')!.ts, us(first(trace, 'kill-sent').t));
    assert.equal((ct.metadata.k8s as { outcome: { fate: string } }).outcome.fate, 'killed');
  });

  test('a preStop that never ended closes at the end of the trace, unfinished', () => {
    const trace = loadFixture('k8s-prestop-overrun');
    trace.events = trace.events.filter((e) => e.kind !== 'prestop-end');
    const body = assertValid(toChromeTrace(trace), trace);
    const [b, e] = span(body, 'preStop exec: echo draining; sleep 5', LAUNCHER_PID);
    assert.equal(b.args!.unfinished, true);
    assert.equal(b.cname, undefined);
    assert.equal(e.ts, Math.round(trace.meta.durationMs * 1000));
  });

  test('a failed hook is bad, with its exit code and output', () => {
    const trace = loadFixture('k8s-prestop-sleep');
    const pe = trace.events.find((e) => e.kind === 'prestop-end')!;
    Object.assign(pe, { ok: false, error: 'exited with code 7', exitCode: 7, output: 'curl: (7) Failed to connect' });
    const body = assertValid(toChromeTrace(trace), trace);
    const [b] = span(body, 'preStop sleep 1 s', LAUNCHER_PID);
    assert.deepEqual([b.cname, b.args!.exitCode, b.args!.output, b.args!.error], ['bad', 7, 'curl: (7) Failed to connect', 'exited with code 7']);
  });

  // The regenerated Kubernetes runs have platform events (PID 1, the preStop snapshot points, the endpoint removal).
  test('platform instants carry no undefined args', () => {
    const trace = loadFixture('k8s-prestop-sleep');
    const platform = toChromeTrace(trace).traceEvents.filter((e) => e.cat === 'platform');
    assert.ok(platform.length > 0);
    for (const e of platform)
      assert.deepEqual(
        Object.entries(e.args ?? {}).filter(([, v]) => v === undefined),
        [],
        JSON.stringify(e),
      );
  });

  test('load and Kubernetes fields are redacted', () => {
    const trace = loadFixture('k8s-prestop-overrun');
    const secretCmd = 'curl -H "Authorization: Bearer k8s-SECRET-1" localhost/drain';
    trace.meta.k8s!.preStop = { action: 'exec', command: secretCmd };
    for (const e of trace.events) {
      if (e.kind === 'termination-start') e.preStop = `exec: ${secretCmd}`;
      if (e.kind === 'prestop-start') e.detail = `exec: ${secretCmd}`;
      if (e.kind === 'prestop-end') e.output = 'draining with token=k8s-SECRET-2';
      if (e.kind === 'load-start' || e.kind === 'load-summary') e.url = 'http://127.0.0.1:36937/health?api_key=k8s-SECRET-3';
      if (e.kind === 'load-request' && e.id === 1) Object.assign(e, { outcome: 'refused', error: 'ECONNREFUSED password=k8s-SECRET-4' });
    }
    trace.meta.load!.url = 'http://user:k8s-SECRET-5@127.0.0.1:36937/health?api_key=k8s-SECRET-3';
    trace.analysis!.requests!.url = trace.meta.load!.url;
    trace.analysis!.k8s!.preStop = `exec: ${secretCmd}`;
    const ct = toChromeTrace(trace);
    const json = JSON.stringify(ct);
    for (const s of ['k8s-SECRET-1', 'k8s-SECRET-2', 'k8s-SECRET-3', 'k8s-SECRET-4', 'k8s-SECRET-5']) assert.ok(!json.includes(s), s);
    assert.ok(json.includes('Bearer «redacted»'));
    assert.ok(json.includes('health?api_key=«redacted»'));
    assert.ok(!JSON.stringify(toChromeTrace(trace, ['draining with'])).includes('draining with'), 'extra secrets are passed on');
  });
});
