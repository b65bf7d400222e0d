/**
 * kill -9 on the tool: nothing of the service outlives it, and the trace is not lost. A real
 * service with children (a node child, and a shell with its own child), a real SIGKILL.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLI, FIXTURES, ROOT, node } from './helpers';
import { tmpOut, pidsAlive, until } from './stdio-helpers';
import type { Trace } from '../../src/shared/trace';

function spoolOf(pid: number): string | undefined {
  try {
    return /(?:^|\0)SHUTDOWN_TRACE_SPOOL=([^\0]*)/.exec(fs.readFileSync(`/proc/${pid}/environ`, 'latin1'))?.[1];
  } catch {
    return undefined;
  }
}

async function killCliMidRun(out: string) {
  const cli = spawn(process.execPath, [CLI, 'run', '--when', 'never', '--out', out, '--', ...node('with-children.js')], { cwd: FIXTURES, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  cli.stdout.on('data', (d) => (stdout += d));
  cli.stderr.on('data', (d) => (stderr += d));
  // The CLI's stderr closes when the watchdog, which shares it, is done too.
  const closed = new Promise<void>((r) => cli.on('close', () => r()));
  assert.ok(await until(() => /listening pids \d+ \d+ \d+\ntick\ntick/.test(stdout), 10_000), stdout);
  const pids = /listening pids ([\d ]+)/.exec(stdout)![1].split(' ').map(Number);
  const spool = spoolOf(pids[0]);
  assert.ok(spool && fs.existsSync(spool), 'the run has a spool directory');
  const killedAt = Date.now();
  cli.kill('SIGKILL');
  return { pids, spool: spool!, killedAt, closed, stderr: () => stderr };
}

describe('kill -9 on the CLI', () => {
  test('the service and its children are stopped, the trace is written and marked incomplete, the spool directory removed', async () => {
    const out = tmpOut();
    const r = await killCliMidRun(out);
    assert.ok(await until(() => pidsAlive(r.pids).length === 0, 5000), `left running: ${pidsAlive(r.pids)}`);
    const stoppedIn = Date.now() - r.killedAt;
    assert.ok(await until(() => fs.existsSync(out), 5000), 'trace written at --out');
    await r.closed;
    assert.ok(!fs.existsSync(r.spool), 'spool directory removed');
    assert.match(r.stderr(), new RegExp(`ended before its run did; stopped \\d+ process(es)? of the service; incomplete trace written to ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const trace = JSON.parse(fs.readFileSync(out, 'utf8')) as Trace;
    assert.equal(trace.meta.complete, false);
    assert.match(trace.meta.incompleteReason!, /the tool's process ended before the run did/);
    // What the live run had seen survived: output, processes, the preload's events.
    assert.ok(trace.output.some((o) => /^listening pids/.test(o.text)));
    assert.ok(trace.output.filter((o) => o.text === 'tick').length >= 2);
    assert.ok(
      trace.events.some((e) => e.kind === 'listen'),
      'preload events from before the kill',
    );
    for (const pid of r.pids) {
      const p = trace.processes.find((x) => x.pid === pid);
      assert.ok(p && p.end !== undefined, `pid ${pid} has its end`);
    }
    assert.deepEqual(trace.processes.find((p) => p.isMain)!.exit, { code: null, signal: 'SIGTERM' });
    assert.ok(trace.analysis, 'analysed like any trace');
    assert.ok(stoppedIn < 5000, `stopped ${stoppedIn} ms after the kill`);
  });

  test('an --out that cannot be written: the trace goes to the temp directory, and the message names it', async () => {
    const out = '/dev/null/not-a-dir/run.shutdown-trace.json';
    const r = await killCliMidRun(out);
    await r.closed;
    assert.equal(pidsAlive(r.pids).length, 0);
    const m = /incomplete trace written to (\S+)/.exec(r.stderr());
    assert.ok(m, r.stderr());
    assert.equal(path.dirname(m[1]), os.tmpdir());
    const trace = JSON.parse(fs.readFileSync(m[1], 'utf8')) as Trace;
    assert.equal(trace.meta.complete, false);
    fs.rmSync(m[1]);
    assert.ok(!fs.existsSync(r.spool));
  });

  test("the run's collector token never reaches the journal or the rescued trace, though the service prints it", async () => {
    const out = tmpOut();
    const printsEnv = 'console.log("env " + JSON.stringify(process.env)); console.log("listening pids " + process.pid + " 0 0"); setInterval(() => console.log("tick"), 200)';
    const cli = spawn(process.execPath, [CLI, 'run', '--when', 'never', '--out', out, '--', process.execPath, '-e', printsEnv], { cwd: FIXTURES, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    cli.stdout.on('data', (d) => (stdout += d));
    const closed = new Promise<void>((r) => cli.on('close', () => r()));
    assert.ok(await until(() => /tick\ntick/.test(stdout), 10_000), stdout);
    const pid = Number(/listening pids (\d+)/.exec(stdout)![1]);
    const token = /(?:^|\0)SHUTDOWN_TRACE_TOKEN=([^\0]*)/.exec(fs.readFileSync(`/proc/${pid}/environ`, 'latin1'))![1];
    assert.ok(stdout.includes(token), 'the service printed it');
    const journal = fs.readFileSync(path.join(spoolOf(pid)!, 'launcher.journal'), 'utf8');
    assert.ok(journal.includes('"env '), 'the journal holds the output line');
    assert.ok(!journal.includes(token), 'but not the token');
    cli.kill('SIGKILL');
    await closed;
    const text = fs.readFileSync(out, 'utf8');
    assert.ok(text.includes('env {'));
    assert.ok(!text.includes(token), 'the rescued trace has no token');
  });

  test('a host using the launcher as a library (the extension host) dies: the same rescue, to its tracePath', async () => {
    const out = tmpOut();
    const host = `
      const { startRun } = require(${JSON.stringify(path.join(ROOT, 'src', 'core', 'launcher', 'index.ts'))});
      startRun({ command: [process.execPath, 'with-children.js'], cwd: ${JSON.stringify(FIXTURES)}, tracePath: ${JSON.stringify(out)},
        plan: { signal: 'SIGTERM', when: { mode: 'never' }, graceMs: 5000, delivery: 'main' } })
        .then((run) => run.onUpdate((u) => { for (const o of u.output) if (/^listening pids/.test(o.text)) console.log(o.text); }));`;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', host], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const closed = new Promise<void>((r) => child.on('close', () => r()));
    assert.ok(await until(() => /listening pids \d+ \d+ \d+/.test(stdout), 15_000), stdout);
    const pids = /listening pids ([\d ]+)/.exec(stdout)![1].trim().split(' ').map(Number);
    child.kill('SIGKILL');
    await closed;
    assert.ok(await until(() => pidsAlive(pids).length === 0 && fs.existsSync(out), 5000), `left running: ${pidsAlive(pids)}`);
    const trace = JSON.parse(fs.readFileSync(out, 'utf8')) as Trace;
    assert.equal(trace.meta.complete, false);
    assert.ok(trace.output.some((o) => /^listening pids/.test(o.text)));
  });

  test('a normal run leaves no watchdog behind and its trace untouched', async () => {
    const out = tmpOut();
    const cli = spawn(process.execPath, [CLI, 'run', '--grace', '2s', '--out', out, '--', ...node('graceful-http.js')], { cwd: FIXTURES, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    cli.stderr.on('data', (d) => (stderr += d));
    // 'close': every holder of the CLI's stderr, the watchdog included, is gone.
    await new Promise<void>((r) => cli.on('close', () => r()));
    const trace = JSON.parse(fs.readFileSync(out, 'utf8')) as Trace;
    assert.equal(trace.meta.complete, true);
    assert.doesNotMatch(stderr, /ended before its run did/);
  });
});
