/**
 * A preStop exec hook's pid is the event's `hookPid` (its `pid` is the launcher's 0): every
 * exporter reads that one field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeEvent } from '../../src/core/export-md';
import { toChromeTrace } from '../../src/core/export-chrome';
import type { Trace, TraceEvent } from '../../src/shared/trace';

const start = { kind: 'prestop-start', t: 100, pid: 0, action: 'exec', detail: 'exec: sleep 1', hookPid: 4242 } as TraceEvent;
const end = { kind: 'prestop-end', t: 1100, pid: 0, ok: true, durationMs: 1000, exitCode: 0 } as unknown as TraceEvent;

test('Markdown names the hook process by its hookPid', () => {
  assert.equal(describeEvent(start), 'preStop exec: sleep 1 started (pid 4242)');
});

test('the Chrome export carries the hook pid on the preStop span', () => {
  const trace = {
    format: 'shutdown-trace',
    version: 1,
    meta: {
      tool: 'shutdown-trace',
      toolVersion: '0',
      createdAt: '',
      command: ['node'],
      cwd: '/',
      platform: 'linux',
      node: 'v20',
      plan: { signal: 'SIGTERM', when: { mode: 'never' }, graceMs: 1000, delivery: 'main' },
      complete: true,
      durationMs: 2000,
      counters: { droppedEvents: 0, rejectedConnections: 0, malformedFrames: 0, outputLinesTruncated: 0 },
      k8s: { graceSeconds: 30, stopSignal: 'SIGTERM' },
    },
    processes: [],
    events: [{ kind: 'termination-start', t: 100, pid: 0, graceSeconds: 30, stopSignal: 'SIGTERM', preStop: 'exec: sleep 1' } as unknown as TraceEvent, start, end],
    output: [],
  } as unknown as Trace;
  const out = JSON.stringify(toChromeTrace(trace));
  assert.match(out, /"hookPid":4242/);
});
