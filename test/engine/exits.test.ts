/**
 * Every process's end is in the trace: processes[].exit and .end, and a process-exit event,
 * for cluster workers, children a group signal ended, and services under runners (tsx,
 * nodemon), not only for the main process the launcher waits for.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runTraced, node, TSX, ROOT, eventsOf } from './helpers';
import { toMarkdown } from '../../src/core/export-md';
import type { Trace, ProcessInfo } from '../../src/shared/trace';

function exitEvent(t: Trace, pid: number) {
  return eventsOf(t, 'process-exit').find((e) => e.pid === pid);
}

function assertEnded(t: Trace, p: ProcessInfo, exit: ProcessInfo['exit']) {
  assert.deepEqual(p.exit, exit, `pid ${p.pid} (${p.command}): exit`);
  assert.ok(p.end !== undefined && p.end <= t.meta.durationMs, `pid ${p.pid}: end`);
  const ev = exitEvent(t, p.pid);
  assert.ok(ev, `pid ${p.pid}: a process-exit event`);
  assert.deepEqual({ code: ev.code, signal: ev.signal }, exit);
  assert.equal(ev.t, p.end);
}

const NODEMON = path.join(ROOT, 'test', 'real-app', 'node_modules', '.bin', 'nodemon');

describe("every process's end", () => {
  test('cluster workers: exit code and time from their own exit, before the primary ends', async () => {
    const r = await runTraced(node('cluster.js'), { graceMs: 3000 });
    const main = r.trace.processes.find((p) => p.isMain)!;
    const workers = r.trace.processes.filter((p) => !p.isMain);
    assert.equal(workers.length, 2);
    for (const w of workers) {
      assertEnded(r.trace, w, { code: 0, signal: null });
      assert.ok(w.end! <= main.end!, 'a worker ended before its primary');
      // Its time is its exit, not when the launcher next looked.
      const reported = r.trace.events.find((e) => e.kind === 'exit' && e.pid === w.pid)!;
      assert.equal(w.end, reported.t);
    }
    const md = toMarkdown(r.trace);
    assert.doesNotMatch(md.split('### Processes')[1].split('###')[0], /still running/);
  });

  test('children a group signal ended: the signal for traced ones; untraced ones ended, status not claimed', async () => {
    const r = await runTraced(node('with-children.js'), { graceMs: 3000, delivery: 'group' });
    const pids = /listening pids ([\d ]+)/.exec(r.stdout)![1].trim().split(' ').map(Number);
    const [main, nodeChild, shell] = pids.map((pid) => r.trace.processes.find((p) => p.pid === pid)!);
    assertEnded(r.trace, main, { code: null, signal: 'SIGTERM' });
    assertEnded(r.trace, nodeChild, { code: null, signal: 'SIGTERM' });
    // A shell reports nothing itself and could have trapped the signal: only that it ended.
    assert.equal(shell.exit, undefined);
    assert.ok(shell.end !== undefined);
    const md = toMarkdown(r.trace).split('### Processes')[1].split('###')[0];
    assert.match(md, /ended \(exit status not seen\)/);
    assert.doesNotMatch(md, /still running/);
  });

  test('a service under tsx: its own exit, and SIGKILL at the deadline for both', async () => {
    const graceful = await runTraced([TSX, 'graceful-http.js'], { graceMs: 3000 });
    const service = graceful.trace.processes.find((p) => !p.isMain && p.traced)!;
    assert.ok(service, JSON.stringify(graceful.trace.processes));
    assertEnded(graceful.trace, service, { code: 0, signal: null });

    const leaked = await runTraced([TSX, 'leaked-timer.ts'], { graceMs: 1500 });
    for (const p of leaked.trace.processes.filter((x) => x.traced)) {
      assert.deepEqual(p.exit, { code: null, signal: 'SIGKILL' }, `${p.command}`);
      assert.ok(exitEvent(leaked.trace, p.pid));
    }
  });

  test('a service under nodemon: its exit code', { skip: !fs.existsSync(NODEMON) && 'test/real-app is not installed' }, async () => {
    // nodemon sends its child SIGINT and SIGTERM: a service graceful on both ends the same way each time.
    const r = await runTraced([NODEMON, '--quiet', 'graceful-any-signal.js'], { graceMs: 3000 });
    const service = r.trace.processes.find((p) => !p.isMain && / graceful-any-signal\.js$/.test(p.command))!;
    assert.ok(service, JSON.stringify(r.trace.processes));
    assertEnded(r.trace, service, { code: 0, signal: null });
  });
});
