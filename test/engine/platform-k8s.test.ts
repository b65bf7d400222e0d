/**
 * Kubernetes endpoints and the preStop sleep: the Service keeps routing new requests
 * to a terminating pod until its endpoint removal has propagated (--endpoint-lag). A service that
 * calls server.close() on SIGTERM loses the requests of the lag without a preStop sleep, and
 * none with a sleep at least as long as the lag. Reported as N of M failed by phase; handle
 * snapshots at preStop start and end. Real PID namespaces, real load, through the real CLI.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { runTraced, finding, eventsOf, node, FIXTURES } from './helpers';
import type { Trace } from '../../src/shared/trace';

const DIR = path.join(FIXTURES, 'platform');
const plat = (t: Trace, what: string) => eventsOf(t, 'platform').filter((e) => e.what === what);

function k8s(extra: string[]) {
  return runTraced(node('close-on-sigterm.js'), { graceMs: 5000, cwd: DIR }, ['--quiet', '--k8s', '--termination-grace', '5', '--load', '--rate', '50', '--endpoint-lag', '1s', ...extra]);
}

describe('endpoint lag', { concurrency: 1 }, () => {
  test('without a preStop sleep: the requests the Service sends during the 1 s lag are refused, and lost', async () => {
    const r = await k8s([]);
    const t = r.trace;
    const a = t.analysis!;
    assert.equal(t.meta.platformMode!.endpointLagMs, 1000);
    const start = eventsOf(t, 'termination-start')[0];
    const removed = plat(t, 'endpoints-removed')[0];
    assert.ok(removed && Math.abs(removed.t - start.t - 1000) < 100, 'the Service stops routing 1 s after termination began');
    assert.ok(!eventsOf(t, 'load-request').some((s) => s.t > removed.t + 5), 'no new request after the endpoint removal');
    // ~50 requests in the 1 s lag; the service closed its listener at once.
    assert.ok(a.requests!.lost >= 35, `${a.requests!.lost} lost`);
    // The roles every reader draws from (the viewer, the exports) count them too.
    assert.equal(a.requests!.roles!.lost.length, a.requests!.lost);
    assert.deepEqual(
      a.requests!.roles!.turnedAway.filter((i) => a.requests!.roles!.lost.includes(i)),
      [],
      'none is both lost and turned away',
    );
    const m = /^(\d+) of (\d+) requests failed during termination \(([\d.]+)%\): preStop (\d+)\/(\d+), drain (\d+)\/(\d+), after SIGKILL 0\/0$/.exec(finding(t, 'endpoint-lag')!.title);
    assert.ok(m, finding(t, 'endpoint-lag')!.title);
    assert.equal(Number(m[1]), a.requests!.lost);
    assert.equal(finding(t, 'endpoint-lag')!.severity, 'error');
    assert.deepEqual(
      a.platform!.requestsByPhase!.map((p) => p.phase),
      ['preStop', 'drain', 'after SIGKILL'],
    );
    assert.match(a.verdict, new RegExp(`^A real pod would have stopped gracefully .*; ${a.requests!.lost} requests lost;`));
    assert.match(finding(t, 'endpoint-lag')!.detail, /A preStop sleep of at least the lag \(--prestop-sleep 1s/);
  });

  test('with a preStop sleep of 1.5 s (at least the lag): the pod serves until the traffic stops; none lost', async () => {
    const r = await k8s(['--prestop-sleep', '1.5s']);
    const t = r.trace;
    const a = t.analysis!;
    assert.equal(a.requests!.lost, 0);
    const f = finding(t, 'endpoint-lag')!;
    assert.match(f.title, /^0 of (\d+) requests failed during termination \(0%\): preStop 0\/\1, drain 0\/0, after SIGKILL 0\/0$/);
    assert.ok(a.platform!.requestsByPhase![0].total >= 40);
    // 1.5 s of preStop, then the service's own shutdown (tens of ms): 1.5 or 1.6 s as written.
    assert.match(a.verdict, /^A real pod would have stopped gracefully 1\.[56] s into its 5 s grace period; 0 requests lost/);
    assert.equal(r.code, 0);
  });

  test('handle snapshots at preStop start and at preStop end, on the timeline', async () => {
    const r = await k8s(['--prestop-sleep', '1s']);
    const t = r.trace;
    const points = plat(t, 'snapshot-point');
    assert.deepEqual(
      points.map((p) => p.label),
      ['preStop start', 'preStop end'],
    );
    const ps = eventsOf(t, 'prestop-start')[0];
    const pe = eventsOf(t, 'prestop-end')[0];
    const snaps = eventsOf(t, 'snapshot').filter((s) => s.reason === 'manual' && s.pid === t.meta.mainPid);
    assert.equal(snaps.length, 2, 'one per point');
    assert.ok(snaps[0].t >= ps.t && snaps[0].t - ps.t < 200 && snaps[1].t >= pe.t && snaps[1].t - pe.t < 200);
    // The server is alive at both points (preStop changes nothing in this app).
    for (const s of snaps) assert.ok(s.handles.some((h) => h.type === 'server'));
  });
});
