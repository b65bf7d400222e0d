/**
 * Kubernetes termination (--k8s) through the real CLI with real signals: preStop (sleep, exec,
 * httpGet), the stop signal to the main process only, and SIGKILL by the kubelet's arithmetic —
 * counted from the start of preStop, the hook's time in whole seconds, at least 2 s after the
 * signal (the one-off extension when preStop overruns). Timings within ±100 ms.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { runTraced, finding, eventsOf, node, CLI, type TracedOutcome } from './helpers';
import { parseTrace } from '../../src/shared/trace-file';
import type { Trace } from '../../src/shared/trace';
import * as fs from 'node:fs';

const TOL = 100;

/** ms after termination began. */
function rel(t: Trace, ev: { t: number } | undefined): number {
  const start = eventsOf(t, 'termination-start')[0];
  assert.ok(start, 'termination-start recorded');
  assert.ok(ev, 'event present');
  return ev.t - start.t;
}

function near(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= TOL, `${what}: ${actual.toFixed(1)} ms, expected ${expected} ± ${TOL}`);
}

async function k8s(extra: string[], env: Record<string, string> = {}, graceSeconds = 3): Promise<TracedOutcome> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return await runTraced(node('k8s-app.js'), { graceMs: graceSeconds * 1000 }, ['--k8s', '--termination-grace', String(graceSeconds), '--quiet', ...extra]);
  } finally {
    for (const k of Object.keys(env)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}

describe('Kubernetes termination', { concurrency: 1 }, () => {
  test('preStop sleep 1 s, grace 3 s: SIGTERM at +1 s to the main process; a graceful app stops well before SIGKILL would (+3 s)', async () => {
    const r = await k8s(['--prestop-sleep', '1s']);
    const t = r.trace;
    const start = eventsOf(t, 'termination-start')[0];
    assert.deepEqual([start.graceSeconds, start.stopSignal, start.preStop], [3, 'SIGTERM', 'sleep 1 s']);
    const ps = eventsOf(t, 'prestop-start')[0];
    const pe = eventsOf(t, 'prestop-end')[0];
    near(rel(t, ps), 0, 'preStop start');
    near(rel(t, pe), 1000, 'preStop end');
    assert.deepEqual([pe.ok, pe.overran], [true, false]);
    const sig = eventsOf(t, 'signal-sent');
    assert.equal(sig.length, 1, 'one signal, once');
    assert.deepEqual([sig[0].signal, sig[0].delivery, sig[0].target], ['SIGTERM', 'main', t.meta.mainPid]);
    near(rel(t, sig[0]), 1000, 'SIGTERM');
    // The kubelet's schedule: 3 s − 1 s of preStop = 2 s after the signal.
    const s = t.meta.k8s!.schedule!;
    assert.equal(s.preStopSeconds, 1);
    assert.equal(s.remainingSeconds, 2);
    near(s.killAtMs, 3000, 'SIGKILL due');
    assert.equal(eventsOf(t, 'kill-sent').length, 0);
    assert.equal(r.code, 0);
    assert.ok(t.output.some((o) => o.text === 'got SIGTERM'));
    const a = t.analysis!;
    assert.equal(a.k8s!.fate, 'graceful');
    assert.match(a.verdict, /^A real pod would have stopped gracefully 1(\.\d)? s into its 3 s grace period; no handles alive\. Graceful/);
    assert.equal(finding(t, 'k8s-termination')!.severity, 'info');
  });

  test('the hook time counts in whole seconds: preStop 1.5 s, grace 3 s → SIGTERM at +1.5 s, SIGKILL at +3.5 s (not 3 s)', async () => {
    const r = await k8s(['--prestop-sleep', '1.5s'], { HANG: '1' });
    const t = r.trace;
    near(rel(t, eventsOf(t, 'signal-sent')[0]), 1500, 'SIGTERM');
    near(rel(t, eventsOf(t, 'deadline')[0]), 3500, 'deadline');
    near(rel(t, eventsOf(t, 'kill-sent')[0]), 3500, 'SIGKILL sent');
    assert.equal(eventsOf(t, 'grace-extension').length, 0);
    assert.equal(r.signal, 'SIGKILL');
    const s = t.meta.k8s!.schedule!;
    assert.deepEqual([s.preStopSeconds, s.remainingSeconds, s.extended, s.overran], [1, 2, false, false]);
    assert.equal(t.analysis!.k8s!.fate, 'killed');
    assert.match(t.analysis!.verdict, /^A real pod would have been killed at 3\.5 s; \d+ handles? alive\. SIGTERM did not stop it/);
    const killed = finding(t, 'killed-at-deadline')!;
    assert.match(killed.title, /^Killed by SIGKILL 3\.5\d? s after termination began \(terminationGracePeriodSeconds 3\)$/);
  });

  test('preStop overruns the grace period: SIGTERM at the deadline (+2 s), SIGKILL 2 s later (+4 s), the one-off extension', async () => {
    const r = await k8s(['--prestop-sleep', '5s'], { HANG: '1' }, 2);
    const t = r.trace;
    const pe = eventsOf(t, 'prestop-end')[0];
    assert.deepEqual([pe.ok, pe.overran], [false, true]);
    near(rel(t, pe), 2000, 'kubelet stops waiting for preStop');
    const ext = eventsOf(t, 'grace-extension')[0];
    assert.ok(ext);
    assert.equal(ext.seconds, 2);
    near(rel(t, ext), 2000, 'extension granted');
    near(rel(t, eventsOf(t, 'signal-sent')[0]), 2000, 'SIGTERM');
    near(rel(t, eventsOf(t, 'kill-sent')[0]), 4000, 'SIGKILL');
    const s = t.meta.k8s!.schedule!;
    assert.deepEqual([s.overran, s.extended, s.remainingSeconds, s.signalAtMs >= 2000], [true, true, 2, true]);
    const f = finding(t, 'prestop')!;
    assert.equal(f.title, 'preStop was still running at the 2 s grace deadline');
    assert.match(t.analysis!.verdict, /^A real pod would have been killed at 4 s \(preStop overran the 2 s grace period; SIGKILL came 2 s after SIGTERM\)/);
    // The hook was stopped with the container.
    assert.ok(eventsOf(t, 'note').some((n) => /preStop hook ended .* after the kubelet had stopped waiting/.test(n.text)));
  });

  test('preStop exec that fails: recorded with its exit code and output; the kubelet signals at once anyway', async () => {
    const r = await k8s(['--prestop-exec', 'echo flushing; exit 3']);
    const t = r.trace;
    const pe = eventsOf(t, 'prestop-end')[0];
    assert.deepEqual([pe.ok, pe.exitCode, pe.output, pe.error], [false, 3, 'flushing\n', 'exited with code 3']);
    const sig = eventsOf(t, 'signal-sent')[0];
    assert.ok(sig.t - pe.t >= 0 && sig.t - pe.t < 50, `signal ${sig.t - pe.t} ms after the hook ended`);
    assert.ok(rel(t, pe) < 500);
    assert.equal(t.meta.k8s!.schedule!.killAtMs, rel(t, pe) + 3000, 'no whole second used: 3 s left');
    assert.equal(finding(t, 'prestop')!.title, 'preStop failed: exited with code 3');
    assert.equal(r.code, 0);
  });

  test('preStop httpGet on the service port: the service saw it before SIGTERM', async () => {
    const r = await k8s(['--prestop-http', '/drain']);
    const t = r.trace;
    const pe = eventsOf(t, 'prestop-end')[0];
    assert.deepEqual([pe.ok, pe.status, pe.output], [true, 200, 'draining\n']);
    const lines = t.output.map((o) => o.text);
    assert.ok(lines.indexOf('drain requested') >= 0 && lines.indexOf('drain requested') < lines.indexOf('got SIGTERM after drain'), lines.join(' | '));
  });

  test('STOPSIGNAL: --stop-signal SIGQUIT is what the main process gets', async () => {
    const r = await runTraced(node('k8s-app.js'), { graceMs: 3000, signal: 'SIGQUIT' }, ['--k8s', '--stop-signal', 'SIGQUIT', '--quiet']);
    assert.deepEqual(
      eventsOf(r.trace, 'signal-sent').map((s) => s.signal),
      ['SIGQUIT'],
    );
    assert.ok(r.trace.output.some((o) => o.text === 'got SIGQUIT'));
    assert.equal(eventsOf(r.trace, 'termination-start')[0].stopSignal, 'SIGQUIT');
  });

  test('with load: the verdict names what a real pod would have suffered, with the same counts as the analysis (and the 2 s minimum)', async () => {
    const r = await k8s(['--prestop-sleep', '1s', '--load', '--rate', '40'], { HANG: '1' }, 2);
    const t = r.trace;
    const a = t.analysis!;
    assert.ok(a.requests);
    // Grace 2 s − 1 s of preStop leaves 1 s: the kubelet raises it to its 2 s minimum, so SIGKILL at +3 s.
    near(rel(t, eventsOf(t, 'signal-sent')[0]), 1000, 'SIGTERM');
    near(rel(t, eventsOf(t, 'kill-sent')[0]), 3000, 'SIGKILL');
    assert.match(eventsOf(t, 'grace-extension')[0].reason, /only 1 s of the 2 s grace period were left/);
    const m = /^A real pod would have been killed at 3 s \(the kubelet's 2 s minimum after SIGTERM\); (\d+) requests? lost; (\d+) handles? alive\./.exec(a.verdict);
    assert.ok(m, a.verdict);
    assert.equal(Number(m[1]), a.requests.lost);
    assert.equal(Number(m[2]), a.leakedHandleCount);
    // Served during preStop and after SIGTERM (the hanging app keeps its listener), until the kill.
    const spans = eventsOf(t, 'load-request');
    const startT = eventsOf(t, 'termination-start')[0].t;
    const killT = eventsOf(t, 'kill-sent')[0].t;
    const during = spans.filter((s) => s.t > startT && s.end < killT - 60);
    assert.ok(during.length >= 60 && during.every((s) => s.outcome === 'ok'), `${during.length} answered during termination`);
    assert.match(finding(t, 'k8s-termination')!.title, new RegExp(`^As a Kubernetes pod: killed at 3 s \\(the kubelet's 2 s minimum after SIGTERM\\); ${a.requests.lost} requests? lost`));
  });

  test('usage: conflicting Kubernetes options are one clear line, exit 2', () => {
    for (const [args, msg] of [
      [['--k8s', '--delivery', 'group'], /main process only/],
      [['--k8s', '--second-signal', 'SIGINT'], /no second signal/],
      [['--prestop-sleep', '1s', '--prestop-exec', 'true'], /one handler/],
      [['--termination-grace', '1.5'], /whole seconds/],
      [['--k8s', '--grace', '1500ms'], /whole seconds/],
      [['--termination-grace', '5', '--grace', '3s'], /disagree/],
    ] as const) {
      const r = spawnSync(process.execPath, [CLI, 'run', ...args, '--', 'node', 'x.js'], { encoding: 'utf8' });
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, msg);
    }
  });
});

test('a --k8s run with a sleep preStop writes a trace that reads back (every event has a pid)', async () => {
  const r = await runTraced(node('graceful-http.js'), { graceMs: 2000 }, ['--k8s', '--prestop-sleep', '1', '--quiet']);
  const text = fs.readFileSync(r.tracePath, 'utf8');
  const t = parseTrace(text);
  const ps = t.events.find((e) => e.kind === 'prestop-start')!;
  assert.equal(ps.pid, 0);
  const sent = t.events.find((e) => e.kind === 'signal-sent')!;
  assert.ok(Math.abs(sent.t - ps.t - 1000) < 150, `stop signal ${sent.t - ps.t} ms after preStop start (bare 1 = 1 s)`);
});
