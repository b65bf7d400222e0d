/**
 * The shutdown window and each request's role, as the analysis records them for every reader
 * (the viewer colours requests by them; the exports list the lost ones from them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze, analysisOf } from '../../src/core/analysis';
import { roleByEvent } from '../../src/shared/request-roles';
import { loadFixture } from './traces/load';

test('load-drop: 15 lost, 1 turned away, 15 after the exit, in the window from SIGTERM to the exit', () => {
  const t = loadFixture('load-drop');
  const a = analyze(t);
  const w = a.window!;
  assert.equal(w.opener, 'SIGTERM');
  assert.equal(w.start, t.events.find((e) => e.kind === 'signal-sent')!.t);
  assert.equal(w.end, t.events.find((e) => e.kind === 'process-exit')!.t);
  const roles = a.requests!.roles!;
  assert.deepEqual([roles.lost.length, roles.turnedAway.length, roles.afterExit.length, roles.beforeShutdown.length], [15, 1, 15, 0]);
  assert.equal(a.requests!.lost, roles.lost.length);
  for (const i of roles.lost) {
    const e = t.events[i];
    assert.ok(e.kind === 'load-request' && e.outcome === 'reset' && e.end >= w.start! && e.t < w.end!, `event ${i} is a reset in the window`);
  }
  const byEvent = roleByEvent(t.events, roles);
  const count = (r: string) => [...byEvent.values()].filter((x) => x === r).length;
  assert.deepEqual([count('lost'), count('turned-away'), count('after-exit'), count('answered')], [15, 1, 15, 16]);
});

test('k8s: the window opens at the start of termination (preStop), not at the signal', () => {
  const t = loadFixture('k8s-prestop-sleep');
  const a = analyze(t);
  assert.equal(a.window!.opener, 'the start of termination');
  assert.equal(a.window!.start, t.events.find((e) => e.kind === 'termination-start')!.t);
  assert.ok(a.window!.start! < t.events.find((e) => e.kind === 'signal-sent')!.t);
});

test('no load: a window, no roles; a stored analysis from before them is completed on read', () => {
  const t = loadFixture('leaked-interval');
  assert.equal(t.analysis!.window, undefined, 'the fixture predates the field');
  const a = analysisOf(t);
  assert.equal(a.verdict, t.analysis!.verdict, "the run's own verdict is kept");
  assert.equal(a.window!.opener, 'SIGTERM');
  assert.equal(a.leaks!.length, 1);
  assert.equal(a.requests, undefined);
});
