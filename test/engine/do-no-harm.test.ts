/**
 * Do no harm: every fixture, run plain and traced with the same signal plan, must end the same
 * way (exit code or terminating signal), print the same output, and take about as long.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { runTraced, runPlain, node, TSX, FIXTURES, CLI, type Plan } from './helpers';
import { withStdin, inPty, cliRun, serviceLines, tmpOut, hasScript, shQuote } from './stdio-helpers';
import * as fs from 'node:fs';
import type { Trace } from '../../src/shared/trace';

interface Case {
  name: string;
  command: string[];
  plan?: Plan;
  /** Output that legitimately varies between any two runs (ports, pids). */
  normalize?: (s: string) => string;
  /** Compare signal→exit durations (only meaningful when the app, not the deadline, decides). */
  timed?: boolean;
}

// Node names its own pid in warnings: "(node:1234) ExperimentalWarning: …".
const nodePid = (s: string) => s.replace(/\(node:\d+\)/g, '(node:PID)');
// Node's permission model, allowed to read the fixture's own directory only.
const PERMISSION = ['--experimental-permission', `--allow-fs-read=${path.join(FIXTURES, 'permission')}/`];
const stackPaths = (s: string) => s.replace(/\(node:internal[^)]*\)/g, '(node:internal)');
// The one documented difference: a signal listener's stack shows the tool's wrapper frame.
const wrapperFrame = (s: string) => s.replace(/^ {4}at process\.shutdownTraceListener \(.*\/preload\.js:\d+:\d+\)\n/m, '');

const cases: Case[] = [
  { name: 'no-handler', command: node('no-handler.js'), timed: true },
  { name: 'graceful-http', command: node('graceful-http.js'), timed: true },
  { name: 'cleanup-phase', command: node('cleanup-phase.js'), timed: true },
  { name: 'leaked-interval', command: node('leaked-interval.js') },
  { name: 'active resources, stdout and stderr never touched', command: node('active-resources.js'), timed: true },
  { name: 'node:timers/promises, left running', command: node('promise-timers.mjs') },
  { name: 'node:timers/promises, aborted at SIGTERM', command: node('promise-timers.mjs', 'graceful'), timed: true },
  // A user Error.prepareStackTrace that prints: the tool's stacks never call it.
  { name: 'user prepareStackTrace with side effects', command: node('user-prepare-stack.js') },
  { name: 'leaked-timer.ts (tsx)', command: [TSX, 'leaked-timer.ts'] },
  { name: 'streaming', command: node('streaming.js') },
  { name: 'client-socket', command: node('client-socket.js') },
  { name: 'fs-watcher', command: node('fs-watcher.js') },
  { name: 'worker', command: node('worker.js') },
  { name: 'orphan-child', command: node('orphan-child.js'), timed: true },
  { name: 'exit-over-leak', command: node('exit-over-leak.js'), timed: true },
  { name: 'npm run', command: ['npm', 'run', 'start'], plan: { cwd: path.join(FIXTURES, 'npm-app') } },
  { name: 'double-sigint', command: node('double-sigint.js'), plan: { signal: 'SIGINT', second: 'SIGINT', secondAfter: 100 }, timed: true },
  { name: 'throw-in-shutdown', command: node('throw-in-shutdown.js'), normalize: stackPaths, timed: true },
  { name: 'esm-app', command: node('esm-app.mjs') },
  { name: 'cluster (fork)', command: node('cluster.js'), plan: { graceMs: 3000 } },
  { name: 'throw from a signal handler', command: node('throw-sync-handler.js'), normalize: wrapperFrame, timed: true },
  { name: 'permission model (reads only its own directory)', command: node(...PERMISSION, 'permission/service.js'), normalize: nodePid, timed: true },
  { name: 'permission model with child processes allowed', command: node(...PERMISSION, '--allow-child-process', 'permission/service.js'), normalize: nodePid, timed: true },
];

// npm prints its own notices to stderr that vary with the environment; the service's lines are compared.
const npmNoise = (s: string) =>
  s
    .split('\n')
    .filter((l) => !/^npm (warn|notice)/.test(l))
    .join('\n');

describe('do no harm: plain and traced runs end the same way', { concurrency: 1 }, () => {
  for (const c of cases) {
    test(c.name, async () => {
      const plan = { graceMs: 1500, ...c.plan };
      // Plain first and traced second, then compare; the same machine, back to back.
      let plain = await runPlain(c.command, plan);
      let traced = await runTraced(c.command, plan);
      const timingOff = () => Math.abs(traced.signalToExitMs! - plain.signalToExitMs!) >= 60;
      if (c.timed && timingOff()) {
        // One re-measure of both sides: a single slow sample on a shared 2-core machine is noise;
        // a preload that really slows shutdown misses again.
        plain = await runPlain(c.command, plan);
        traced = await runTraced(c.command, plan);
      }
      const norm = (s: string) => npmNoise((c.normalize ?? ((x: string) => x))(s));
      assert.equal(traced.signal, plain.signal, `terminating signal: plain ${plain.signal}, traced ${traced.signal}`);
      assert.equal(traced.code, plain.code, `exit code: plain ${plain.code}, traced ${traced.code}`);
      assert.equal(norm(traced.stdout), norm(plain.stdout), 'stdout');
      assert.equal(norm(traced.stderr), norm(plain.stderr), 'stderr (no extra output from the preload)');
      assert.doesNotMatch(traced.stdout + traced.stderr, /shutdown-trace/i, 'the tool never writes into the service output');
      // The preload's own reports are all well-formed: a rejected one is a counter the user sees.
      const { malformedFrames, rejectedConnections } = traced.trace.meta.counters;
      assert.deepEqual({ malformedFrames, rejectedConnections }, { malformedFrames: 0, rejectedConnections: 0 }, 'frames the collector rejected');
      if (c.timed) {
        const d = Math.abs(traced.signalToExitMs! - plain.signalToExitMs!);
        // Same app logic decides; allow scheduling noise on a loaded 2-core machine.
        assert.ok(d < 60, `signal→exit plain ${plain.signalToExitMs?.toFixed(1)} ms vs traced ${traced.signalToExitMs?.toFixed(1)} ms`);
      }
    });
  }
});

describe('do no harm: stdin, the terminal, the permission model', { concurrency: 1 }, () => {
  test('stdin a pipe the service never reads: the tool does not open it, and it is not listed as a leak', async () => {
    const out = tmpOut();
    // The pipe stays open (as an IDE's or a CI runner's stdin does) until the run has ended. The
    // service holds sockets, so every snapshot describes handles (which once read process.stdin).
    const child = spawn(process.execPath, [CLI, 'run', '--grace', '2s', '--out', out, '--', ...node('client-socket.js')], { cwd: FIXTURES, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdout.resume();
    child.stderr.resume();
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    child.stdin.destroy();
    assert.equal(code, 0, 'the run completed');
    const trace = JSON.parse(fs.readFileSync(out, 'utf8')) as Trace;
    const snapshots = trace.events.filter((e) => e.kind === 'snapshot');
    assert.ok(snapshots.filter((e) => e.reason === 'stalled' || e.reason === 'deadline').length >= 2, 'stalled and deadline snapshots were taken');
    for (const sn of snapshots)
      assert.deepEqual(
        sn.handles.map((h) => h.label).filter((l) => /stdin/.test(l ?? '')),
        [],
        `snapshot ${sn.reason}`,
      );
    assert.deepEqual(
      trace.analysis!.leaks!.map((l) => `${path.basename(l.site?.file ?? '?')}:${l.site?.line}`),
      ['client-socket.js:6', 'client-socket.js:5'],
      'the client socket and its backend connection, and nothing else',
    );
  });

  test('piped stdin', async () => {
    const input = 'first\nsecond\n';
    const plain = await withStdin(node('reads-stdin.js'), input);
    const out = tmpOut();
    const traced = await withStdin([process.execPath, CLI, 'run', '--when', 'never', '--out', out, '--', ...node('reads-stdin.js')], input);
    assert.equal(plain.code, 0);
    assert.equal(traced.stdout, plain.stdout, 'the service read the same input');
    const trace = JSON.parse(fs.readFileSync(out, 'utf8')) as Trace;
    assert.deepEqual(trace.processes[0].exit, { code: 0, signal: null });
    assert.equal(
      trace.output
        .filter((o) => o.stream === 'stderr')
        .map((o) => o.text + '\n')
        .join(''),
      plain.stderr,
    );
  });

  for (const c of [
    { name: 'a terminal: reading a line', command: node('reads-stdin.js'), ready: /to stderr/, keys: 'a line\r' },
    { name: 'a terminal: raw mode, one key', command: node('tty-keypress.js'), ready: /press a key/, keys: 'y' },
  ]) {
    test(c.name, { skip: !hasScript && 'needs util-linux script(1) for a pseudo-terminal' }, async () => {
      const run = async (command: string) => {
        const pty = inPty(command);
        await pty.waitFor(c.ready);
        pty.type(c.keys);
        const { code } = await pty.done;
        return { code, lines: serviceLines(pty.screen()) };
      };
      const plain = await run(c.command.map(shQuote).join(' '));
      const out = tmpOut();
      const traced = await run(cliRun(['--when', 'never', '--out', out], c.command));
      assert.equal(plain.code, 0);
      assert.deepEqual(traced.lines, plain.lines);
      const trace = JSON.parse(fs.readFileSync(out, 'utf8')) as Trace;
      assert.deepEqual(trace.processes[0].exit, { code: 0, signal: null });
      assert.ok(trace.processes[0].traced);
    });
  }

  test('permission model: traced when the preload can be allowed invisibly, untraced and said so when not', async () => {
    const allowed = await runTraced(node(...PERMISSION, 'permission/service.js'), { graceMs: 1500 });
    assert.ok(allowed.trace.processes[0].traced, 'the preload loaded');
    assert.match(allowed.stdout, /outside read: ERR_ACCESS_DENIED/, 'nothing but the preload was granted');
    assert.ok(allowed.trace.events.some((e) => e.kind === 'note' && /permission model is on/.test(e.text)));
    assert.equal(allowed.trace.analysis!.exitReason, 'graceful');
    const untraced = await runTraced(node(...PERMISSION, '--allow-child-process', 'permission/service.js'), { graceMs: 1500 });
    assert.equal(untraced.trace.processes[0].traced, false);
    assert.equal(untraced.trace.meta.complete, false);
    assert.match(untraced.trace.meta.incompleteReason!, /^not traced: Node's permission model/);
    assert.ok(untraced.signalToExitMs! < 1000, 'the plan still ran: listening was seen from outside');
  });
});
