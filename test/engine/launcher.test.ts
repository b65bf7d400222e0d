/**
 * The launcher and CLI at their edges: NODE_OPTIONS, paths with spaces, process trees,
 * crashes, Ctrl+C, bad input. Real processes and signals throughout.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as http from 'node:http';
import WebSocket from 'ws';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTraced, runPlain, node, CLI, FIXTURES, ROOT, finding, eventsOf } from './helpers';
import { withPreload, quoteNodeOption, startRun, LaunchError } from '../../src/core/launcher';
import { parseTrace } from '../../src/shared/trace-file';

describe('NODE_OPTIONS injection', () => {
  test('prepends --require and keeps the user options', () => {
    assert.equal(withPreload(undefined, '/a/preload.js'), '--require /a/preload.js');
    assert.equal(withPreload('  ', '/a/preload.js'), '--require /a/preload.js');
    assert.equal(withPreload('--max-old-space-size=64 --trace-warnings', '/a/p.js'), '--require /a/p.js --max-old-space-size=64 --trace-warnings');
    assert.equal(quoteNodeOption('/dir with space/p.js'), '"/dir with space/p.js"');
    assert.equal(quoteNodeOption('/a"b\\c.js'), '"/a\\"b\\\\c.js"');
  });

  test("the service still gets the user's NODE_OPTIONS, and the preload loads from a path with spaces", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st dir with spaces '));
    const preload = path.join(dir, 'preload.js');
    fs.copyFileSync(path.join(ROOT, 'dist', 'preload.js'), preload);
    const prev = process.env.NODE_OPTIONS;
    process.env.NODE_OPTIONS = '--max-old-space-size=96';
    try {
      const run = await startRun({
        command: node('print-node-options.js'),
        cwd: FIXTURES,
        preloadPath: preload,
        plan: { signal: 'SIGTERM', when: { mode: 'listening', delayMs: 50, timeoutMs: 5000 }, graceMs: 2000, delivery: 'main' },
      });
      const trace = await run.done;
      assert.ok(
        trace.output.some((o) => /^heap limit MB: (9[0-9]|1[0-4][0-9])$/.test(o.text)),
        `user NODE_OPTIONS applied: ${trace.output.map((o) => o.text)}`,
      );
      assert.ok(trace.processes[0].traced, 'the preload reported from a path with spaces');
      assert.equal(trace.analysis!.exitReason, 'graceful');
    } finally {
      if (prev === undefined) delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = prev;
    }
  });
});

describe('process trees', () => {
  test('a cluster: every worker is traced and signalled through the primary', async () => {
    const r = await runTraced(node('cluster.js'), { graceMs: 3000 });
    assert.equal(r.code, 0, r.trace.analysis!.verdict);
    const traced = r.trace.processes.filter((p) => p.traced);
    assert.equal(traced.length, 3, `primary + 2 workers traced: ${JSON.stringify(r.trace.processes.map((p) => p.command))}`);
    // The primary owns the round-robin listening socket (net); each worker listens through it (http).
    const listens = eventsOf(r.trace, 'listen').filter((l) => l.proto === 'http');
    assert.equal(new Set(listens.map((l) => l.pid)).size, 2, 'both workers listened');
    assert.ok(!listens.some((l) => l.pid === r.trace.meta.mainPid));
    assert.equal(eventsOf(r.trace, 'orphan').length, 0);
  });

  test('group delivery signals every process in the group, main delivery only the main one', async () => {
    const group = await runTraced(node('cluster.js'), { graceMs: 3000, delivery: 'group' });
    const groupArrivals = new Set(eventsOf(group.trace, 'signal').map((s) => s.pid));
    assert.equal(groupArrivals.size, 3, 'primary and both workers got SIGTERM');
    const main = await runTraced(node('cluster.js'), { graceMs: 3000, delivery: 'main' });
    const mainArrivals = new Set(eventsOf(main.trace, 'signal').map((s) => s.pid));
    assert.deepEqual([...mainArrivals], [main.trace.meta.mainPid]);
  });
});

describe('runs that do not go as planned', () => {
  test('a crash at start-up: exit code and the error output kept, diagnosed', async () => {
    const r = await runTraced(node('crash-at-start.js'));
    assert.equal(r.code, 1);
    assert.equal(r.trace.analysis!.exitReason, 'crashed');
    const f = finding(r.trace, 'crashed');
    assert.ok(f);
    assert.match(f.detail, /Last error output: Error: missing configuration: DATABASE_URL/);
    assert.equal(eventsOf(r.trace, 'signal-sent').length, 0, 'no signal after it died');
    const plain = await runPlain(node('crash-at-start.js'));
    assert.equal(r.stdout, plain.stdout);
    assert.equal(r.stderr, plain.stderr);
  });

  test('Ctrl+C on the CLI: the run ends, the trace is kept and marked incomplete, nothing left running', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'st-int-')), 't.shutdown-trace.json');
    const cli = spawn(process.execPath, [CLI, 'run', '--when', 'never', '--out', out, '--quiet', '--', process.execPath, 'leaked-interval.js'], { cwd: FIXTURES, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    cli.stderr.on('data', (d) => (stderr += d));
    await new Promise((r) => setTimeout(r, 1200));
    cli.kill('SIGINT');
    const code = await new Promise<number | null>((r) => cli.on('exit', r));
    assert.equal(code, 130);
    const trace = parseTrace(fs.readFileSync(out, 'utf8'));
    assert.equal(trace.meta.complete, false);
    assert.match(trace.meta.incompleteReason!, /interrupted by the user/);
    assert.ok(
      trace.events.some((e) => e.kind === 'listen'),
      'what was captured before is kept',
    );
    assert.ok(finding(trace, 'incomplete'));
    const pid = trace.meta.mainPid!;
    assert.throws(() => process.kill(pid, 0), 'the service was stopped');
    assert.match(stderr, /Incomplete trace|incomplete/);
  });

  test('kill by hand: a snapshot first, then SIGKILL, and a verdict that says so', async () => {
    const run = await startRun({ command: node('leaked-interval.js'), cwd: FIXTURES, plan: { signal: 'SIGTERM', when: { mode: 'never' }, graceMs: 5000, delivery: 'main' } });
    await new Promise((r) => setTimeout(r, 600));
    run.kill();
    const t = await run.done;
    assert.equal(t.processes[0].exit?.signal, 'SIGKILL');
    assert.match(t.analysis!.verdict, /^Killed by hand .*setInterval 1000 ms at leaked-interval\.js:5:19/);
    assert.ok(t.events.some((e) => e.kind === 'snapshot' && e.reason === 'manual'));
    assert.doesNotMatch(t.analysis!.verdict, /Crashed/);
  });

  test('a command that does not exist: one clear line, exit 2, no stack', () => {
    const r = spawnSync(process.execPath, [CLI, 'run', '--', 'definitely-not-a-command-xyz'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim(), 'shutdown-trace: Command not found: definitely-not-a-command-xyz (not on PATH). Check the spelling, or install it.');
  });

  test('usage errors name the problem', () => {
    const cases: [string[], RegExp][] = [
      [['run', '--signal', 'SIGNOPE', '--', 'node', 'x.js'], /--signal: unknown signal SIGNOPE/],
      [['run', '--grace', 'soon', '--', 'node', 'x.js'], /--grace: not a duration: soon/],
      [['run', '--grace', '1s'], /no command given/],
      [['run', '--delivery', 'everyone', '--', 'node'], /--delivery must be main or group/],
      [['frobnicate'], /unknown command "frobnicate"/],
    ];
    for (const [args, re] of cases) {
      const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
      assert.equal(r.status, 2, args.join(' '));
      assert.match(r.stderr, re);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  });

  test('corrupt, truncated, foreign and future trace files: one clear message each', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-bad-'));
    const files: [string, string, RegExp][] = [
      ['trunc.json', '{"format":"shutdown-trace","version":1,"meta":{', /truncated/],
      ['notjson.json', 'hello', /not valid JSON/],
      ['foreign.json', '{"traceEvents":[]}', /Chrome Trace Event file/],
      ['future.json', '{"format":"shutdown-trace","version":99,"meta":{},"processes":[],"events":[],"output":[]}', /newer Shutdown Trace \(format version 99\)/],
      ['empty.json', '', /empty/],
    ];
    for (const [name, text, re] of files) {
      fs.writeFileSync(path.join(dir, name), text);
      const r = spawnSync(process.execPath, [CLI, 'show', path.join(dir, name)], { encoding: 'utf8' });
      assert.equal(r.status, 2, name);
      assert.match(r.stderr, re, name);
    }
    const missing = spawnSync(process.execPath, [CLI, 'show', path.join(dir, 'nope.json')], { encoding: 'utf8' });
    assert.match(missing.stderr, /trace file not found/);
  });

  test('a port that is in use: the service crash is named, the trace kept; view on a taken port is one line', async () => {
    const blocker = http.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      process.env.PORT = String(port);
      const r = await runTraced(node('fixed-port.js'));
      delete process.env.PORT;
      assert.equal(r.code, 1);
      assert.equal(r.trace.analysis!.exitReason, 'crashed');
      assert.match(finding(r.trace, 'crashed')!.detail, new RegExp(`EADDRINUSE: address already in use 127\\.0\\.0\\.1:${port}`));
      const view = spawnSync(process.execPath, [CLI, 'view', r.tracePath, '--port', String(port)], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(view.status, 2);
      assert.equal(view.stderr.trim(), `shutdown-trace: port ${port} is in use; pick another with --port, or omit it for a random one`);
    } finally {
      blocker.close();
    }
  });

  test('strangers at the collector during a real run: refused and counted, the run and its trace unharmed', async () => {
    const run = await startRun({ command: node('graceful-http.js'), cwd: FIXTURES, plan: { signal: 'SIGTERM', when: { mode: 'never' }, graceMs: 5000, delivery: 'main' } });
    const until = Date.now() + 5000;
    while (!run.trace.events.some((e) => e.kind === 'listen') && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    const collector = (run as unknown as { collector: { port: number; token: string } }).collector;
    const attempt = (headers: Record<string, string>, frames: (string | Buffer)[]) =>
      new Promise<void>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${collector.port}/`, { headers });
        ws.on('open', () => {
          for (const f of frames) ws.send(f);
          setTimeout(() => ws.terminate(), 100);
        });
        ws.on('close', () => resolve());
        ws.on('error', () => resolve());
        ws.on('unexpected-response', () => resolve());
      });
    await attempt({}, []);
    await attempt({ 'x-shutdown-trace-token': 'not-the-token' }, []);
    // The right token (stolen), but from a process outside the run: the hello is refused.
    await attempt({ 'x-shutdown-trace-token': collector.token }, [
      JSON.stringify({ type: 'hello', protocol: 1, pid: process.pid, ppid: 1, argv: [], node: '', cwd: '', t: 0, isWorker: false }),
      '{"type":"events","pid":1,"seq":0,"events":[{"kind":"exit","t":0}]}',
    ]);
    await attempt({ 'x-shutdown-trace-token': collector.token }, ['garbage', Buffer.from([0, 1, 2])]);
    run.sendSignal('SIGTERM');
    const t = await run.done;
    assert.equal(t.analysis!.exitReason, 'graceful');
    const { counters } = t.meta;
    assert.ok(counters.rejectedConnections >= 3, `rejected connections: ${counters.rejectedConnections}`);
    assert.ok(counters.malformedFrames >= 1, `malformed frames: ${counters.malformedFrames}`);
    assert.ok(t.events.some((e) => e.kind === 'collector-rejected' && /wrong token/.test(e.reason)));
    assert.ok(!t.processes.some((p) => p.pid === process.pid), 'the stranger never became part of the trace');
    parseTrace(JSON.stringify(t));
  });

  test('a working directory that does not exist is a LaunchError', async () => {
    await assert.rejects(
      startRun({ command: ['node'], cwd: '/no/such/dir', plan: { signal: 'SIGTERM', when: { mode: 'never' }, graceMs: 1000, delivery: 'main' } }),
      (e: unknown) => e instanceof LaunchError && /Working directory does not exist/.test((e as Error).message),
    );
  });
});

describe('CLI exports', () => {
  test('show, and export to chrome and md from a real run', async () => {
    const r = await runTraced(node('leaked-interval.js'));
    const show = spawnSync(process.execPath, [CLI, 'show', r.tracePath], { encoding: 'utf8' });
    assert.equal(show.status, 0);
    assert.match(show.stdout, /Killed at the 1\.5 s deadline/);
    // The leak is listed once, under Leaks, with its line and the fix; not again under the finding.
    assert.match(show.stdout, /Leaks \(1\)[^\n]*\n {2}✖ setInterval 1000 ms {2}at leaked-interval\.js:5:19\n {6}fix clearInterval\(\) it on shutdown\n/);
    assert.equal(show.stdout.match(/leaked-interval\.js:5:19/g)?.length, 2, 'the verdict and the leak list name it, nothing else');
    const chrome = spawnSync(process.execPath, [CLI, 'export', r.tracePath, '--format', 'chrome'], { encoding: 'utf8' });
    assert.equal(chrome.status, 0);
    const ct = JSON.parse(chrome.stdout);
    assert.ok(Array.isArray(ct.traceEvents) && ct.traceEvents.length > 5);
    assert.ok(
      ct.traceEvents.some((e: { ph: string; name: string }) => e.ph === 'i' && /SIGTERM/.test(e.name)),
      'signal instant',
    );
    const md = spawnSync(process.execPath, [CLI, 'export', r.tracePath, '--format', 'md'], { encoding: 'utf8' });
    assert.match(md.stdout, /leaked-interval\.js:5:19/);
  });
});
