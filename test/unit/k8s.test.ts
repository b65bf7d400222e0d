/**
 * The kubelet's grace arithmetic (pure) and the preStop runners (real timers, processes and an
 * HTTP server on 127.0.0.1).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { kubeletSchedule, describePreStop, MIN_GRACE_SECONDS } from '../../src/shared/kubernetes';
import { resolveHttpGet, startPreStop } from '../../src/core/k8s';

describe('kubeletSchedule: when the stop signal and SIGKILL come, counted from the start of preStop', () => {
  test('no preStop: the signal at once, SIGKILL after the whole grace period', () => {
    assert.deepEqual(kubeletSchedule(30), { signalAtMs: 0, killAtMs: 30_000, remainingSeconds: 30, preStopSeconds: 0, extended: false, overran: false });
  });

  test('no preStop and a grace period under 2 s: the kubelet still gives 2 s', () => {
    assert.equal(MIN_GRACE_SECONDS, 2);
    const s = kubeletSchedule(1);
    assert.equal(s.killAtMs, 2000);
    assert.equal(s.remainingSeconds, 2);
    assert.equal(s.extended, true);
  });

  test('preStop that ends in whole seconds: SIGKILL exactly at preStop start + grace', () => {
    const s = kubeletSchedule(30, 5000);
    assert.equal(s.signalAtMs, 5000);
    assert.equal(s.remainingSeconds, 25);
    assert.equal(s.killAtMs, 30_000);
    assert.equal(s.extended, false);
    assert.equal(s.overran, false);
  });

  test('the hook time is truncated to whole seconds: a 5.7 s preStop leaves 25 s, so SIGKILL at 30.7 s', () => {
    const s = kubeletSchedule(30, 5700);
    assert.equal(s.preStopSeconds, 5);
    assert.equal(s.remainingSeconds, 25);
    assert.equal(s.signalAtMs, 5700);
    assert.equal(s.killAtMs, 30_700);
  });

  test('exactly 2 s left: no extension', () => {
    const s = kubeletSchedule(30, 28_500);
    assert.equal(s.remainingSeconds, 2);
    assert.equal(s.killAtMs, 30_500);
    assert.equal(s.extended, false);
  });

  test('less than 2 s left after a hook that finished in time: raised to 2 s', () => {
    const s = kubeletSchedule(30, 29_100);
    assert.equal(s.preStopSeconds, 29);
    assert.equal(s.remainingSeconds, 2);
    assert.equal(s.signalAtMs, 29_100);
    assert.equal(s.killAtMs, 31_100);
    assert.equal(s.extended, true);
    assert.equal(s.overran, false);
  });

  test('preStop still running at the grace deadline: the signal then, SIGKILL 2 s later (the one-off extension)', () => {
    for (const ran of [Infinity, 30_000, 45_000]) {
      const s = kubeletSchedule(30, ran);
      assert.equal(s.overran, true, `ran ${ran}`);
      assert.equal(s.extended, true);
      assert.equal(s.signalAtMs, 30_000);
      assert.equal(s.killAtMs, 32_000);
      assert.equal(s.remainingSeconds, 2);
    }
  });

  test('short grace periods used by the engine tests', () => {
    assert.deepEqual([kubeletSchedule(3, 1500).signalAtMs, kubeletSchedule(3, 1500).killAtMs], [1500, 3500]);
    assert.deepEqual([kubeletSchedule(2, Infinity).signalAtMs, kubeletSchedule(2, Infinity).killAtMs], [2000, 4000]);
    assert.deepEqual([kubeletSchedule(3, 1000).signalAtMs, kubeletSchedule(3, 1000).killAtMs], [1000, 3000]);
  });

  test('grace 0: the kubelet skips preStop and gives the 2 s minimum', () => {
    const s = kubeletSchedule(0, 5000);
    assert.equal(s.signalAtMs, 0);
    assert.equal(s.killAtMs, 2000);
  });
});

describe('preStop descriptions and httpGet targets', () => {
  test('describePreStop', () => {
    assert.equal(describePreStop({ action: 'sleep', ms: 5000 }), 'sleep 5 s');
    assert.equal(describePreStop({ action: 'sleep', ms: 1500 }), 'sleep 1.5 s');
    assert.equal(describePreStop({ action: 'exec', command: 'curl -s localhost/drain' }), 'exec: curl -s localhost/drain');
    assert.equal(describePreStop({ action: 'httpGet', url: '/drain' }), 'httpGet /drain');
  });

  test('resolveHttpGet: a path on the service port, :PORT/path, PORT/path, or a URL', () => {
    assert.equal(resolveHttpGet('/drain', '127.0.0.1:8080'), 'http://127.0.0.1:8080/drain');
    assert.equal(resolveHttpGet('drain', '[::]:9000'), 'http://127.0.0.1:9000/drain');
    assert.equal(resolveHttpGet(':9090/prestop', undefined), 'http://127.0.0.1:9090/prestop');
    assert.equal(resolveHttpGet('9090/prestop', undefined), 'http://127.0.0.1:9090/prestop');
    assert.equal(resolveHttpGet('http://10.0.0.1:80/x?y=1', undefined), 'http://10.0.0.1:80/x?y=1');
    assert.throws(() => resolveHttpGet('/drain', undefined), /has not listened on a TCP port/);
  });
});

describe('preStop runners', () => {
  const env = { ...process.env };
  test('sleep: resolves after its time', async () => {
    const t = performance.now();
    const r = await startPreStop({ action: 'sleep', ms: 200 }, { cwd: process.cwd(), env }).done;
    const took = performance.now() - t;
    assert.deepEqual(r, { ok: true });
    assert.ok(took >= 195 && took < 400, `took ${took}`);
  });

  test('sleep cut short by the kill', async () => {
    const h = startPreStop({ action: 'sleep', ms: 10_000 }, { cwd: process.cwd(), env });
    setTimeout(() => h.cancel(), 50);
    const r = await h.done;
    assert.equal(r.ok, false);
    assert.match(r.error!, /cut short/);
  });

  test('exec: exit code and output; a non-zero exit is a failure', async () => {
    const ok = await startPreStop({ action: 'exec', command: 'echo draining; exit 0' }, { cwd: process.cwd(), env }).done;
    assert.deepEqual(ok, { ok: true, exitCode: 0, output: 'draining\n' });
    const bad = await startPreStop({ action: 'exec', command: 'echo oops >&2; exit 3' }, { cwd: process.cwd(), env }).done;
    assert.equal(bad.ok, false);
    assert.equal(bad.exitCode, 3);
    assert.equal(bad.error, 'exited with code 3');
    assert.equal(bad.output, 'oops\n');
  });

  test('exec: cancelled, its process group is killed', async () => {
    const h = startPreStop({ action: 'exec', command: 'sleep 30' }, { cwd: process.cwd(), env });
    assert.ok(h.pid);
    setTimeout(() => h.cancel(), 100);
    const r = await h.done;
    assert.equal(r.ok, false);
    assert.match(r.error!, /cut short/);
    assert.throws(() => process.kill(h.pid!, 0), /ESRCH/);
  });

  test('httpGet: 2xx/3xx succeed, 5xx fail, nothing listening fails with ECONNREFUSED', async () => {
    const server = http.createServer((req, res) => {
      if (req.url === '/fail') res.statusCode = 503;
      if (req.url === '/moved') {
        res.statusCode = 302;
        res.setHeader('location', '/');
      }
      res.end(`got ${req.url}`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const ok = await startPreStop({ action: 'httpGet', url: '/drain' }, { cwd: process.cwd(), env, serviceAddress: `127.0.0.1:${port}` }).done;
      assert.deepEqual(ok, { ok: true, status: 200, output: 'got /drain', error: undefined });
      const moved = await startPreStop({ action: 'httpGet', url: `:${port}/moved` }, { cwd: process.cwd(), env }).done;
      assert.equal(moved.ok, true);
      assert.equal(moved.status, 302);
      const fail = await startPreStop({ action: 'httpGet', url: `http://127.0.0.1:${port}/fail` }, { cwd: process.cwd(), env }).done;
      assert.equal(fail.ok, false);
      assert.equal(fail.status, 503);
      assert.equal(fail.error, 'HTTP 503');
    } finally {
      await new Promise((r) => server.close(r));
    }
    const refused = await startPreStop({ action: 'httpGet', url: `:${port}/drain` }, { cwd: process.cwd(), env }).done;
    assert.equal(refused.ok, false);
    assert.match(refused.error!, /ECONNREFUSED/);
  });
});
