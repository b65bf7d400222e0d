/**
 * The load generator against in-process HTTP servers on 127.0.0.1: every outcome class from
 * real undici errors, the fixed rate, keep-alive vs one connection per request, SSE streams;
 * target resolution; and the request accounting over a hand-made trace.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { LoadGenerator, classifyError, resolveLoadUrl, type LoadSpan } from '../../src/core/load';
import type { LoadConfig } from '../../src/shared/traffic';
import { accountRequests } from '../../src/core/analysis';
import type { Trace, TraceEvent } from '../../src/shared/trace';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function serve(handler: http.RequestListener): Promise<{ port: number; server: http.Server; remotes: Set<number>; close(): Promise<void> }> {
  const server = http.createServer(handler);
  const remotes = new Set<number>();
  server.on('connection', (s: net.Socket) => remotes.add(s.remotePort!));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    server,
    remotes,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Runs the generator for `ms`, then finishes it; returns the spans and the summary. */
async function drive(cfg: LoadConfig, ms: number, finishWait = 1000) {
  const spans: LoadSpan[] = [];
  const t0 = performance.now();
  const g = new LoadGenerator(cfg, { now: () => performance.now() - t0, onSpan: (s) => spans.push(s) });
  g.start();
  await sleep(ms);
  const summary = await g.finish(finishWait);
  return { spans: spans.sort((a, b) => a.id - b.id), summary };
}

describe('outcome classification with real undici errors', () => {
  test('ok: answered; the fixed rate holds (50/s for 500 ms ≈ 25)', async () => {
    const s = await serve((req, res) => res.end('ok'));
    try {
      const { spans, summary } = await drive({ target: `http://127.0.0.1:${s.port}/x`, rate: 50, keepAlive: false }, 500);
      assert.ok(spans.length >= 23 && spans.length <= 27, `${spans.length} requests`);
      assert.ok(spans.every((r) => r.outcome === 'ok' && r.status === 200));
      assert.equal(summary.sent, spans.length);
      assert.equal(summary.byOutcome.ok, spans.length);
      assert.deepEqual(summary.statuses, { 200: spans.length });
      // Open loop at a fixed rate: starts 20 ms apart.
      const gaps = spans.slice(1).map((r, i) => r.t - spans[i].t);
      const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
      assert.ok(Math.abs(mean - 20) < 3, `mean gap ${mean}`);
    } finally {
      await s.close();
    }
  });

  test('connection per request vs keep-alive: new connections each time, or reused', async () => {
    const s = await serve((req, res) => res.end('ok'));
    try {
      const perRequest = await drive({ target: String(s.port), rate: 40, keepAlive: false }, 300);
      assert.equal(s.remotes.size, perRequest.spans.length, 'one connection per request');
      assert.ok(perRequest.spans.every((r) => !r.keepAlive));
      s.remotes.clear();
      const kept = await drive({ target: String(s.port), rate: 40, keepAlive: true }, 300);
      assert.ok(kept.spans.length >= 10);
      assert.ok(s.remotes.size <= 2, `keep-alive reused connections: ${s.remotes.size} for ${kept.spans.length} requests`);
      assert.ok(kept.spans.every((r) => r.keepAlive && r.outcome === 'ok'));
    } finally {
      await s.close();
    }
  });

  test('http-5xx: answered 503, status kept', async () => {
    const s = await serve((req, res) => {
      res.statusCode = 503;
      res.end('draining');
    });
    try {
      const { spans } = await drive({ target: String(s.port), rate: 20, keepAlive: true }, 200);
      assert.ok(spans.length >= 3);
      assert.ok(spans.every((r) => r.outcome === 'http-5xx' && r.status === 503));
    } finally {
      await s.close();
    }
  });

  test('reset: the server destroys the connection mid-request', async () => {
    const s = await serve((req) => req.socket.destroy());
    try {
      const { spans } = await drive({ target: String(s.port), rate: 20, keepAlive: false }, 200);
      assert.ok(spans.length >= 3);
      assert.ok(
        spans.every((r) => r.outcome === 'reset'),
        JSON.stringify(spans.map((r) => r.error)),
      );
    } finally {
      await s.close();
    }
  });

  test('reset: the connection closes in the middle of a chunked body', async () => {
    const s = await serve((req, res) => {
      res.write('partial');
      setTimeout(() => req.socket.destroy(), 20);
    });
    try {
      const { spans } = await drive({ target: String(s.port), rate: 20, keepAlive: false }, 150);
      assert.ok(spans.length >= 2);
      assert.ok(
        spans.every((r) => r.outcome === 'reset' && r.status === 200),
        JSON.stringify(spans.map((r) => r.error)),
      );
    } finally {
      await s.close();
    }
  });

  test('timeout: no answer within the timeout', async () => {
    const s = await serve(() => undefined);
    try {
      const { spans } = await drive({ target: String(s.port), rate: 20, keepAlive: false, timeoutMs: 100 }, 200, 1000);
      assert.ok(spans.length >= 3);
      for (const r of spans) {
        assert.equal(r.outcome, 'timeout');
        assert.equal(r.error, 'no answer within 100 ms');
        assert.ok(r.end - r.t >= 99 && r.end - r.t < 300, `took ${r.end - r.t}`);
      }
    } finally {
      await s.close();
    }
  });

  test('still unanswered when the run ends: counted as a timeout, said so', async () => {
    const s = await serve(() => undefined);
    try {
      const { spans, summary } = await drive({ target: String(s.port), rate: 20, keepAlive: false, timeoutMs: 10_000 }, 150, 50);
      assert.ok(spans.length >= 2);
      assert.ok(spans.every((r) => r.outcome === 'timeout' && r.error === 'still unanswered when the run ended'));
      assert.equal(summary.byOutcome.timeout, spans.length);
    } finally {
      await s.close();
    }
  });

  test('refused: nothing listens on the port', async () => {
    const s = await serve(() => undefined);
    const port = s.port;
    await s.close();
    const { spans } = await drive({ target: String(port), rate: 20, keepAlive: true }, 200);
    assert.ok(spans.length >= 3);
    assert.ok(spans.every((r) => r.outcome === 'refused' && /ECONNREFUSED/.test(r.error!)));
  });

  test('SSE: a stream the server ends is ok (with its events); one it cuts is reset', async () => {
    const s = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
      res.write('data: 2\n\n');
      if (req.url === '/cut') setTimeout(() => req.socket.destroy(), 50);
      else setTimeout(() => res.end('data: 3\n\n'), 50);
    });
    try {
      const ended = await drive({ target: String(s.port), rate: 0, keepAlive: false, sse: 2, ssePath: '/events' }, 200);
      assert.equal(ended.spans.length, 2);
      assert.ok(ended.spans.every((r) => r.sse && r.outcome === 'ok' && r.events === 3));
      assert.equal(ended.summary.streams, 2);
      assert.equal(ended.summary.sent, 0);
      const cut = await drive({ target: String(s.port), rate: 0, keepAlive: false, sse: 1, ssePath: 'cut' }, 200);
      assert.equal(cut.spans.length, 1);
      assert.equal(cut.spans[0].outcome, 'reset');
      assert.equal(cut.spans[0].events, 2);
    } finally {
      await s.close();
    }
  });
});

describe('classifyError and resolveLoadUrl', () => {
  test('codes to outcomes', () => {
    const e = (code: string, message = 'x') => Object.assign(new Error(message), { code });
    assert.equal(classifyError(e('ECONNREFUSED'), false).outcome, 'refused');
    assert.equal(classifyError(e('ECONNRESET'), false).outcome, 'reset');
    assert.equal(classifyError(e('EPIPE'), false).outcome, 'reset');
    assert.equal(classifyError(e('UND_ERR_SOCKET', 'other side closed'), false).outcome, 'reset');
    assert.equal(classifyError(Object.assign(e('UND_ERR_SOCKET'), { cause: e('ECONNRESET') }), false).error, 'ECONNRESET: x');
    assert.equal(classifyError(e('HPE_INVALID_EOF_STATE'), false).outcome, 'reset');
    assert.equal(classifyError(e('UND_ERR_HEADERS_TIMEOUT'), false).outcome, 'timeout');
    assert.equal(classifyError(e('UND_ERR_CONNECT_TIMEOUT'), false).outcome, 'timeout');
    assert.equal(classifyError(e('UND_ERR_ABORTED'), true).outcome, 'timeout');
    assert.deepEqual(classifyError(e('HPE_INVALID_CONSTANT', 'bad'), false), { outcome: 'other-error', error: 'HPE_INVALID_CONSTANT: bad' });
  });

  test('targets', () => {
    assert.equal(resolveLoadUrl({ target: 'auto' }, '127.0.0.1:8080').href, 'http://127.0.0.1:8080/');
    assert.equal(resolveLoadUrl({ target: 'auto', path: 'health' }, '0.0.0.0:8080').href, 'http://127.0.0.1:8080/health');
    assert.equal(resolveLoadUrl({ target: 'auto' }, '[::]:8080').href, 'http://[::1]:8080/');
    assert.equal(resolveLoadUrl({ target: '3000', path: '/a?b=1' }).href, 'http://127.0.0.1:3000/a?b=1');
    assert.equal(resolveLoadUrl({ target: 'localhost:3000' }).href, 'http://localhost:3000/');
    assert.equal(resolveLoadUrl({ target: 'http://127.0.0.1:9/x', path: '/ignored' }).href, 'http://127.0.0.1:9/x');
    assert.throws(() => resolveLoadUrl({ target: 'auto' }), /has not listened/);
    assert.throws(() => resolveLoadUrl({ target: 'node' }), /not a port/);
  });
});

describe('accountRequests: the shutdown window', () => {
  const ev = (e: Partial<TraceEvent> & { kind: string; t: number }) => ({ pid: 0, ...e }) as TraceEvent;
  const req = (id: number, t: number, end: number, outcome: string, extra = {}) => ev({ kind: 'load-request', id, t, end, outcome, keepAlive: false, ...extra } as never);
  const trace = (events: TraceEvent[]): Trace =>
    ({
      format: 'shutdown-trace',
      version: 1,
      meta: {
        mainPid: 10,
        cwd: '/',
        plan: { signal: 'SIGTERM', when: { mode: 'never' }, graceMs: 1000, delivery: 'main' },
        complete: true,
        durationMs: 3000,
        counters: {},
        load: { target: 'auto', rate: 10, keepAlive: false },
      },
      processes: [{ pid: 10, ppid: 1, command: 'node', traced: true, isMain: true, start: 0, end: 2000, exit: { code: 0, signal: null } }],
      events: events.sort((a, b) => a.t - b.t),
      output: [],
    }) as unknown as Trace;

  test('in flight at the signal or sent after it until exit; refusals and the tail apart', () => {
    const r = accountRequests(
      trace([
        ev({ kind: 'load-start', t: 0, url: 'http://127.0.0.1:1/', rate: 10, keepAlive: false, sse: 0 } as never),
        req(1, 100, 200, 'ok'),
        req(2, 200, 300, 'refused'), // failed before shutdown
        req(3, 900, 1100, 'ok'), // in flight at the signal, answered
        req(4, 950, 1200, 'reset'), // in flight at the signal, cut
        req(5, 1100, 1150, 'http-5xx'),
        req(6, 1200, 1300, 'timeout'),
        req(7, 1500, 1501, 'refused'), // listener closed, still alive
        req(8, 2100, 2101, 'refused'), // after exit
        req(9, 100, 2000, 'reset', { sse: true }),
        req(10, 100, 1500, 'ok', { sse: true }),
        ev({ kind: 'signal-sent', t: 1000, signal: 'SIGTERM', target: 10, delivery: 'main', nth: 1 } as never),
        ev({ kind: 'process-exit', t: 2000, pid: 10, code: 0, signal: null } as never),
      ]),
    )!;
    assert.equal(r.all.total, 8);
    assert.equal(r.shutdown.total, 5);
    assert.deepEqual(r.shutdown.byOutcome, { ok: 1, refused: 1, reset: 1, timeout: 1, 'http-5xx': 1, 'other-error': 0 });
    assert.equal(r.lost, 3);
    assert.equal(r.refusedWhileAlive, 1);
    assert.equal(r.failedBeforeShutdown, 1);
    assert.equal(r.afterExit, 1);
    assert.deepEqual(r.streams, { total: 2, endedByServer: 1, cut: 1, other: 0 });
    assert.equal(r.resetAtClose, 0);
  });

  test('a reset of a request sent after server.close() was called is turned away, not lost', () => {
    const r = accountRequests(
      trace([
        ev({ kind: 'load-start', t: 0, url: 'http://127.0.0.1:1/', rate: 10, keepAlive: false, sse: 0 } as never),
        ev({ kind: 'signal-sent', t: 1000, signal: 'SIGTERM', target: 10, delivery: 'main', nth: 1 } as never),
        ev({ kind: 'server-close', t: 1002, pid: 10, server: 's1', connections: 2, active: 2, inFlight: 2 } as never),
        req(1, 950, 1300, 'reset'), // accepted before close: lost
        req(2, 1003, 1010, 'reset'), // in the accept queue as close() ran
        req(3, 1100, 1101, 'refused'),
        ev({ kind: 'process-exit', t: 2000, pid: 10, code: 0, signal: null } as never),
      ]),
    )!;
    assert.equal(r.lost, 1);
    assert.equal(r.resetAtClose, 1);
    assert.equal(r.refusedWhileAlive, 1);
  });
});

describe('extension settings: traffic during shutdown', () => {
  test('loadRate 0 means no traffic; a rate gives a load at the listening port', async () => {
    const { DEFAULTS, toLoad, describeLoad, sanitizeOverrides, applyOverrides } = await import('../../src/extension/settings');
    assert.equal(toLoad(DEFAULTS), undefined);
    const { overrides, ignored } = sanitizeOverrides({ loadRate: 50, loadKeepAlive: true, loadPath: 'no-slash' });
    assert.deepEqual(overrides, { loadRate: 50, loadKeepAlive: true });
    assert.deepEqual(ignored, ['loadPath']);
    assert.deepEqual(sanitizeOverrides({ loadRate: 5000 }).ignored, ['loadRate']);
    const load = toLoad(applyOverrides(DEFAULTS, overrides));
    assert.deepEqual(load, { target: 'auto', rate: 50, keepAlive: true, path: '/', timeoutMs: 5000, tailMs: 300 });
    assert.equal(describeLoad(load), '50 requests/s at / of the port it listens on (keep-alive)');
  });
});
