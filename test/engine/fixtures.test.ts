/**
 * Every fixture service, traced through the real CLI with real signals: the diagnosis, the
 * reported creation sites (file:line) and the measured timings.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { runTraced, finding, leakSites, eventsOf, node, TSX, FIXTURES } from './helpers';
import { isAlive } from '../../src/core/proctree';
import { formatFrame } from '../../src/shared/frames';

describe('fixtures: diagnosis and creation sites', { concurrency: 2 }, () => {
  test('no handler: the default action kills the process by SIGTERM', async () => {
    const r = await runTraced(node('no-handler.js'));
    assert.equal(r.signal, 'SIGTERM');
    assert.equal(r.code, null);
    assert.equal(r.trace.analysis!.exitReason, 'killed-by-signal');
    assert.ok(finding(r.trace, 'no-handler'), 'no-handler finding');
    assert.match(r.trace.analysis!.verdict, /No SIGTERM handler/);
    assert.ok(r.signalToExitMs! < 500, `died at once, took ${r.signalToExitMs} ms`);
  });

  test('graceful HTTP shutdown: exit 0, listener and server close measured', async () => {
    const r = await runTraced(node('graceful-http.js'));
    assert.equal(r.code, 0);
    assert.equal(r.trace.analysis!.exitReason, 'graceful');
    assert.ok(finding(r.trace, 'graceful'));
    assert.equal(r.trace.analysis!.leakedHandleCount, 0);
    const phases = r.trace.analysis!.phases.map((p) => p.name);
    assert.ok(
      phases.some((n) => /^SIGTERM listener \(graceful-http\.js:6:/.test(n)),
      `listener phase with its registration site: ${phases}`,
    );
    assert.ok(
      phases.some((n) => /^close server 127\.0\.0\.1:\d+$/.test(n)),
      `server close phase: ${phases}`,
    );
    assert.equal(r.stdout, 'listening\nshutting down\nclosed\n');
  });

  test('draining: connections and requests open at close() and how each one ended', async () => {
    const r = await runTraced(node('inflight-drain.js'));
    assert.equal(r.code, 0);
    const close = eventsOf(r.trace, 'server-close')[0];
    assert.equal(close.connections, 2, 'one idle keep-alive, one in a request');
    assert.equal(close.inFlight, 1);
    const starts = eventsOf(r.trace, 'request-start');
    assert.equal(starts.length, 1);
    assert.equal(starts[0].path, '/slow', 'query string left out');
    const end = eventsOf(r.trace, 'request-end').find((e) => e.req === starts[0].req)!;
    assert.equal(end.status, 200);
    assert.equal(end.aborted, false);
    const took = end.t - close.t;
    // It takes 400 ms from its start, which was ~100 ms before the signal.
    assert.ok(took >= 200 && took < 450, `the in-flight request finished ${took.toFixed(0)} ms after close()`);
    const ends = eventsOf(r.trace, 'conn-end');
    assert.deepEqual(ends.map((e) => [e.how, e.hadRequest]).sort(), [
      ['destroyed', false],
      ['server-ended', true],
    ]);
    assert.ok(
      ends.every((e) => /^127\.0\.0\.1:\d+$/.test(e.remote)),
      'remote addresses recorded',
    );
    assert.ok(eventsOf(r.trace, 'server-closed')[0].t >= end.t, 'close completed after the drain');
  });

  test('a cleanup phase of known duration is measured within ±50 ms, nested', async () => {
    const r = await runTraced(node('cleanup-phase.js'));
    assert.equal(r.code, 0);
    const phases = r.trace.analysis!.phases;
    const flush = phases.find((p) => p.name === 'flush logs');
    const outer = phases.find((p) => p.name === 'graceful shutdown');
    assert.ok(flush && outer, 'user phases from the diagnostics_channel');
    assert.ok(Math.abs(flush.durationMs! - 300) <= 50, `flush logs took ${flush.durationMs} ms, expected 300 ± 50`);
    assert.ok(flush.depth > outer.depth, 'flush logs nests inside graceful shutdown');
    const slow = finding(r.trace, 'slowest-phase');
    assert.ok(slow && /SIGTERM listener|graceful shutdown|flush logs/.test(slow.title), slow?.title);
  });

  test('a named phase that never settles is reported unfinished, not as its synchronous part', async () => {
    const r = await runTraced(node('phase-hangs.js'));
    const phases = r.trace.analysis!.phases;
    const close = phases.find((p) => p.name === 'close http')!;
    const sync = phases.find((p) => p.name === 'sync step')!;
    assert.equal(close.end, undefined, `close http must be unfinished, got ${close.durationMs} ms`);
    assert.ok(sync.durationMs !== undefined && sync.durationMs >= 0, 'the traceSync phase has a duration');
    const f = r.trace.analysis!.findings.find((x) => x.title === 'Phase "close http" never finished');
    assert.ok(f, r.trace.analysis!.findings.map((x) => x.title).join(' | '));
  });

  test('leaked interval: killed at the deadline, the interval reported at its line', async () => {
    const r = await runTraced(node('leaked-interval.js'));
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(r.trace.analysis!.exitReason, 'killed-at-deadline');
    const f = finding(r.trace, 'killed-at-deadline');
    assert.deepEqual(leakSites(f), ['leaked-interval.js:5']);
    assert.equal(f!.handles![0].label, 'setInterval 1000 ms');
    assert.ok(
      eventsOf(r.trace, 'snapshot').some((s) => s.reason === 'deadline'),
      'snapshot taken at the deadline',
    );
    assert.ok(
      eventsOf(r.trace, 'snapshot').some((s) => s.reason === 'stalled'),
      'snapshot when it should have exited',
    );
    assert.ok(r.signalToExitMs! >= 1500 && r.signalToExitMs! < 3000, `killed at the 1.5 s grace, took ${r.signalToExitMs}`);
  });

  test('leaked timer in TypeScript through tsx: the .ts line is reported', async () => {
    const r = await runTraced([TSX, 'leaked-timer.ts']);
    const f = finding(r.trace, 'killed-at-deadline');
    assert.ok(f, r.trace.analysis!.verdict);
    assert.equal(leakSites(f)[0], 'leaked-timer.ts:18', `first leak: ${leakSites(f)}`);
    assert.equal(f!.handles![0].label, 'setTimeout 60000 ms');
    assert.match(r.trace.analysis!.verdict, /leaked-timer\.ts:18/);
  });

  test('streaming connection blocks server.close(): the open connection is named', async () => {
    const r = await runTraced(node('streaming.js'));
    assert.equal(r.trace.analysis!.exitReason, 'killed-at-deadline');
    const f = finding(r.trace, 'open-connections');
    assert.ok(f, 'open-connections finding');
    assert.match(f.title, /server\.close\(\) never finished/);
    assert.ok(
      f.handles!.some((h) => /request in progress/.test(h.label)),
      'the streaming connection is in a request',
    );
    assert.deepEqual(leakSites(f), ['streaming.js:8']);
    const close = eventsOf(r.trace, 'server-close')[0];
    assert.equal(close.connections, 1);
    assert.equal(close.active, 1);
  });

  test('client socket never ended: reported with its connect site and addresses', async () => {
    const r = await runTraced(node('client-socket.js'));
    const f = finding(r.trace, 'killed-at-deadline');
    assert.ok(f);
    const sock = f.handles!.find((h) => h.type === 'socket' && !h.details?.accepted);
    assert.ok(sock, 'the client socket');
    assert.match(sock.label, /^socket 127\.0\.0\.1:\d+ → 127\.0\.0\.1:\d+$/);
    assert.ok(leakSites(f).includes('client-socket.js:6'), `${leakSites(f)}`);
  });

  test('fs watcher: reported with its path and line', async () => {
    const r = await runTraced(node('fs-watcher.js'));
    const f = finding(r.trace, 'killed-at-deadline');
    assert.deepEqual(leakSites(f), ['fs-watcher.js:4']);
    assert.equal(f!.handles![0].label, `fs.watch ${FIXTURES}`);
  });

  test('UDP socket: reported with its address and bind line', async () => {
    const r = await runTraced(node('udp-socket.js'));
    const f = finding(r.trace, 'killed-at-deadline');
    assert.deepEqual(leakSites(f), ['udp-socket.js:5']);
    assert.equal(f!.handles![0].type, 'udp');
    assert.match(f!.handles![0].label, /^UDP socket 127\.0\.0\.1:\d+$/);
  });

  test('worker thread: reported with its line, its own MessagePort not listed beside it', async () => {
    const r = await runTraced(node('worker.js'));
    const f = finding(r.trace, 'killed-at-deadline');
    assert.deepEqual(leakSites(f), ['worker.js:4']);
    assert.deepEqual(
      f!.handles!.map((h) => h.type),
      ['worker'],
    );
  });

  test("node:timers/promises: the awaited timers that kept it alive, each at its line; aborted and unref'd ones not listed", async () => {
    const r = await runTraced(node('promise-timers.mjs'), { graceMs: 1500 });
    assert.equal(r.trace.analysis!.exitReason, 'killed-at-deadline');
    assert.equal(r.signal, 'SIGKILL');
    const leaks = r.trace.analysis!.leaks!;
    assert.deepEqual(
      leaks.map((l) => [l.title, l.site ? formatFrame(l.site, FIXTURES) : 'unknown', l.fix]),
      [
        ['timers/promises setInterval 500 ms', 'promise-timers.mjs:13:56', 'end the loop over it on shutdown: break out of it, or pass it { signal } and abort that'],
        ['timers/promises setTimeout 60000 ms', 'promise-timers.mjs:16:16', 'pass it { signal } and abort that on shutdown'],
        ["a timer made out of the tool's sight (scheduler.wait() of node:timers/promises, or inside Node)", 'unknown', 'give the awaited timer a { signal } and abort that on shutdown'],
      ],
    );
    assert.match(r.trace.analysis!.verdict, /^Killed at the 1\.5 s deadline: SIGTERM did not stop it; 3 handles kept it alive \(timers\/promises setInterval 500 ms at promise-timers\.mjs:13:56; /);
  });

  test('node:timers/promises: every timer aborted at SIGTERM, a graceful exit with nothing listed', async () => {
    const r = await runTraced(node('promise-timers.mjs', 'graceful'), { graceMs: 1500 });
    assert.equal(r.trace.analysis!.exitReason, 'graceful');
    assert.equal(r.code, 0);
    assert.deepEqual(r.trace.analysis!.leaks, []);
  });

  test('a setImmediate loop never stopped: the queued immediate is the leak, nothing else', async () => {
    const r = await runTraced(node('immediate-loop.js'), { graceMs: 1500 });
    assert.equal(r.trace.analysis!.exitReason, 'killed-at-deadline');
    assert.deepEqual(
      r.trace.analysis!.leaks!.map((l) => [l.title, l.site, l.fix]),
      [['a setImmediate callback still queued (re-armed in a loop?)', undefined, 'stop re-arming it on shutdown (check a stopping flag before each setImmediate)']],
    );
  });

  test('orphaned child: reported with pid, command and spawn site, then stopped', async () => {
    const r = await runTraced(node('orphan-child.js'));
    assert.equal(r.code, 0);
    const orphans = eventsOf(r.trace, 'orphan');
    assert.equal(orphans.length, 1);
    assert.match(orphans[0].command, /orphan-helper\.js/);
    assert.equal(orphans[0].stopped, true);
    assert.equal(isAlive(orphans[0].pid), false, 'the tool left nothing behind');
    const f = finding(r.trace, 'orphans');
    assert.ok(f);
    assert.match(f.detail, new RegExp(`pid ${orphans[0].pid} .*spawned at orphan-child\\.js:5:`));
    assert.deepEqual(leakSites(f), ['orphan-helper.js:2'], 'what the orphan held');
    assert.equal(finding(r.trace, 'signal-not-delivered'), undefined, 'the main process did get the signal');
  });

  test("group signal: a helper that caught it and lived on is an orphan; the tool's cleanup SIGTERM it then gets is not a repeated signal", async () => {
    const r = await runTraced(node('orphan-trapping-child.js'), { delivery: 'group' });
    assert.equal(r.code, 0);
    const [orphan] = eventsOf(r.trace, 'orphan');
    assert.ok(orphan && /orphan-trapping-helper\.js/.test(orphan.command), r.trace.analysis!.verdict);
    const arrivals = eventsOf(r.trace, 'signal').filter((e) => e.pid === orphan.pid);
    assert.deepEqual(
      arrivals.map((a) => [a.signal, a.t < orphan.t]),
      [
        ['SIGTERM', true],
        ['SIGTERM', false],
      ],
      'the group signal, then the cleanup',
    );
    assert.equal(finding(r.trace, 'repeated-signal'), undefined, 'the cleanup is not the stop arriving twice');
    assert.match(finding(r.trace, 'orphans')!.detail, /Shutdown Trace sent it SIGTERM at [\d.]+ m?s, which ran its SIGTERM listener; it ended [\d.]+ m?s later \(killed by SIGKILL\)/);
    assert.equal(isAlive(orphan.pid), false, 'the tool left nothing behind');
  });

  test('process.exit() over a live handle: a masked leak, with the exit call site', async () => {
    const r = await runTraced(node('exit-over-leak.js'));
    assert.equal(r.code, 0);
    assert.equal(r.trace.analysis!.exitReason, 'forced-exit');
    const f = finding(r.trace, 'masked-leak');
    assert.deepEqual(leakSites(f), ['exit-over-leak.js:5']);
    assert.match(r.trace.analysis!.verdict, /process\.exit\(0\) at exit-over-leak\.js:8:/);
  });

  test('npm run as a wrapper: the signal never reached the service', async () => {
    const r = await runTraced(['npm', 'run', 'start'], { cwd: path.join(FIXTURES, 'npm-app') });
    assert.equal(r.signal, 'SIGTERM', 'npm itself died by SIGTERM');
    const f = finding(r.trace, 'signal-not-delivered');
    assert.ok(f, r.trace.analysis!.verdict);
    assert.match(r.trace.analysis!.verdict, /never reached the service/);
    const orphan = eventsOf(r.trace, 'orphan').find((o) => /server\.js/.test(o.command));
    assert.ok(orphan, 'node server.js was orphaned');
    assert.equal(isAlive(orphan.pid), false, 'and then stopped');
  });

  test('double SIGINT: both arrivals recorded and the re-run handler flagged', async () => {
    const r = await runTraced(node('double-sigint.js'), { signal: 'SIGINT', second: 'SIGINT', secondAfter: 100 });
    const arrivals = eventsOf(r.trace, 'signal').filter((e) => e.signal === 'SIGINT');
    assert.equal(arrivals.length, 2);
    assert.ok(Math.abs(arrivals[1].t - arrivals[0].t - 100) < 60, `second arrived ${arrivals[1].t - arrivals[0].t} ms later`);
    const f = finding(r.trace, 'repeated-signal');
    assert.ok(f);
    assert.equal(f.severity, 'warning');
    assert.match(f.detail, /handlers ran again/);
    assert.equal(r.stdout, 'listening\ncleanup 1\ncleanup 2\n');
    // Each call is its own phase, ended by its own promise (400 ms each), not by the other call's.
    const calls = r.trace.analysis!.phases!.filter((p) => /^SIGINT listener/.test(p.name));
    assert.equal(calls.length, 2);
    for (const p of calls) assert.ok(p.durationMs !== undefined && p.durationMs >= 395, `${p.name} from ${p.start}: ${p.durationMs} ms`);
  });

  test('an exception during shutdown: exit code 1 and the error named', async () => {
    const r = await runTraced(node('throw-in-shutdown.js'));
    assert.equal(r.code, 1);
    assert.equal(r.trace.analysis!.exitReason, 'crashed');
    const f = finding(r.trace, 'shutdown-error');
    assert.ok(f);
    assert.match(f.title, /database connection already closed/);
    assert.doesNotMatch(r.stdout, /never printed/);
  });

  test('ESM app: the leak is reported at its .mjs line', async () => {
    const r = await runTraced(node('esm-app.mjs'));
    const f = finding(r.trace, 'killed-at-deadline');
    assert.deepEqual(leakSites(f), ['esm-app.mjs:7']);
  });
});
