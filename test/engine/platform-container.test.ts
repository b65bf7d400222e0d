/**
 * PID 1 for real: the service runs as init of a new PID namespace (unshare), so the
 * kernel's rule applies — init gets only the signals it handles (pid_namespaces(7)), the rest
 * of the namespace dies with it, orphans are re-parented to it. Through the real CLI, on the
 * fixtures in test/fixtures/platform. Needs root or unprivileged user namespaces (CI runs as root).
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTraced, finding, eventsOf, node, CLI, FIXTURES, type TracedOutcome } from './helpers';
import type { Trace } from '../../src/shared/trace';
import type { PlatformEvent } from '../../src/shared/platform';

const DIR = path.join(FIXTURES, 'platform');
const plat = (t: Trace, what: PlatformEvent['what']) => eventsOf(t, 'platform').filter((e) => e.what === what);
/** The traced (node) process whose command matches: not the shell or npm around it. */
const proc = (t: Trace, re: RegExp) => t.processes.find((p) => p.traced && re.test(p.command));
/** Did the preload in this process see the signal arrive? */
const arrived = (t: Trace, pid: number, sig = 'SIGTERM') => eventsOf(t, 'signal').some((e) => e.pid === pid && e.signal === sig);

async function run(command: string[], extra: string[], graceMs = 1500, env: Record<string, string> = {}): Promise<TracedOutcome> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return await runTraced(command, { graceMs, cwd: DIR }, ['--quiet', ...extra]);
  } finally {
    for (const k of Object.keys(env)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}

before(() => {
  const r = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']);
  assert.equal(r.status, 0, `these tests need PID namespaces (root): ${r.stderr}`);
});

describe('PID 1 of a real PID namespace', { concurrency: 1 }, () => {
  test('no SIGTERM listener, plain: dies by SIGTERM at once (the control)', async () => {
    const r = await run(node('pid1-no-handler.js'), []);
    assert.equal(r.signal, 'SIGTERM');
    assert.equal(r.trace.meta.platformMode, undefined);
  });

  test('no SIGTERM listener as PID 1 (--container): SIGTERM does nothing, SIGKILL at the deadline; pids are host pids', async () => {
    const r = await run(node('pid1-no-handler.js'), ['--container']);
    const t = r.trace;
    const pm = t.meta.platformMode!.pid1!;
    assert.equal(pm.mode, 'namespace');
    assert.equal(pm.hostPid, t.meta.mainPid);
    // The main process is the traced node (its preload said pid 1; the trace has the host pid).
    const main = t.processes.find((p) => p.isMain)!;
    assert.equal(main.traced, true);
    assert.notEqual(main.pid, 1);
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(t.analysis!.exitReason, 'killed-at-deadline');
    const sent = eventsOf(t, 'signal-sent')[0];
    const kill = eventsOf(t, 'kill-sent')[0];
    assert.ok(kill && Math.abs(kill.t - sent.t - 1500) < 150, `SIGKILL ${kill?.t - sent.t} ms after SIGTERM`);
    assert.equal(plat(t, 'pid1-signal')[0].delivered, true, "Node's own handler catches it");
    assert.match(finding(t, 'pid1-signal')!.title, /No SIGTERM listener in PID 1: SIGTERM did nothing/);
    // The leak is attributed in the node process, by its host pid.
    assert.ok(t.analysis!.leaks!.some((l) => l.pid === main.pid && /HTTP server/.test(l.title)));
  });

  test('--k8s runs PID 1 by default: a real pod is killed at the deadline, not dead by SIGTERM at 0 s; --shared-pid-namespace turns it off', async () => {
    const k = await run(node('pid1-no-handler.js'), ['--k8s', '--termination-grace', '2'], 2000);
    assert.equal(k.trace.meta.platformMode!.pid1!.mode, 'namespace');
    assert.equal(k.signal, 'SIGKILL');
    assert.equal(k.trace.analysis!.k8s!.fate, 'killed');
    assert.match(k.trace.analysis!.verdict, /^A real pod would have been killed at 2 s; 1 handle alive\./);
    const shared = await run(node('pid1-no-handler.js'), ['--k8s', '--termination-grace', '2', '--shared-pid-namespace'], 2000);
    assert.equal(shared.trace.meta.platformMode?.pid1, undefined);
    assert.equal(shared.signal, 'SIGTERM');
    assert.match(shared.trace.analysis!.verdict, /^A real pod would have died by SIGTERM at 0 s/);
    assert.doesNotMatch(shared.trace.analysis!.verdict, /been died/);
  });

  test('sh -c as PID 1 (a shell-form CMD): SIGTERM is dropped, node never gets it and dies with the container', async () => {
    const r = await run(['sh', '-c', `${process.execPath} pid1-graceful.js`], ['--container']);
    const t = r.trace;
    const svc = proc(t, /pid1-graceful\.js$/)!;
    assert.ok(svc.traced);
    assert.equal(arrived(t, svc.pid), false, 'node never received SIGTERM');
    assert.ok(!t.output.some((o) => o.text === 'got SIGTERM'));
    assert.equal(plat(t, 'pid1-signal')[0].delivered, false, 'dash has no SIGTERM handler');
    assert.match(finding(t, 'pid1-shell')!.title, /^sh -c as PID 1 forwards nothing: SIGTERM never reached/);
    assert.deepEqual(
      plat(t, 'container-killed').map((e) => e.pid),
      [svc.pid],
    );
    assert.match(t.analysis!.verdict, /^The signal never reached the service/);
    assert.equal(r.signal, 'SIGKILL');
  });

  test('--init tini: tini is PID 1 and forwards SIGTERM; the service stops gracefully', async () => {
    const r = await run(node('pid1-graceful.js'), ['--container', '--init', 'tini']);
    const t = r.trace;
    assert.match(t.processes.find((p) => p.isMain)!.command, /tini -- /);
    assert.equal(plat(t, 'pid1-signal')[0].delivered, true, 'tini waits for it in sigtimedwait');
    const svc = proc(t, /pid1-graceful\.js$/)!;
    assert.ok(arrived(t, svc.pid), 'node received SIGTERM through tini');
    assert.ok(t.output.some((o) => o.text === 'got SIGTERM'));
    assert.equal(r.code, 0);
    assert.equal(t.analysis!.exitReason, 'graceful');
    assert.equal(plat(t, 'container-killed').length, 0);
  });

  test('--init dumb-init forwards too', async () => {
    const r = await run(node('pid1-graceful.js'), ['--container', '--init', 'dumb-init']);
    const svc = proc(r.trace, /pid1-graceful\.js$/)!;
    assert.ok(arrived(r.trace, svc.pid));
    assert.equal(r.code, 0);
  });

  test('--init tini around a service with no handler: the service dies by SIGTERM, not "exit code 143"', async () => {
    const r = await run(node('pid1-no-handler.js'), ['--container', '--init', 'tini']);
    const a = r.trace.analysis!;
    assert.equal(r.code, 143);
    assert.equal(a.exitReason, 'killed-by-signal');
    assert.deepEqual(a.serviceExit, { code: null, signal: 'SIGTERM' });
    assert.match(a.verdict, /^tini passed SIGTERM on to .*pid1-no-handler\.js \(pid \d+\), which had no handler and died by SIGTERM/);
    assert.equal(plat(r.trace, 'container-killed').length, 0);
  });

  test('zombies: grandchildren re-parented to a Node PID 1 are never reaped; counted, with who spawned them and where', async () => {
    const r = await run(node('zombie-parent.js'), ['--container']);
    const t = r.trace;
    assert.equal(t.analysis!.platform!.zombies, 3);
    const zs = plat(t, 'zombie').filter((z) => z.reaped === false);
    assert.equal(zs.length, 3);
    assert.ok(
      zs.every((z) => z.ppid === t.meta.mainPid),
      're-parented to PID 1',
    );
    const f = finding(t, 'zombies')!;
    assert.match(f.title, /^3 zombie processes/);
    assert.equal((f.detail.match(/at zombie-child\.js:4:\d+/g) ?? []).length, 3, f.detail);
    const helper = proc(t, /zombie-child\.js$/)!;
    assert.match(f.detail, new RegExp(`spawned by pid ${helper.pid}`));
  });

  test('zombies: with tini as PID 1 they are reaped', async () => {
    const r = await run(node('zombie-parent.js'), ['--container', '--init', 'tini']);
    assert.equal(finding(r.trace, 'zombies'), undefined);
    assert.equal(plat(r.trace, 'zombie').filter((z) => z.reaped === false).length, 0);
    assert.equal(r.code, 0);
  });

  test('npm as PID 1: npm relays SIGTERM to its script shell, which dies; the service never sees it and is killed with the container', async () => {
    const r = await run(['npm', 'start'], ['--container', '--cwd', path.join(DIR, 'npm-app')], 3000);
    const t = r.trace;
    const svc = proc(t, /pid1-graceful\.js$/)!;
    assert.equal(arrived(t, svc.pid), false);
    assert.match(finding(t, 'pid1-npm')!.title, /^npm as PID 1: SIGTERM never reached/);
    assert.ok(
      plat(t, 'container-killed').some((e) => e.pid === svc.pid),
      JSON.stringify([eventsOf(t, 'platform'), t.processes]),
    );
  });
});

describe('PID 1 emulated (no namespaces: SHUTDOWN_TRACE_NO_NAMESPACES=1)', { concurrency: 1 }, () => {
  const EMULATE = { SHUTDOWN_TRACE_NO_NAMESPACES: '1' };

  test('sh -c: SIGTERM is held back as the kernel would (SigCgt has no SIGTERM); node never gets it', async () => {
    const r = await run(['sh', '-c', `${process.execPath} pid1-graceful.js`], ['--container'], 1500, EMULATE);
    const t = r.trace;
    const pm = t.meta.platformMode!.pid1!;
    assert.equal(pm.mode, 'emulated');
    assert.match(pm.why!, /SHUTDOWN_TRACE_NO_NAMESPACES/);
    assert.equal(plat(t, 'pid1-signal')[0].delivered, false);
    const svc = proc(t, /pid1-graceful\.js$/)!;
    assert.equal(arrived(t, svc.pid), false);
    assert.equal(r.signal, 'SIGKILL');
    assert.ok(finding(t, 'pid1-shell'));
  });

  test('no listener: the emulation cannot stop Node re-raising SIGTERM, so it says what a real PID 1 would have done', async () => {
    const r = await run(node('pid1-no-handler.js'), ['--k8s', '--termination-grace', '2'], 2000, EMULATE);
    const t = r.trace;
    assert.equal(t.meta.platformMode!.pid1!.mode, 'emulated');
    assert.equal(r.signal, 'SIGTERM', 'died by it here');
    assert.equal(t.analysis!.k8s!.fate, 'killed');
    assert.match(
      t.analysis!.verdict,
      /^A real pod would have been killed at 2 s \(emulated PID 1: SIGTERM would have been ignored\)\. As PID 1 of a container this process would have ignored SIGTERM/,
    );
  });
});

test('a user that is not root: PID 1 in a PID namespace inside a user namespace (runuser -u nobody)', async () => {
  const probe = spawnSync('runuser', ['-u', 'nobody', '--', 'unshare', '--user', '--map-root-user', '--pid', '--fork', '--mount-proc', 'true']);
  if (probe.status !== 0) return assert.fail(`user namespaces are not available to nobody here: ${probe.stderr}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-nobody-'));
  fs.chmodSync(dir, 0o777);
  const out = path.join(dir, 'run.shutdown-trace.json');
  await new Promise<void>((resolve, reject) => {
    const c = spawn('runuser', ['-u', 'nobody', '--', process.execPath, CLI, 'run', '--container', '--grace', '1s', '--quiet', '--out', out, '--', process.execPath, 'pid1-no-handler.js'], {
      cwd: DIR,
      stdio: 'ignore',
    });
    c.on('error', reject);
    c.on('exit', () => resolve());
  });
  const t = JSON.parse(fs.readFileSync(out, 'utf8')) as Trace;
  const pm = t.meta.platformMode!.pid1!;
  assert.deepEqual([pm.mode, pm.userNamespace], ['namespace', true]);
  const main = t.processes.find((p) => p.isMain)!;
  assert.ok(main.traced);
  assert.deepEqual(main.exit, { code: null, signal: 'SIGKILL' });
  assert.equal(t.analysis!.exitReason, 'killed-at-deadline');
});
