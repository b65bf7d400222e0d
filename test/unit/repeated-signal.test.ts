/**
 * A second signal during shutdown: whether the handlers ran again decides a warning (cleanup
 * twice) from a note, and that must not depend on how soon after the arrival the call started.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze } from '../../src/core/analysis';
import type { Trace, TraceEvent } from '../../src/shared/trace';
import { loadFixture } from './traces/load';

/**
 * leaked-interval with a second SIGTERM 500 ms after the first; with `rerunAfter`, its handler
 * runs again that many ms after the second arrival.
 */
function withSecondSigterm(rerunAfter?: number): Trace {
  const t = loadFixture('leaked-interval');
  const first = t.events.find((e) => e.kind === 'signal' && e.signal === 'SIGTERM')!;
  const call = t.events.find((e) => e.kind === 'listener-start' && e.signal === 'SIGTERM')!;
  const at = first.t + 500;
  const second: TraceEvent[] = [{ kind: 'signal', t: at, pid: first.pid, signal: 'SIGTERM', nth: 2, listeners: 1 }];
  if (rerunAfter !== undefined) second.push({ ...call, t: at + rerunAfter });
  t.events.splice(
    t.events.findIndex((e) => e.t > at),
    0,
    ...second,
  );
  return t;
}

test('the handler ran again 6 ms after the second arrival (a loaded machine): a warning', () => {
  const f = analyze(withSecondSigterm(6)).findings.find((x) => x.code === 'repeated-signal');
  assert.ok(f);
  assert.equal(f.severity, 'warning');
  assert.match(f.detail, /The handlers ran again \(1 \/ 1 listener calls\)/);
});

test('no handler ran for the second arrival: a note, and the first arrival keeps its own call', () => {
  const f = analyze(withSecondSigterm()).findings.find((x) => x.code === 'repeated-signal');
  assert.ok(f);
  assert.equal(f.severity, 'info');
  assert.match(f.detail, /No handler ran for it again/);
});
