/**
 * The collector refuses strangers and survives garbage: wrong, missing and replayed tokens,
 * foreign pids, oversized and malformed frames, and a fuzz of 10,000 random and mutated frames.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import WebSocket from 'ws';
import { Collector, COLLECTOR_MAX_PAYLOAD } from '../../src/core/collector';
import { TOKEN_HEADER, PROTOCOL_VERSION, type PreloadEvent } from '../../src/core/protocol';

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
    assert.deepEqual(log.rejects.map((r) => r.reason), ['connection without a token', 'connection with a wrong token', 'connection with a wrong token']);
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
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
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
