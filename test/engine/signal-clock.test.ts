/**
 * One clock for the launcher and the preload: a signal's arrival, stamped by the service's
 * preload, is never before the launcher's "sent", and signal → exit is one number.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTraced, node, eventsOf } from './helpers';

test('signal received is never drawn before it was sent, over repeated runs', async () => {
  for (let i = 0; i < 6; i++) {
    const r = await runTraced(node('graceful-http.js'), { graceMs: 3000 });
    const sent = eventsOf(r.trace, 'signal-sent')[0];
    const received = eventsOf(r.trace, 'signal').find((e) => e.pid === r.trace.meta.mainPid);
    assert.ok(sent && received, `run ${i}: both the send and the arrival are in the trace`);
    assert.ok(received.t >= sent.t, `run ${i}: received at ${received.t} ms, sent at ${sent.t} ms`);
    assert.equal(r.trace.analysis!.exitReason, 'graceful');
  }
});
