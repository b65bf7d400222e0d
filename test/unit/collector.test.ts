/**
 * The collector refuses strangers and survives garbage: wrong, missing and replayed tokens,
 * foreign pids, oversized and malformed frames, and a fuzz of 10,000 random and mutated frames.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import WebSocket from 'ws';
import { Collector, COLLECTOR_MAX_PAYLOAD } from '../../src/core/collector';
import { TOKEN_HEADER, PROTOCOL_VERSION, type PreloadEvent } from '../../src/shared/wire';

interface Log {
  hellos: number[];
  events: { pid: number; seq: number; events: PreloadEvent[] }[];
  rejects: { kind: string; reason: string }[];
}

async function collector(belongs?: (pid: number) => boolean): Promise<{ c: Collector; log: Log }> {
  const log: Log = { hellos: [], events: [], rejects: [] };
  const c = new Collector({
    onHello: (h) => log.hellos.push(h.pid),
    onEvents: (pid, seq, events) => log.events.push({ pid, seq, events }),
    onReject: (kind, reason) => log.rejects.push({ kind, reason }),
    belongsToRun: belongs,
  });
  await c.start();
  return { c, log };
}

function connect(c: Collector, token: string | undefined): Promise<{ ws?: WebSocket; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${c.port}/`, { headers: token === undefined ? {} : { [TOKEN_HEADER]: token } });
    ws.on('open', () => resolve({ ws }));
    ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode }));
    ws.on('error', () => resolve({}));
  });
}

const hello = (pid: number) => JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, pid, ppid: 1, argv: ['node'], node: 'v20', cwd: '/', t: 0, isWorker: false });
const events = (pid: number, seq: number, t = 1) => JSON.stringify({ type: 'events', pid, seq, events: [{ kind: 'signal', t, signal: 'SIGTERM', nth: 1, listeners: 1 }] });
const until = async (cond: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), 'condition not reached in time');
};
const closed = (ws: WebSocket) => new Promise<number>((r) => (ws.readyState === ws.CLOSED ? r(-1) : ws.once('close', (code) => r(code))));

describe('collector: who gets in', () => {
  test('listens on 127.0.0.1 only, on a random port, with a fresh 192-bit token per run', async () => {
    const a = await collector();
    const b = await collector();
    assert.notEqual(a.c.port, 0);
    assert.notEqual(a.c.token, b.c.token);
    assert.match(a.c.token, /^[0-9a-f]{48}$/);
    const addr = (a.c as unknown as { http: import('http').Server }).http.address() as { address: string };
    assert.equal(addr.address, '127.0.0.1');
    await a.c.close();
    await b.c.close();
  });

  test('missing and wrong tokens are refused with 401 and counted', async () => {
    const { c, log } = await collector();
    assert.equal((await connect(c, undefined)).status, 401);
    assert.equal((await connect(c, 'x'.repeat(48))).status, 401);
    assert.equal((await connect(c, c.token.slice(0, -1))).status, 401);
    assert.deepEqual(
      log.rejects.map((r) => r.reason),
      ['connection without a token', 'connection with a wrong token', 'connection with a wrong token'],
    );
    assert.equal(log.hellos.length, 0);
    await c.close();
  });

  test('a replayed hello (same pid twice) and a pid outside the run are refused', async () => {
    const { c, log } = await collector((pid) => pid !== 999);
    const first = (await connect(c, c.token)).ws!;
    first.send(hello(4242));
    await until(() => log.hellos.length === 1);
    const second = (await connect(c, c.token)).ws!;
    second.send(hello(4242));
    assert.equal(await closed(second), 1008);
    const foreign = (await connect(c, c.token)).ws!;
    foreign.send(hello(999));
    assert.equal(await closed(foreign), 1008);
    assert.deepEqual(log.hellos, [4242]);
    assert.ok(log.rejects.some((r) => r.reason === 'replayed hello for pid 4242'));
    assert.ok(log.rejects.some((r) => /pid 999 is not part of the traced process tree/.test(r.reason)));
    // The legitimate connection still works.
    first.send(events(4242, 0));
    await until(() => log.events.length === 1);
    first.close();
    await c.close();
  });

  test('events before a hello are refused; a wrong protocol version too', async () => {
    const { c, log } = await collector();
    const ws = (await connect(c, c.token)).ws!;
    ws.send(events(1, 0));
    assert.equal(await closed(ws), 1008);
    const old = (await connect(c, c.token)).ws!;
    old.send(JSON.stringify({ type: 'hello', protocol: 0, pid: 5 }));
    assert.equal(await closed(old), 1008);
    assert.equal(log.events.length, 0);
    assert.ok(log.rejects.some((r) => /protocol version 0/.test(r.reason)));
    await c.close();
  });

  test('an oversized frame closes that connection (1009) and is counted; the collector goes on', async () => {
    const { c, log } = await collector();
    const ws = (await connect(c, c.token)).ws!;
    ws.send(hello(77));
    await until(() => log.hellos.length === 1);
    ws.send(Buffer.alloc(COLLECTOR_MAX_PAYLOAD + 1, 0x61).toString());
    assert.equal(await closed(ws), 1009);
    await until(() => log.rejects.some((r) => /larger than maxPayload/.test(r.reason)));
    const next = (await connect(c, c.token)).ws!;
    next.send(hello(78));
    next.send(events(78, 0));
    await until(() => log.events.length === 1);
    next.close();
    await c.close();
  });

  test('close() is idempotent and really stops listening', async () => {
    const { c } = await collector();
    const p1 = c.close();
    const p2 = c.close();
    assert.equal(p1, p2);
    await p1;
    const r = await connect(c, c.token);
    assert.equal(r.ws, undefined);
  });
});

describe('collector: fuzz', () => {
  test('10,000 random and mutated frames: no crash, every valid event kept, every bad frame counted', async () => {
    const { c, log } = await collector();
    const ws = (await connect(c, c.token)).ws!;
    ws.send(hello(100));
    await until(() => log.hellos.length === 1);
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const valid = [events(100, 0), hello(100), JSON.stringify({ type: 'events', pid: 100, seq: 1, events: [{ kind: 'listen', t: 2, server: 's', proto: 'http', address: '127.0.0.1:1' }] })];
    const mutate = (s: string) => {
      const chars = [...s];
      const n = 1 + Math.floor(rand() * 4);
      for (let i = 0; i < n; i++) {
        const at = Math.floor(rand() * chars.length);
        const op = rand();
        if (op < 0.33) chars.splice(at, 1);
        else if (op < 0.66) chars.splice(at, 0, String.fromCharCode(Math.floor(rand() * 0xffff)));
        else chars[at] = '{}[]":,0-e\\'[Math.floor(rand() * 11)];
      }
      return chars.join('');
    };
    const garbage = () => {
      const r = rand();
      if (r < 0.4) return mutate(valid[Math.floor(rand() * valid.length)]);
      if (r < 0.6) return crypto.randomBytes(Math.floor(rand() * 200)); // binary frame
      if (r < 0.7) return JSON.stringify({ type: 'events', pid: 100, seq: rand() * 1e9, events: [{ kind: 'signal', t: 'soon' }, null, 5, { kind: 'nope', t: 1 }] });
      if (r < 0.8) return JSON.stringify([1, 2, 3]);
      if (r < 0.9) return JSON.stringify({ type: 'events', pid: 100, seq: 'x', events: {} });
      return 'null';
    };
    const FRAMES = 10_000;
    let sentValid = 0;
    for (let i = 0; i < FRAMES; i++) {
      ws.send(garbage());
      if (i % 100 === 0) {
        ws.send(events(100, 1000 + i, i));
        sentValid++;
      }
      if (i % 500 === 0) await new Promise((r) => setImmediate(r));
    }
    ws.send(events(100, 999_999, 1));
    await until(() => log.events.some((e) => e.seq === 999_999), 10_000);
    // Every deliberately valid event arrived, in order, unaltered.
    const ours = log.events.filter((e) => e.seq >= 1000 && e.seq < 999_999 && Number.isInteger(e.seq));
    assert.ok(ours.length >= sentValid, `${ours.length} of ${sentValid} valid frames kept`);
    for (const e of log.events) for (const ev of e.events) assert.ok(typeof ev.kind === 'string' && Number.isFinite(ev.t), 'only well-formed events pass');
    assert.ok(log.rejects.length > FRAMES * 0.5, `bad frames counted: ${log.rejects.length}`);
    // The connection is still usable and the collector still accepts newcomers.
    assert.equal(ws.readyState, ws.OPEN);
    const other = (await connect(c, c.token)).ws!;
    other.send(hello(101));
    await until(() => log.hellos.includes(101));
    ws.close();
    other.close();
    await c.close();
  });
});

describe('collector: every event is validated field by field', () => {
  const frame = (pid: number, seq: number, evs: unknown[]) => JSON.stringify({ type: 'events', pid, seq, events: evs });
  const handle = {
    id: 'h1',
    type: 'interval',
    label: 'setInterval 1000 ms',
    ref: true,
    createdAt: 5,
    site: { frames: [{ fn: 'main', file: '/app/a.js', line: 3, col: 7 }], user: 0 },
    details: { delayMs: 1000 },
  };

  test('wrong types are refused and counted, naming the field; the connection and the run go on', async () => {
    const { c, log } = await collector();
    const ws = (await connect(c, c.token)).ws!;
    ws.send(hello(300));
    await until(() => log.hellos.length === 1);
    const bad: [unknown, RegExp][] = [
      [{ kind: 'snapshot', t: 1, handles: 5 }, /events\[0\]\.reason is missing|events\[0\]\.handles is not a list/],
      [{ kind: 'snapshot', t: 1, reason: 'deadline', handles: 5, unidentified: [] }, /events\[0\]\.handles is not a list \(number\)/],
      [{ kind: 'dropped', t: 1, count: 'abc' }, /events\[0\]\.count is not a number \(string\)/],
      [{ kind: 'snapshot', t: 1, reason: 'deadline', handles: [null, 5], unidentified: [] }, /events\[0\]\.handles\[0\] is not an object \(null\)/],
      [
        { kind: 'snapshot', t: 1, reason: 'deadline', handles: [{ ...handle, site: { frames: [{ file: 1, line: 1, col: 1 }], user: 0 } }], unidentified: [] },
        /handles\[0\]\.site\.frames\[0\]\.file is not a string/,
      ],
      [{ kind: 'snapshot', t: 1, reason: 'deadline', handles: [{ ...handle, site: { frames: [], user: 4 } }], unidentified: [] }, /handles\[0\]\.site\.user is not -1 or an index into frames/],
      [{ kind: 'handle-open', t: 1, handle: { ...handle, owner: { id: 'o1', name: 'ioredis Redis', via: 'guessed' } } }, /handle\.owner\.via is not one of reachable, method-frame/],
      [{ kind: 'handle-open', t: 1, handle: { ...handle, details: { nested: { a: 1 } } } }, /handle\.details\.nested is not a string, number or boolean/],
      [{ kind: 'signal', t: '1', signal: 'SIGTERM', nth: 1, listeners: 1 }, /events\[0\]\.t is not a number/],
      [{ kind: 'listen', t: 1, server: 's', proto: 'gopher', address: '127.0.0.1:1' }, /proto is not one of http, https, net, tls/],
      [{ kind: 'exit-call', t: 1, code: { toString: 1 } }, /events\[0\]\.code is not a string/],
      [{ kind: 'request-end', t: 1, server: 's', req: 'r', status: 200.5, aborted: false }, /status is not a whole number/],
      [{ kind: 'active-count', t: 1, count: -3 }, /count is negative/],
      [{ kind: 'no-such-kind', t: 1 }, /events\[0\]\.kind is not a known event kind/],
      [{ t: 1 }, /events\[0\]\.kind is missing/],
      [[1, 2], /events\[0\] is not an object/],
    ];
    let seq = 0;
    for (const [ev] of bad) ws.send(frame(300, seq++, [ev]));
    ws.send(frame(300, seq++, [{ kind: 'dropped', t: 2, count: 3 }]));
    await until(() => log.events.length === 1);
    assert.equal(log.rejects.length, bad.length, log.rejects.map((r) => r.reason).join('\n'));
    bad.forEach(([, re], i) => assert.match(log.rejects[i].reason, re, `frame ${i}: ${log.rejects[i].reason}`));
    assert.ok(log.rejects.every((r) => r.kind === 'frame' && r.reason.startsWith('malformed event from pid 300: ')));
    assert.deepEqual(log.events[0].events, [{ kind: 'dropped', t: 2, count: 3 }]);
    assert.equal(ws.readyState, ws.OPEN);
    ws.close();
    await c.close();
  });

  test('one bad event in a frame is refused alone; the good ones of the same frame are kept', async () => {
    const { c, log } = await collector();
    const ws = (await connect(c, c.token)).ws!;
    ws.send(hello(301));
    ws.send(
      frame(301, 0, [
        { kind: 'handle-close', t: 1, id: 'a' },
        { kind: 'handle-close', t: 2, id: 7 },
        { kind: 'handle-close', t: 3, id: 'c' },
      ]),
    );
    await until(() => log.events.length === 1);
    assert.deepEqual(
      log.events[0].events.map((e) => e.t),
      [1, 3],
    );
    assert.match(log.rejects[0].reason, /events\[1\]\.id is not a string \(number\)/);
    ws.close();
    await c.close();
  });

  test("unknown fields are tolerated but not kept: only the protocol's fields reach the run (deep nesting included)", async () => {
    const { c, log } = await collector();
    const ws = (await connect(c, c.token)).ws!;
    ws.send(hello(302));
    // 50,000 levels: JSON.stringify cannot write it, so the frame is built as text.
    const DEEP = '@@DEEP@@';
    const deep = '['.repeat(50_000) + '1' + ']'.repeat(50_000);
    const owner = {
      id: 'o1',
      name: 'ioredis Redis',
      package: 'ioredis',
      via: 'reachable',
      path: 'stream',
      release: ['quit', 'disconnect'],
      site: { frames: [{ file: '/app/r.js', line: 1, col: 2 }], user: 0 },
      extra: 'x',
    };
    ws.send(
      frame(302, 0, [
        { kind: 'signal', t: 1, signal: 'SIGTERM', nth: 1, listeners: 0, future: { deep: DEEP } },
        { kind: 'snapshot', t: 2, reason: 'deadline', handles: [{ ...handle, owner, details: { delayMs: 5, bad: null }, color: 'red' }], unidentified: [{ type: 'TTYWRAP', count: 1, x: 1 }] },
        { kind: 'exit-call', t: 3, code: null },
        { kind: 'listener-start', t: 4, id: 'l1', signal: 'SIGTERM', site: null, name: 'onTerm' },
      ]).replace(JSON.stringify(DEEP), deep),
    );
    await until(() => log.events.length === 1);
    const [sig, snap, exitCall, ls] = log.events[0].events as unknown as Record<string, unknown>[];
    assert.deepEqual(sig, { kind: 'signal', t: 1, signal: 'SIGTERM', nth: 1, listeners: 0 });
    const { extra: _extra, ...ownerKept } = owner;
    assert.deepEqual(snap, { kind: 'snapshot', t: 2, reason: 'deadline', handles: [{ ...handle, owner: ownerKept, details: { delayMs: 5 } }], unidentified: [{ type: 'TTYWRAP', count: 1 }] });
    assert.deepEqual(exitCall, { kind: 'exit-call', t: 3 });
    assert.deepEqual(ls, { kind: 'listener-start', t: 4, id: 'l1', signal: 'SIGTERM', name: 'onTerm' });
    assert.equal(log.rejects.length, 0);
    ws.close();
    await c.close();
  });

  test('a hello with wrong field types is refused; the run token is never stored from the wire', async () => {
    const { c, log } = await collector();
    const bad = (await connect(c, c.token)).ws!;
    bad.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, pid: 303, ppid: 1, argv: 5, node: 'v20', cwd: '/', t: 0, isWorker: false }));
    assert.equal(await closed(bad), 1008);
    assert.match(log.rejects[0].reason, /hello from pid 303 refused: \.argv is not a list/);
    const ws = (await connect(c, c.token)).ws!;
    ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, pid: 304, ppid: 1, argv: ['node', `--x=${c.token}`], node: 'v20', cwd: '/', t: 0, isWorker: false }));
    ws.send(frame(304, 0, [{ kind: 'error', t: 1, origin: 'uncaughtException', message: `env says SHUTDOWN_TRACE_TOKEN=${c.token}` }]));
    await until(() => log.events.length === 1);
    assert.ok(!JSON.stringify(log.events).includes(c.token), 'token not in events');
    assert.match((log.events[0].events[0] as { message: string }).message, /SHUTDOWN_TRACE_TOKEN=«redacted»/);
    ws.close();
    await c.close();
  });

  test('a handler that throws on a valid event is counted; the collector keeps going', async () => {
    const log: Log = { hellos: [], events: [], rejects: [] };
    let n = 0;
    const c = new Collector({
      onHello: (h) => log.hellos.push(h.pid),
      onEvents: (pid, seq, events) => {
        if (n++ === 0) throw new TypeError('boom');
        log.events.push({ pid, seq, events });
      },
      onReject: (kind, reason) => log.rejects.push({ kind, reason }),
    });
    await c.start();
    const ws = (await connect(c, c.token)).ws!;
    ws.send(hello(305));
    ws.send(events(305, 0));
    ws.send(events(305, 1));
    await until(() => log.events.length === 1);
    assert.match(log.rejects[0].reason, /could not be handled: boom/);
    ws.close();
    await c.close();
  });
});
