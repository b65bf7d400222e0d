/**
 * `--docker`: docker stop sends the stop signal (STOPSIGNAL, default SIGTERM) to the
 * container's PID 1, then SIGKILL after the stop timeout (10 s by default); --init is docker
 * run --init (tini). Also the signals that must not stop a service: `--signal SIGHUP --expect
 * survive`, and SIGUSR1. Real PID namespaces, through the real CLI, on test/fixtures/platform.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTraced, finding, eventsOf, node, CLI, FIXTURES } from './helpers';
import type { Trace } from '../../src/shared/trace';

const DIR = path.join(FIXTURES, 'platform');

/** The CLI with exactly these options (no plan defaults from the helpers). */
function cli(args: string[], command: string[]): Promise<Trace> {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'st-docker-')), 'run.shutdown-trace.json');
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [CLI, 'run', '--quiet', '--out', out, ...args, '--', ...command], { cwd: DIR, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d) => (err += d));
    c.on('error', reject);
    c.on('exit', () => (fs.existsSync(out) ? resolve(JSON.parse(fs.readFileSync(out, 'utf8'))) : reject(new Error(err))));
  });
}

describe('docker stop', { concurrency: 1 }, () => {
  test('defaults: SIGTERM to PID 1, SIGKILL 10 s later (a service without a handler, as PID 1, ignores SIGTERM)', async () => {
    const t = await cli(['--docker'], node('pid1-no-handler.js'));
    assert.deepEqual(t.meta.platformMode!.docker, { stopSignal: 'SIGTERM', stopTimeoutSeconds: 10, init: false });
    assert.equal(t.meta.platformMode!.pid1!.mode, 'namespace');
    const sent = eventsOf(t, 'signal-sent');
    assert.deepEqual(
      sent.map((s) => [s.signal, s.target, s.delivery]),
      [['SIGTERM', t.meta.mainPid, 'main']],
    );
    const kill = eventsOf(t, 'kill-sent')[0];
    assert.ok(Math.abs(kill.t - sent[0].t - 10_000) < 150, `SIGKILL ${kill.t - sent[0].t} ms after SIGTERM`);
    assert.equal(t.analysis!.exitReason, 'killed-at-deadline');
  });

  test('STOPSIGNAL: --stop-signal SIGQUIT reaches PID 1, which handles it', async () => {
    const t = await cli(['--docker', '--stop-signal', 'SIGQUIT', '--stop-timeout', '3'], node('sigquit.js'));
    assert.equal(t.meta.platformMode!.docker!.stopSignal, 'SIGQUIT');
    assert.deepEqual(
      eventsOf(t, 'signal-sent').map((s) => s.signal),
      ['SIGQUIT'],
    );
    assert.ok(t.output.some((o) => o.text === 'got SIGQUIT'));
    assert.equal(t.analysis!.exitReason, 'graceful');
  });

  test('--init is docker run --init: tini as PID 1 forwards the stop signal to the service', async () => {
    const t = await cli(['--docker', '--init', '--stop-timeout', '3'], node('pid1-graceful.js'));
    assert.equal(t.meta.platformMode!.docker!.init, true);
    assert.equal(t.meta.platformMode!.pid1!.init, 'tini');
    assert.match(t.processes.find((p) => p.isMain)!.command, /tini -- /);
    assert.ok(t.output.some((o) => o.text === 'got SIGTERM'));
    assert.equal(t.analysis!.exitReason, 'graceful');
  });

  test('usage: Docker has one stop signal and one timeout', () => {
    for (const [args, msg] of [
      [['--docker', '--second-signal', 'SIGINT'], /no second signal/],
      [['--docker', '--init', 'dumb-init'], /docker-init/],
      [['--stop-timeout', '5'], /needs --docker/],
      [['--docker', '--k8s'], /choose one platform/],
    ] as const) {
      const r = spawnSync(process.execPath, [CLI, 'run', ...args, '--', 'node', 'x.js'], { encoding: 'utf8' });
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, msg);
    }
  });
});

describe('signals that must not stop the service', { concurrency: 1 }, () => {
  test('--signal SIGHUP --expect survive: a reload under load loses no request; the stop follows', async () => {
    const r = await runTraced(node('reload.js'), { signal: 'SIGHUP', graceMs: 2000, cwd: DIR }, ['--quiet', '--expect', 'survive', '--load', '--rate', '50']);
    const t = r.trace;
    assert.deepEqual(
      eventsOf(t, 'signal-sent').map((s) => s.signal),
      ['SIGHUP', 'SIGTERM'],
    );
    assert.ok(t.output.some((o) => o.text === 'reloaded'));
    const f = finding(t, 'survive')!;
    assert.equal(f.severity, 'info');
    assert.match(f.title, /^Survived SIGHUP: \d+ requests answered across it, none lost$/);
    const across = Number(/: (\d+) requests/.exec(f.title)![1]);
    assert.ok(across >= 30, `${across} requests across the 1 s window at 50/s`);
    assert.equal(t.analysis!.platform!.survived, true);
    assert.equal(finding(t, 'repeated-signal'), undefined, 'the plan, not a repeated signal');
    assert.match(t.analysis!.verdict, /^Survived SIGHUP with no request lost; then SIGTERM: Graceful/);
    assert.equal(r.code, 0);
  });

  test('--expect survive fails when the service has no SIGHUP listener (Node dies by it)', async () => {
    const r = await runTraced(node('pid1-graceful.js'), { signal: 'SIGHUP', graceMs: 2000, cwd: DIR }, ['--quiet', '--expect', 'survive']);
    const f = finding(r.trace, 'survive')!;
    assert.equal(f.severity, 'error');
    assert.equal(f.title, 'SIGHUP stopped the service');
    assert.equal(r.trace.analysis!.platform!.survived, false);
    assert.equal(r.signal, 'SIGHUP');
  });

  test('SIGUSR1: an app that uses it is told Node reserves it for the inspector; without a listener it opens the inspector', async () => {
    const used = await runTraced(node('usr1-app.js'), { signal: 'SIGUSR1', graceMs: 1000, cwd: DIR }, ['--quiet']);
    assert.match(finding(used.trace, 'sigusr1-inspector')!.title, /^The app uses SIGUSR1/);
    const plain = await runTraced(node('pid1-graceful.js'), { signal: 'SIGUSR1', graceMs: 1000, cwd: DIR }, ['--quiet']);
    assert.match(finding(plain.trace, 'sigusr1-inspector')!.title, /opened the Node inspector/);
    assert.equal(plain.signal, 'SIGKILL', 'SIGUSR1 did not stop it');
  });
});
