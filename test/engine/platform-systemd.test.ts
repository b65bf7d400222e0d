/**
 * `--systemd`, as systemd.kill(5) and systemd.service(5) describe a unit's stop:
 * KillMode= control-group / mixed / process, SendSIGHUP=, FinalKillSignal= after TimeoutStopSec=,
 * and Type=notify's NOTIFY_SOCKET (READY=1, STOPPING=1, EXTEND_TIMEOUT_USEC moving the
 * deadline, a unit that never says READY=1). Real processes through the real CLI, on
 * test/fixtures/platform (unit-app.js with its worker, notify-app.js).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { runTraced, finding, eventsOf, node, CLI, FIXTURES, type TracedOutcome } from './helpers';
import type { Trace } from '../../src/shared/trace';
import type { PlatformEvent } from '../../src/shared/platform';

const DIR = path.join(FIXTURES, 'platform');
const plat = (t: Trace, what: PlatformEvent['what']) => eventsOf(t, 'platform').filter((e) => e.what === what);
const lines = (t: Trace) => t.output.map((o) => o.text);
const worker = (t: Trace) => t.processes.find((p) => p.traced && /unit-worker\.js$/.test(p.command))!;

async function unit(extra: string[], fixture = 'unit-app.js', env: Record<string, string> = {}, timeoutStop = '2'): Promise<TracedOutcome> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return await runTraced(node(fixture), { graceMs: Number(timeoutStop) * 1000, cwd: DIR }, ['--quiet', '--systemd', '--timeout-stop', timeoutStop, ...extra]);
  } finally {
    for (const k of Object.keys(env)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}

describe('systemd stop', { concurrency: 1 }, () => {
  test('defaults: KillMode=control-group, KillSignal=SIGTERM, TimeoutStopSec=90s, FinalKillSignal=SIGKILL, no SIGHUP', async () => {
    // The CLI with no plan options at all (the helpers' runTraced passes a --grace).
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'st-systemd-')), 'run.shutdown-trace.json');
    await new Promise((resolve) => spawn(process.execPath, [CLI, 'run', '--quiet', '--systemd', '--out', out, '--', ...node('pid1-graceful.js')], { cwd: DIR, stdio: 'ignore' }).on('exit', resolve));
    const t = JSON.parse(fs.readFileSync(out, 'utf8')) as Trace;
    const s = t.meta.platformMode!.systemd!;
    assert.deepEqual({ ...s }, { killMode: 'control-group', killSignal: 'SIGTERM', timeoutStopMs: 90_000, sendSighup: false, finalKillSignal: 'SIGKILL', type: 'simple' });
    assert.equal(t.meta.plan.graceMs, 90_000);
    assert.equal(t.analysis!.exitReason, 'graceful');
  });

  test('KillMode=control-group: SIGTERM to every process of the unit (the worker cleans up); SendSIGHUP adds SIGHUP', async () => {
    const r = await unit(['--kill-mode', 'control-group', '--send-sighup']);
    const t = r.trace;
    const w = worker(t);
    const term = plat(t, 'unit-signal').find((e) => e.signal === 'SIGTERM')!;
    assert.deepEqual(term.pids, [w.pid]);
    assert.ok(lines(t).includes('worker got SIGTERM') && lines(t).includes('worker cleaned up'), lines(t).join(' | '));
    assert.ok(lines(t).includes('worker got SIGHUP'));
    assert.equal(eventsOf(t, 'orphan').length, 0);
    assert.deepEqual(w.exit, { code: 0, signal: null });
    assert.equal(finding(t, 'systemd-stop')!.severity, 'info');
  });

  test('KillMode=mixed: SIGTERM to the main process only; the worker gets SIGKILL as soon as the main process exits', async () => {
    const r = await unit(['--kill-mode', 'mixed']);
    const t = r.trace;
    const w = worker(t);
    assert.ok(!lines(t).includes('worker got SIGTERM'), 'the worker never got SIGTERM');
    assert.ok(!lines(t).some((l) => /SIGHUP/.test(l)), 'no SIGHUP without SendSIGHUP=');
    const kill = plat(t, 'unit-signal').find((e) => e.signal === 'SIGKILL')!;
    assert.deepEqual(kill.pids, [w.pid]);
    const mainExit = eventsOf(t, 'process-exit').find((e) => e.pid === t.meta.mainPid)!;
    assert.ok(kill.t - mainExit.t < 150, `SIGKILL ${kill.t - mainExit.t} ms after the main process exited`);
    assert.equal(w.exit?.signal, 'SIGKILL');
    assert.match(finding(t, 'systemd-stop')!.title, /^1 process of the unit got SIGKILL \(KillMode=mixed\)$/);
  });

  test('KillMode=process: only the main process is signalled; the worker survives it and is reported', async () => {
    const r = await unit(['--kill-mode', 'process']);
    const t = r.trace;
    const w = worker(t);
    assert.equal(plat(t, 'unit-signal').length, 0);
    assert.deepEqual(
      eventsOf(t, 'orphan').map((o) => o.pid),
      [w.pid],
    );
    assert.match(finding(t, 'systemd-stop')!.title, /^KillMode=process left 1 process running/);
    assert.equal(finding(t, 'systemd-stop')!.severity, 'error');
  });

  test('TimeoutStopSec= then FinalKillSignal=: a main process that ignores SIGTERM dies by SIGQUIT 1 s later', async () => {
    const r = await unit(['--final-kill-signal', 'SIGQUIT'], 'unit-app.js', { HANG: '1' }, '1');
    const t = r.trace;
    const sent = eventsOf(t, 'signal-sent')[0];
    const fin = plat(t, 'unit-signal').find((e) => e.signal === 'SIGQUIT')!;
    assert.ok(Math.abs(fin.t - sent.t - 1000) < 150, `FinalKillSignal ${fin.t - sent.t} ms after SIGTERM`);
    assert.ok(fin.pids!.includes(t.meta.mainPid!));
    assert.equal(r.signal, 'SIGQUIT');
    assert.equal(eventsOf(t, 'kill-sent').length, 1);
  });
});

describe('Type=notify', { concurrency: 1 }, () => {
  test('READY=1, STATUS=, STOPPING=1 are recorded; EXTEND_TIMEOUT_USEC moves the 1 s deadline so a 1.5 s drain finishes', async () => {
    const r = await unit(['--type', 'notify'], 'notify-app.js', {}, '1');
    const t = r.trace;
    const msgs = plat(t, 'notify').map((n) => n.message);
    assert.deepEqual(msgs, ['READY=1', 'STATUS=serving', 'STOPPING=1', 'EXTEND_TIMEOUT_USEC=3000000']);
    const sent = eventsOf(t, 'signal-sent')[0];
    const ready = plat(t, 'notify')[0];
    assert.ok(ready.t < sent.t && plat(t, 'notify')[2].t > sent.t, 'READY before the stop, STOPPING after');
    const moved = plat(t, 'deadline-moved')[0];
    assert.ok(moved && moved.deadlineAt! - sent.t > 2900, 'deadline now + 3 s');
    assert.equal(eventsOf(t, 'kill-sent').length, 0);
    assert.ok(lines(t).includes('drained'));
    assert.equal(r.code, 0);
    assert.equal(finding(t, 'notify-not-ready'), undefined);
    assert.match(t.meta.platformMode!.systemd!.notifySocket!, /notify$/);
  });

  test('without EXTEND_TIMEOUT_USEC the same drain is killed at TimeoutStopSec=1s; a unit that never sent READY=1 is a finding', async () => {
    const r = await unit(['--type', 'notify'], 'notify-app.js', { NO_EXTEND: '1', NO_READY: '1' }, '1');
    const t = r.trace;
    assert.deepEqual(
      plat(t, 'notify').map((n) => n.message),
      ['STOPPING=1'],
    );
    const sent = eventsOf(t, 'signal-sent')[0];
    const kill = eventsOf(t, 'kill-sent')[0];
    assert.ok(kill && Math.abs(kill.t - sent.t - 1000) < 150);
    assert.equal(r.signal, 'SIGKILL');
    assert.ok(!lines(t).includes('drained'));
    assert.equal(finding(t, 'notify-not-ready')!.title, 'Type=notify, but the service never sent READY=1');
  });
});
