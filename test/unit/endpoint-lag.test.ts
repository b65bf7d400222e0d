/**
 * The endpoint-lag table ("N of M requests failed during termination") counts failures exactly as
 * the request accounting counts lost requests, however the endpoint removal and the load
 * generator's last request fall around start + lag. The fixture is a real run (no preStop, the
 * service closes its listener on SIGTERM, 1 s lag); the edge cases a loaded machine produces are
 * made from it by moving the last request or the removal, as noted in each test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze } from '../../src/core/analysis';
import type { Trace, TraceEvent } from '../../src/shared/trace';
import { loadFixture } from './traces/load';

type Ev<K extends TraceEvent['kind']> = Extract<TraceEvent, { kind: K }>;

function parts(t: Trace) {
  const start = t.events.find((e): e is Ev<'termination-start'> => e.kind === 'termination-start')!;
  const removedAt = t.events.findIndex((e) => e.kind === 'platform' && e.what === 'endpoints-removed');
  const requests = t.events.flatMap((e, i) => (e.kind === 'load-request' && !e.sse ? [i] : []));
  return { start, removedAt, last: requests[requests.length - 1] };
}

function table(t: Trace) {
  const a = analyze(t);
  const f = a.findings.find((x) => x.code === 'endpoint-lag')!;
  const m = /^(\d+) of (\d+) requests failed during termination/.exec(f.title);
  assert.ok(m, f.title);
  return { a, f, failed: Number(m[1]), total: Number(m[2]) };
}

test('as recorded: every failure in the table is a lost request, and the phases add up to it', () => {
  const t = loadFixture('k8s-endpoint-lag');
  const { a, failed, total } = table(t);
  assert.equal(failed, a.requests!.lost);
  assert.ok(failed >= 35, `${failed} lost`);
  const byPhase = a.platform!.requestsByPhase!;
  assert.equal(
    byPhase.reduce((n, p) => n + p.failed, 0),
    failed,
  );
  assert.equal(
    byPhase.reduce((n, p) => n + p.total, 0),
    total,
  );
});

test('the last request refused after start + lag but before the removal event (a busy machine) is lost, in the table and in the accounting alike', () => {
  const t = loadFixture('k8s-endpoint-lag');
  const before = table(loadFixture('k8s-endpoint-lag'));
  const { start, removedAt, last } = parts(t);
  // The removal timer fired 3 ms late; the load generator sent one more request 1 ms after start + lag.
  t.events[removedAt].t = start.t + 1003;
  const r = t.events[last] as Ev<'load-request'>;
  assert.equal(r.outcome, 'refused');
  r.t = start.t + 1001;
  r.end = start.t + 1001.8;
  const { a, failed, f } = table(t);
  assert.equal(a.requests!.lost, before.a.requests!.lost, 'still lost: the Service routed it here');
  assert.equal(failed, a.requests!.lost);
  assert.ok(a.requests!.roles!.lost.includes(last));
  assert.ok(!a.requests!.roles!.turnedAway.includes(last));
  assert.doesNotMatch(f.detail, /Not counted/);
});

test('a request refused after the removal event is not counted at all: a real Service would have sent it to another pod', () => {
  const t = loadFixture('k8s-endpoint-lag');
  const before = table(loadFixture('k8s-endpoint-lag'));
  const { start, removedAt, last } = parts(t);
  // The removal took effect at start + lag; the load generator, which stops at that event, still
  // sent one request 1.5 ms later.
  const r = t.events[last] as Ev<'load-request'>;
  assert.equal(removedAt, last + 1);
  t.events[removedAt].t = start.t + 1000.5;
  r.t = start.t + 1002;
  r.end = start.t + 1002.8;
  [t.events[last], t.events[removedAt]] = [t.events[removedAt], t.events[last]];
  const { a, failed, total, f } = table(t);
  assert.equal(a.requests!.lost, before.a.requests!.lost - 1);
  assert.equal(failed, a.requests!.lost);
  assert.equal(total, before.total - 1);
  assert.ok(a.requests!.roles!.afterExit.includes(removedAt), 'the accounting still shows it, after the exit (the service exited at once)');
  assert.match(f.detail, / Not counted: 1 request the load generator sent after the endpoint removal, which a real Service would have sent to another pod\.$/);
});
