/**
 * A service held only by a one-shot timer is killed at the deadline, and the report says when
 * it would have exited by itself, against the platforms' default stop timeouts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTraced, node } from './helpers';

test('held only by a 4 s retry timer: killed at 1.5 s; would have exited about 3.9 s after SIGTERM', async () => {
  const r = await runTraced(node('retry-timer.js'), { graceMs: 1500 });
  const a = r.trace.analysis!;
  assert.equal(a.exitReason, 'killed-at-deadline');
  assert.equal(r.signal, 'SIGKILL');
  // Armed ~100 ms before the signal (the plan signals 100 ms after listening), due 4000 ms after arming.
  assert.ok(a.naturalExitAfterMs! > 3700 && a.naturalExitAfterMs! < 4000, `would exit ${a.naturalExitAfterMs} ms after the signal`);
  assert.match(
    a.verdict,
    /Held only by timers, it would have exited on its own 3(\.\d{1,2})? s after SIGTERM, when the last one fired \(unless one re-arms\): after this 1\.5 s grace period, within the default stop timeout of docker stop \(10 s\), Kubernetes \(30 s\) and systemd \(90 s\)\./,
  );
});

test('a busy service, its timer refreshed and its creation site not sampled: still the right estimate, and the one leak', async () => {
  const r = await runTraced(node('busy-timers.js'), { graceMs: 1500 });
  const a = r.trace.analysis!;
  assert.equal(a.exitReason, 'killed-at-deadline');
  // Refreshed just before listening, signalled 100 ms after: due about 3.9 s after the signal.
  // Counted from its creation instead, the estimate would be a second early.
  assert.ok(a.naturalExitAfterMs! > 3700 && a.naturalExitAfterMs! < 4000, `would exit ${a.naturalExitAfterMs} ms after the signal`);
  const leaks = a.findings.flatMap((f) => f.handles ?? []);
  assert.deepEqual(
    leaks.map((h) => h.label),
    ['setTimeout 4000 ms'],
    'the retry timer, and nothing of the 1,500 cleared ones',
  );
});

test('an interval is never "on its own": no estimate', async () => {
  const r = await runTraced(node('leaked-interval.js'), { graceMs: 1000 });
  assert.equal(r.trace.analysis!.exitReason, 'killed-at-deadline');
  assert.equal(r.trace.analysis!.naturalExitAfterMs, undefined);
  assert.doesNotMatch(r.trace.analysis!.verdict, /on its own/);
});
