import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { toChromeTrace, LAUNCHER_PID, TID, type ChromeEvent, type ChromeTrace } from '../../src/core/export-chrome';
import type { Trace, TraceEvent } from '../../src/core/trace';
import { loadFixture } from './traces/load';

const PHASES = new Set(['M', 'b', 'e', 'i', 'C']);

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

describe('toChromeTrace: leaked interval killed at the deadline', () => {
  const trace = loadFixture('leaked-interval');
  const ct = toChromeTrace(trace);
  const body = assertValid(ct, trace);
  const P = 31337;

  test('one process track named by its command, with main, log and leaked-handle threads', () => {
    const m = ct.traceEvents.filter((e) => e.ph === 'M');
    assert.deepEqual(m.find((e) => e.name === 'process_name' && e.pid === P)?.args, { name: 'node test/fixtures/leaked-interval.js (pid 31337)' });
    const tnames = m.filter((e) => e.name === 'thread_name' && e.pid === P).map((e) => [e.tid, e.args!.name]);
    assert.deepEqual(tnames, [[TID.main, 'node test/fixtures/leaked-interval.js'], [TID.log, 'log'], [TID.handles, 'leaked handles']]);
    assert.deepEqual([...new Set(body.map((e) => e.pid))], [P], 'every event is on the service process');
  });

  test('the phase and the listener are async spans in µs', () => {
    const [b, e] = span(body, 'close http server');
    assert.equal(b.cat, 'phase');
    assert.equal(b.ts, 402_000);
    assert.equal(e.ts, 404_000);
    assert.equal(b.args!.durationMs, 2);
    const [lb, le] = span(body, 'listener SIGTERM shutdown');
    assert.equal(lb.cat, 'listener');
    assert.equal(lb.ts, 401_000);
    assert.equal(le.ts, 403_000);
    assert.equal(lb.args!.site, 'test/fixtures/leaked-interval.js:20:11');
    const [sb, se] = span(body, 'http server 127.0.0.1:3000');
    assert.equal(sb.ts, 46_000);
    assert.equal(se.ts, 404_000);
  });

  test('signals, deadline, kill and exit are instants with the right scope', () => {
    const inst = (name: string) => {
      const e = body.find((x) => x.ph === 'i' && x.name === name);
      assert.ok(e, name);
      return e!;
    };
    assert.deepEqual([inst('SIGTERM sent').ts, inst('SIGTERM sent').s, inst('SIGTERM sent').pid], [400_000, 'p', P]);
    assert.deepEqual([inst('SIGTERM received').ts, inst('SIGTERM received').args], [401_000, { signal: 'SIGTERM', nth: 1, listeners: 1 }]);
    assert.deepEqual([inst('grace deadline').ts, inst('grace deadline').s, inst('grace deadline').pid], [5_400_000, 'g', P]);
    assert.deepEqual([inst('SIGKILL sent').ts, inst('SIGKILL sent').args], [5_402_000, { target: P }]);
    assert.deepEqual([inst('process killed by SIGKILL').ts, inst('process killed by SIGKILL').args], [5_421_000, { code: null, signal: 'SIGKILL' }]);
  });

  test('active-count is a counter', () => {
    const c = find(body, (e) => e.ph === 'C');
    assert.deepEqual(c.map((e) => [e.name, e.ts, e.args!.count]), [['active handles', 50_000, 2], ['active handles', 405_000, 1]]);
  });

  test('log lines are instants on the log thread with the text in args', () => {
    const logs = find(body, (e) => e.cat === 'log');
    assert.equal(logs.length, trace.output.length);
    assert.ok(logs.every((e) => e.tid === TID.log && e.ph === 'i' && e.s === 't'));
    assert.deepEqual(logs[0].args, { stream: 'stdout', text: 'listening on http://127.0.0.1:3000' });
    assert.equal(logs[logs.length - 1].ts, 5_047_000);
  });

  test('the leaked interval from the last snapshot, once, with its creation site and stack', () => {
    const leaks = find(body, (e) => e.cat === 'leak');
    assert.equal(leaks.length, 1, 'the stalled snapshot is superseded by the deadline one');
    const l = leaks[0];
    assert.equal(l.name, 'leaked interval: setInterval 1000ms');
    assert.equal(l.ts, 5_401_000);
    assert.equal(l.tid, TID.handles);
    assert.equal(l.args!.site, 'src/metrics.js:12:3');
    assert.equal(l.args!.snapshot, 'deadline');
    assert.deepEqual(l.args!.stack, ['at startMetrics (src/metrics.js:12:3)', 'at main (test/fixtures/leaked-interval.js:14:3)']);
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

  test('both processes have tracks; the main one sorts first', () => {
    const names = ct.traceEvents.filter((e) => e.name === 'process_name').map((e) => [e.pid, e.args!.name]);
    assert.deepEqual(names, [[4100, 'node server.js (pid 4100)'], [4101, 'node worker.js --queue jobs (pid 4101)']]);
    const sort = ct.traceEvents.filter((e) => e.name === 'process_sort_index');
    assert.equal(sort.find((e) => e.pid === 4100)!.args!.sort_index, 0);
  });

  test('nested and overlapping phases each get their own id, on the right process', () => {
    const phases = find(body, (e) => e.ph === 'b' && e.cat === 'phase').map((e) => [e.name, e.pid, e.ts]);
    assert.deepEqual(phases, [
      ['shutdown', 4100, 264_000],
      ['close http server', 4100, 264_000],
      ['drain queue', 4101, 264_000],
      ['close db pool', 4100, 484_000],
      ['wait for worker', 4100, 611_000],
    ]);
    const ids = find(body, (e) => e.ph === 'b').map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(span(body, 'shutdown')[1].ts, 933_000);
    assert.equal(span(body, 'drain queue', 4101)[1].ts, 910_000);
  });

  test('a listener that returned a promise spans until it settled', () => {
    const [b, e] = span(body, 'listener SIGTERM gracefulShutdown');
    assert.equal(b.ts, 263_000);
    assert.equal(e.ts, 933_000);
    assert.equal(b.args!.syncMs, 2);
    assert.equal(b.args!.returnedPromise, true);
    assert.equal(b.args!.settled, 'resolved');
  });

  test('requests and connections are spans; query values are redacted', () => {
    const [rb, re] = span(body, 'GET /reports/42?format=«redacted»');
    assert.equal(rb.cat, 'request');
    assert.deepEqual([rb.ts, re.ts, rb.args!.status], [121_000, 480_000, 200]);
    const [cb, ce] = span(body, 'connection TCP 127.0.0.1:8080 ← 127.0.0.1:52344');
    assert.deepEqual([cb.ts, ce.ts, cb.args!.how], [120_000, 482_000, 'server-ended']);
  });

  test('a signal to the process group is a global instant; each process receives it', () => {
    const sent = body.find((e) => e.name === 'SIGTERM sent')!;
    assert.equal(sent.s, 'g');
    assert.deepEqual(find(body, (e) => e.name === 'SIGTERM received').map((e) => e.pid), [4100, 4101]);
  });

  test('no leaked handles after a clean exit', () => {
    assert.equal(find(body, (e) => e.cat === 'leak').length, 0);
  });
});

describe('toChromeTrace: edge cases', () => {
  test('unfinished spans close at meta.durationMs and say so', () => {
    const trace = loadFixture('graceful-two-processes');
    delete trace.analysis;
    const drop = new Set(['phase-end', 'request-end', 'listener-settled', 'server-closed', 'handle-close', 'conn-end']);
    trace.events = trace.events.filter((e) => !(drop.has(e.kind) && e.pid === 4100));
    const ct = toChromeTrace(trace);
    const body = assertValid(ct, trace);
    for (const name of ['shutdown', 'close http server', 'close db pool', 'wait for worker', 'GET /reports/42?format=«redacted»', 'listener SIGTERM gracefulShutdown']) {
      const [b, e] = span(body, name, 4100);
      assert.equal(e.ts, 952_000, name);
      assert.equal(b.args!.unfinished, true, name);
    }
    // The worker's phase came from events alone (no analysis) and did finish.
    const [wb, we] = span(body, 'drain queue', 4101);
    assert.deepEqual([wb.ts, we.ts, wb.args!.unfinished], [264_000, 910_000, undefined]);
  });

  test('a zero-length span opens before it closes', () => {
    const trace = loadFixture('leaked-interval');
    delete trace.analysis;
    trace.events.push({ kind: 'phase-start', t: 700, pid: 31337, id: 'z', name: 'flush metrics' }, { kind: 'phase-end', t: 700, pid: 31337, id: 'z' });
    const body = assertValid(toChromeTrace(trace), trace);
    const [b, e] = span(body, 'flush metrics');
    assert.deepEqual([b.ts, e.ts], [700_000, 700_000]);
    assert.ok(body.indexOf(b) < body.indexOf(e));
  });

  test('phases come from events when there is no analysis, nested pairs matched by id', () => {
    const trace = loadFixture('graceful-two-processes');
    delete trace.analysis;
    const body = assertValid(toChromeTrace(trace), trace);
    const got = find(body, (e) => e.ph === 'b' && e.cat === 'phase').map((e) => {
      const end = body.find((x) => x.ph === 'e' && x.id === e.id)!;
      return [e.name, e.pid, e.ts, end.ts];
    });
    assert.deepEqual(
      got.sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      [
        ['close db pool', 4100, 484_000, 610_000],
        ['close http server', 4100, 264_000, 483_000],
        ['drain queue', 4101, 264_000, 910_000],
        ['shutdown', 4100, 264_000, 933_000],
        ['wait for worker', 4100, 611_000, 932_000],
      ],
    );
  });

  test('errors, exit calls, notes and orphans; launcher-only events get a launcher track', () => {
    const trace = loadFixture('leaked-interval');
    const P = 31337;
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
    assert.deepEqual(pn, [[0, 'shutdown-trace launcher'], [P, 'node test/fixtures/leaked-interval.js (pid 31337)'], [31400, 'pid 31400']]);
    assert.equal(body.find((e) => e.name === '7 events dropped')!.ts, 413_000);
  });

  test('the export is redacted', () => {
    const trace = loadFixture('leaked-interval');
    trace.meta.command = ['node', 'server.js', '--token', 'chrome-SECRET-1'];
    trace.processes[0].command = 'node server.js --token chrome-SECRET-1';
    trace.output.push({ t: 500, pid: 31337, stream: 'stderr', text: 'DB_PASSWORD=chrome-SECRET-2' });
    trace.events.push({ kind: 'request-start', t: 501, pid: 31337, server: 's1', req: 'r1', method: 'GET', path: '/x?api_key=chrome-SECRET-3' });
    const json = JSON.stringify(toChromeTrace(trace));
    for (const s of ['chrome-SECRET-1', 'chrome-SECRET-2', 'chrome-SECRET-3']) assert.ok(!json.includes(s), s);
    assert.ok(json.includes('node server.js --token «redacted» (pid 31337)'));
    assert.ok(json.includes('"text":"DB_PASSWORD=«redacted»"'));
    trace.output.push({ t: 502, pid: 31337, stream: 'stdout', text: 'run token known-run-token-42' });
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
