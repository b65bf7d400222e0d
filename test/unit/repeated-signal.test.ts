/**
 * A second signal during shutdown: whether the handlers ran again decides a warning (cleanup
 * twice) from a note, and that must not depend on how soon after the arrival the call started.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze } from '../../src/core/analysis';
import type { Trace, TraceEvent } from '../../src/shared/trace';
import { loadFixture } from './traces/load';

/** leaked-interval with a second SIGTERM at +900 ms, and the extra events given. */
function withSecondSigterm(extra: TraceEvent[]): Trace {
  const t = loadFixture('leaked-interval');
  const pid = t.meta.mainPid!;
  const second: TraceEvent[] = [{ kind: 'signal', t: 900, pid, signal: 'SIGTERM', nth: 2, listeners: 1 }, ...extra];
  const at = t.events.findIndex((e) => e.t > 900);
  t.events.splice(at, 0, ...second);
  return t;
}

const rerun = (t: number): TraceEvent => ({ kind: 'listener-start', t, pid: 31337, id: 'l1', signal: 'SIGTERM', name: 'shutdown' });

test('the handler ran again 6 ms after the second arrival (a loaded machine): a warning', () => {
  const f = analyze(withSecondSigterm([rerun(906)])).findings.find((x) => x.code === 'repeated-signal');
  assert.ok(f);
  assert.equal(f.severity, 'warning');
  assert.match(f.detail, /The handlers ran again \(1 \/ 1 listener calls\)/);
});

test('no handler ran for the second arrival: a note, and the first arrival keeps its own call', () => {
  const f = analyze(withSecondSigterm([])).findings.find((x) => x.code === 'repeated-signal');
  assert.ok(f);
  assert.equal(f.severity, 'info');
  assert.match(f.detail, /No handler ran for it again/);
});
