/**
 * The shutdown window and each request's role, as the analysis records them for every reader
 * (the viewer colours requests by them; the exports list the lost ones from them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze, analysisOf } from '../../src/core/analysis';
import { roleByEvent } from '../../src/shared/request-roles';
import { loadFixture } from './traces/load';

test('load-drop: resets of requests the app accepted are lost, refusals while alive and resets after close() turned away, the tail after the exit apart', () => {
  const t = loadFixture('load-drop');
  const a = analyze(t);
  const w = a.window!;
  assert.equal(w.opener, 'SIGTERM');
  assert.equal(w.start, t.events.find((e) => e.kind === 'signal-sent')!.t);
  assert.equal(w.end, t.events.find((e) => e.kind === 'process-exit')!.t);
  assert.equal(w.closeAt, t.events.find((e) => e.kind === 'server-close')!.t);
  // The fixture's requests, by the rules users read in the README, from the events alone.
  const reqs = t.events.flatMap((e, i) => (e.kind === 'load-request' ? [{ e, i }] : []));
  const afterExit = reqs.filter(({ e }) => e.t >= w.end!);
  const inWindow = reqs.filter(({ e }) => e.t < w.end! && e.end >= w.start!);
  const lost = inWindow.filter(({ e }) => e.outcome === 'reset' && e.t < w.closeAt!);
  const turnedAway = inWindow.filter(({ e }) => e.outcome === 'refused' || (e.outcome === 'reset' && e.t >= w.closeAt!));
  const answered = reqs.filter(({ e }) => e.outcome === 'ok');
  assert.ok(lost.length > 0 && turnedAway.length > 0 && afterExit.length > 0, 'the run shows all three (load-drop.js exits with requests in flight)');
  const roles = a.requests!.roles!;
  assert.deepEqual(
    roles.lost,
    lost.map(({ i }) => i),
  );
  assert.deepEqual(
    roles.turnedAway,
    turnedAway.map(({ i }) => i),
  );
  assert.deepEqual(
    roles.afterExit,
    afterExit.map(({ i }) => i),
  );
  assert.deepEqual(roles.beforeShutdown, []);
  assert.equal(a.requests!.lost, roles.lost.length);
  const byEvent = roleByEvent(t.events, roles);
  const count = (r: string) => [...byEvent.values()].filter((x) => x === r).length;
  assert.deepEqual([count('lost'), count('turned-away'), count('after-exit'), count('answered')], [lost.length, turnedAway.length, afterExit.length, answered.length]);
});

test('load-drain-busy: connections still in the accept queue when close() ran are turned away, not lost', () => {
  // test/fixtures/load-drain-busy.js blocks its loop 300 ms in the SIGTERM listener, then calls
  // server.close(): the connections that arrived meanwhile were never accepted, and were reset.
  const t = loadFixture('load-drain-busy');
  const a = analyze(t);
  const close = t.events.find((e) => e.kind === 'server-close')!;
  assert.ok(close.kind === 'server-close' && close.remotePorts);
  const held = new Set(close.remotePorts);
  const reqs = t.events.flatMap((e, i) => (e.kind === 'load-request' ? [{ e, i }] : []));
  const queued = reqs.filter(({ e }) => e.outcome === 'reset' && e.t < close.t && e.localPort !== undefined && !held.has(e.localPort));
  assert.ok(queued.length >= 3, `${queued.length} reset in the accept queue`);
  // Every reset of the run is one of them: the service answered every request it accepted.
  assert.deepEqual(
    reqs.filter(({ e }) => e.outcome === 'reset').map(({ i }) => i),
    queued.map(({ i }) => i),
  );
  const r = a.requests!;
  assert.equal(r.lost, 0);
  assert.equal(r.resetAtClose, queued.length);
  for (const { i } of queued) assert.ok(r.roles!.turnedAway.includes(i));
  assert.ok(a.verdict.startsWith('Graceful'), a.verdict);
  const f = a.findings.find((x) => x.code === 'lost-requests')!;
  assert.match(f.detail, new RegExp(`${queued.length} reset in its accept queue as close\\(\\) ran`));
  // Without the ports (an older preload or launcher), a reset sent before close() counts as lost, as before.
  const old = loadFixture('load-drain-busy');
  for (const e of old.events) if (e.kind === 'server-close') delete e.remotePorts;
  assert.equal(analyze(old).requests!.lost, queued.length);
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
  // As an older writer stored it: no window and no leaks (the fields came later).
  delete t.analysis!.window;
  delete t.analysis!.leaks;
  const a = analysisOf(t);
  assert.equal(a.verdict, t.analysis!.verdict, "the run's own verdict is kept");
  assert.equal(a.window!.opener, 'SIGTERM');
  assert.equal(a.leaks!.length, 1);
  assert.equal(a.requests, undefined);
});
