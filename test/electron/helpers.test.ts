/**
 * Unit tests for the extension's vscode-free helpers: command lines, launch configurations,
 * settings → SignalPlan, open-frame path checks. Run: node --import tsx --test test/electron/helpers.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CommandLineError, formatArgv, needsShell, parseCommandLine, shortLabel, splitWords } from '../../src/extension/commandLine';
import { buildLaunchCommand, LaunchConfigError, parseEnvFile, resolveVariables } from '../../src/extension/launchConfig';
import { applyOverrides, DEFAULTS, describePlan, readSettings, sanitizeOverrides, toPlan } from '../../src/extension/settings';
import { describeK8s, fromPreStop, isPreStopSetting, k8sSignalPlan, parsePreStopInput, toK8s, toPreStop } from '../../src/extension/settings';
import pkg from '../../package.json';
import { resolveFrame } from '../../src/extension/frames';

test('splitWords follows POSIX quoting', () => {
  assert.deepEqual(splitWords(`node  server.js --name "a b" 'c d' e\\ f ""`), ['node', 'server.js', '--name', 'a b', 'c d', 'e f', '']);
  assert.deepEqual(splitWords(`echo "say \\"hi\\" \\$HOME"`), ['echo', 'say "hi" $HOME']);
  assert.throws(() => splitWords(`node "unclosed`), CommandLineError);
  assert.throws(() => splitWords(`node 'unclosed`), CommandLineError);
});

test('parseCommandLine: leading env assignments, shell syntax goes through sh -c', () => {
  assert.deepEqual(parseCommandLine('PORT=3000 DEBUG=x node server.js'), { argv: ['node', 'server.js'], env: { PORT: '3000', DEBUG: 'x' }, viaShell: false });
  const piped = parseCommandLine('node a.js | tee log.txt', 'linux');
  assert.deepEqual(piped.argv, ['sh', '-c', 'node a.js | tee log.txt']);
  assert.equal(piped.viaShell, true);
  assert.equal(needsShell('node a.js && node b.js'), true);
  assert.equal(needsShell('node server.js --port $PORT'), true);
  assert.equal(needsShell(`node -e 'a && b | c'`), false, 'quoted operators are plain text');
  assert.equal(needsShell('node server.js'), false);
  assert.throws(() => parseCommandLine('   '), CommandLineError);
  assert.throws(() => parseCommandLine('A=1'), /no command/);
});

test('formatArgv quotes what a shell would need quoted; shortLabel keeps titles short', () => {
  assert.equal(formatArgv(['node', '/tmp/a b.js', "it's"]), `node '/tmp/a b.js' 'it'\\''s'`);
  assert.equal(shortLabel(['/usr/bin/node', '/work/app/server.js', '--port', '3000']), 'node server.js --port 3000');
  assert.ok(shortLabel(['node', 'x'.repeat(100)]).length <= 48);
});

test('resolveVariables covers the launch.json variables and refuses interactive ones', () => {
  const ctx = { workspaceFolder: '/w', workspaceFolders: { api: '/w2' }, file: '/w/src/app.ts', env: { HOME: '/h', X: 'y' }, userHome: '/h' };
  assert.equal(resolveVariables('${workspaceFolder}/dist/${fileBasenameNoExtension}.js', ctx), '/w/dist/app.js');
  assert.equal(resolveVariables('${relativeFile}|${fileDirname}|${fileExtname}|${env:X}|${env:NOPE}|${workspaceFolder:api}', ctx), 'src/app.ts|/w/src|.ts|y||/w2');
  assert.throws(() => resolveVariables('${input:port}', ctx), LaunchConfigError);
  assert.throws(() => resolveVariables('${command:pickProcess}', ctx), /interactive/);
  assert.throws(() => resolveVariables('${file}', { env: {} }), /no file is open/);
  assert.throws(() => resolveVariables('${bogus}', ctx), /not a variable/);
});

test('buildLaunchCommand: program, runtime, args, cwd, env over envFile', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-launch-'));
  fs.writeFileSync(path.join(dir, '.env'), '# comment\nexport A=1\nB="two words"\nC=three # trailing\nD=\'x=y\'\n');
  try {
    const cmd = buildLaunchCommand(
      {
        type: 'pwa-node',
        request: 'launch',
        name: 'Server',
        runtimeExecutable: 'node',
        runtimeArgs: ['--enable-source-maps'],
        program: '${workspaceFolder}/server.js',
        args: ['--port', '${env:PORT}'],
        envFile: '${workspaceFolder}/.env',
        env: { A: 'override', NUL: null },
        preLaunchTask: 'build',
      },
      { workspaceFolder: dir, env: { PORT: '8080' } },
    );
    assert.deepEqual(cmd.argv, ['node', '--enable-source-maps', path.join(dir, 'server.js'), '--port', '8080']);
    assert.equal(cmd.cwd, dir);
    assert.deepEqual(cmd.env, { A: 'override', B: 'two words', C: 'three', D: 'x=y' });
    assert.ok(cmd.notes.some((n) => n.includes('preLaunchTask "build"')));
    assert.ok(cmd.notes.some((n) => n.includes('NUL')));

    const npm = buildLaunchCommand({ type: 'node', request: 'launch', runtimeExecutable: 'npm', runtimeArgs: ['run', 'start'], cwd: 'pkg' }, { workspaceFolder: dir, env: {} });
    assert.deepEqual(npm.argv, ['npm', 'run', 'start']);
    assert.equal(npm.cwd, path.join(dir, 'pkg'));

    const rel = buildLaunchCommand({ type: 'node', request: 'launch', program: 'src/index.js', args: '--a 1' }, { workspaceFolder: dir, env: {} });
    assert.deepEqual(rel.argv, ['node', path.join(dir, 'src/index.js'), '--a', '1']);

    assert.throws(() => buildLaunchCommand({ type: 'node', request: 'attach', name: 'Attach' }, { workspaceFolder: dir, env: {} }), /not a Node launch configuration/);
    assert.throws(() => buildLaunchCommand({ type: 'node', request: 'launch', name: 'Empty' }, { workspaceFolder: dir, env: {} }), /nothing to run/);
    assert.throws(() => buildLaunchCommand({ type: 'node', request: 'launch', program: 'a.js', envFile: 'missing.env' }, { workspaceFolder: dir, env: {} }), /envFile .* cannot be read \(ENOENT\)/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('parseEnvFile handles quotes, comments and export', () => {
  assert.deepEqual(parseEnvFile('A=1\n\n# x\nexport B = 2\nC="a\\nb"\nbad line\n'), { A: '1', B: '2', C: 'a\nb' });
});

test('settings: bad values fall back to defaults; overrides are checked; plan is built', () => {
  const s = readSettings((k) => (({ signal: 'SIGINT', gracePeriodMs: -5, delivery: 'everyone', env: { A: 'x', B: 3 } }) as Record<string, unknown>)[k]);
  assert.equal(s.signal, 'SIGINT');
  assert.equal(s.gracePeriodMs, DEFAULTS.gracePeriodMs);
  assert.equal(s.delivery, 'main');
  assert.deepEqual(s.env, {});
  const { overrides, ignored } = sanitizeOverrides({ signal: 'SIGHUP', gracePeriodMs: 5000, signalWhen: 'sometimes', file: '/x.js', secondSignal: 'SIGINT' });
  assert.deepEqual(overrides, { signal: 'SIGHUP', gracePeriodMs: 5000, secondSignal: 'SIGINT' });
  assert.deepEqual(ignored, ['signalWhen']);
  const plan = toPlan(applyOverrides(DEFAULTS, overrides));
  assert.deepEqual(plan, { signal: 'SIGHUP', when: { mode: 'listening', delayMs: 500, timeoutMs: 10000 }, graceMs: 5000, delivery: 'main', second: { signal: 'SIGINT', afterMs: 1000 } });
  assert.deepEqual(toPlan({ ...DEFAULTS, signalWhen: 'after', signalAfterMs: 250 }).when, { mode: 'after', ms: 250 });
  assert.deepEqual(toPlan({ ...DEFAULTS, signalWhen: 'never' }).when, { mode: 'never' });
  assert.match(describePlan(plan), /SIGHUP to the main process 500 ms after it listens, then SIGINT 1000 ms later; SIGKILL 5 s after the first signal/);
  assert.deepEqual(sanitizeOverrides([1, 2]).overrides, {});
});

test("settings: Kubernetes termination (shutdownTrace.k8s.*) → RunOptions.k8s, in the CLI's shape", () => {
  const cfg: Record<string, unknown> = { 'k8s.enabled': true, 'k8s.terminationGracePeriodSeconds': 3, 'k8s.stopSignal': 'SIGQUIT', 'k8s.preStop': { sleep: 1.5 } };
  const s = readSettings((k) => cfg[k]);
  assert.deepEqual([s.k8sEnabled, s.k8sGraceSeconds, s.k8sStopSignal, s.k8sPreStop], [true, 3, 'SIGQUIT', { sleep: 1.5 }]);
  assert.deepEqual(toK8s(s), { graceSeconds: 3, stopSignal: 'SIGQUIT', preStop: { action: 'sleep', ms: 1500 } });
  assert.equal(toK8s(DEFAULTS), undefined, 'off by default');
  assert.deepEqual(toK8s({ ...DEFAULTS, k8sEnabled: true }), { graceSeconds: 30, stopSignal: 'SIGTERM' });
  assert.deepEqual(toK8s({ ...DEFAULTS, k8sEnabled: true, k8sPreStop: { exec: 'curl -s localhost:8080/drain' } })!.preStop, { action: 'exec', command: 'curl -s localhost:8080/drain' });
  assert.deepEqual(toK8s({ ...DEFAULTS, k8sEnabled: true, k8sPreStop: { httpGet: ' /drain ' } })!.preStop, { action: 'httpGet', url: '/drain' });
  // Bad values fall back to the defaults.
  const bad = readSettings(
    (k) => (({ 'k8s.enabled': 'yes', 'k8s.terminationGracePeriodSeconds': 2.5, 'k8s.stopSignal': 'TERM', 'k8s.preStop': { sleep: 5, exec: 'x' } }) as Record<string, unknown>)[k],
  );
  assert.deepEqual([bad.k8sEnabled, bad.k8sGraceSeconds, bad.k8sStopSignal, bad.k8sPreStop], [false, 30, 'SIGTERM', {}]);
  const { overrides, ignored } = sanitizeOverrides({ k8sEnabled: true, k8sGraceSeconds: 0, k8sPreStop: { httpGet: 'drain' } });
  assert.deepEqual(overrides, { k8sEnabled: true });
  assert.deepEqual(ignored, ['k8sGraceSeconds', 'k8sPreStop']);
  // preStop: one handler or none.
  for (const ok of [{}, { sleep: 0 }, { exec: 'sleep 1' }, { httpGet: '/drain' }, { httpGet: ':8080/drain' }, { httpGet: 'http://127.0.0.1:9/x' }, { sleep: 2, exec: '' }])
    assert.ok(isPreStopSetting(ok), JSON.stringify(ok));
  for (const no of [null, [], { sleep: -1 }, { sleep: '5' }, { exec: '  ' }, { httpGet: 'drain' }, { sleep: 1, exec: 'x' }, { tcpSocket: 80 }]) assert.ok(!isPreStopSetting(no), JSON.stringify(no));
  // Typed in "Run with options…".
  assert.deepEqual(parsePreStopInput('sleep 5'), { sleep: 5 });
  assert.deepEqual(parsePreStopInput('sleep 500ms'), { sleep: 0.5 });
  assert.deepEqual(parsePreStopInput('exec curl -s localhost:8080/drain'), { exec: 'curl -s localhost:8080/drain' });
  assert.deepEqual(parsePreStopInput('httpGet /drain'), { httpGet: '/drain' });
  assert.deepEqual(parsePreStopInput(''), {});
  for (const bad of ['sleep', 'sleep five', 'httpGet drain', 'tcpSocket 80']) assert.equal(parsePreStopInput(bad), undefined, bad);
  // Round trip through a trace's meta.k8s.preStop (re-run).
  for (const p of [{ sleep: 1.5 }, { exec: 'echo hi' }, { httpGet: '/drain' }, {}]) assert.deepEqual(fromPreStop(toPreStop(p)), p);
  assert.match(describeK8s(toK8s(s)), /^terminationGracePeriodSeconds 3, preStop sleep 1\.5 s, stop signal SIGQUIT to the main process$/);
});

test("settings: with Kubernetes termination the plan is the kubelet's (main process, no second signal, grace in seconds)", () => {
  const plan = toPlan({ ...DEFAULTS, delivery: 'group', secondSignal: 'SIGINT', gracePeriodMs: 5000 });
  const { plan: p, notes } = k8sSignalPlan(plan, { graceSeconds: 3, stopSignal: 'SIGQUIT' });
  assert.deepEqual(p, { signal: 'SIGQUIT', when: plan.when, graceMs: 3000, delivery: 'main' });
  assert.equal(notes.length, 2);
  assert.match(notes[0], /main process only/);
  assert.match(notes[1], /no second signal/);
  assert.deepEqual(k8sSignalPlan(toPlan(DEFAULTS), { graceSeconds: 30, stopSignal: 'SIGTERM' }).notes, []);
});

test('package.json declares every shutdownTrace.k8s.* setting with the defaults the code uses', () => {
  const props = (pkg as { contributes: { configuration: { properties: Record<string, { default: unknown }> } } }).contributes.configuration.properties;
  assert.equal(props['shutdownTrace.k8s.enabled'].default, DEFAULTS.k8sEnabled);
  assert.equal(props['shutdownTrace.k8s.terminationGracePeriodSeconds'].default, DEFAULTS.k8sGraceSeconds);
  assert.equal(props['shutdownTrace.k8s.stopSignal'].default, DEFAULTS.k8sStopSignal);
  assert.deepEqual(props['shutdownTrace.k8s.preStop'].default, DEFAULTS.k8sPreStop);
});

test('resolveFrame: existing local files only, relative to the trace cwd, never URLs', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-frame-'));
  const file = path.join(dir, 'app.js');
  fs.writeFileSync(file, 'x\n');
  try {
    assert.deepEqual(resolveFrame(file, 3, 7, undefined), { ok: true, file, line: 3, col: 7 });
    assert.deepEqual(resolveFrame('app.js', 0, Number.NaN, dir), { ok: true, file, line: 1, col: 1 });
    assert.deepEqual(resolveFrame(pathToFileURL(file).href, 2, 2, undefined), { ok: true, file, line: 2, col: 2 });
    for (const bad of ['https://evil.example/x.js', 'node:internal/timers', 'data:text/plain,hi', 'vscode://x', 'javascript:alert(1)']) {
      assert.equal(resolveFrame(bad, 1, 1, dir).ok, false, bad);
    }
    assert.equal(resolveFrame('missing.js', 1, 1, dir).ok, false);
    assert.equal(resolveFrame('app.js', 1, 1, undefined).ok, false, 'relative without a cwd');
    assert.equal(resolveFrame(dir, 1, 1, undefined).ok, false, 'a directory is not a file');
    assert.equal(resolveFrame(42, 1, 1, dir).ok, false);
    assert.equal(resolveFrame('a\0b', 1, 1, dir).ok, false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ---- results in the editor: problems (diagnostics), CodeLens anchors, the short headline

import { findAnchors, problemsOf, resultPhrase, stackFrames } from '../../src/extension/results';
import { headline, fmtShort } from '../../src/shared/headline';
import type { Trace } from '../../src/shared/trace';
import { formatDuration } from '../../src/shared/duration';
import { EXAMPLE_SOURCE } from '../../src/extension/example';

const readTrace = (p: string): Trace => JSON.parse(fs.readFileSync(path.join(__dirname, '..', p), 'utf8')) as Trace;
const everywhere = () => true;

test('problemsOf: a leak in analysis.leaks is a problem at its site: how long it lived, what it did, the fix', () => {
  // The walkthrough's example (src/extension/example.ts) run with --grace 3s (scripts/regen-fixtures.ts).
  const t = readTrace('webview/traces/example-leak.shutdown-trace.json');
  const file = `${t.meta.cwd}/server.js`;
  const source = EXAMPLE_SOURCE.split('\n');
  const at = (needle: string) => {
    const line = source.findIndex((l) => l.includes(needle));
    assert.ok(line >= 0, needle);
    return { line: line + 1, col: source[line].indexOf(needle) + 1 };
  };
  const ps = problemsOf(t, everywhere);
  assert.equal(ps.length, 1);
  const p = ps[0];
  assert.deepEqual({ file: p.file, line: p.line, col: p.col, kind: p.kind, severity: p.severity, leak: p.leak }, { file, ...at('setInterval('), kind: 'leak', severity: 'error', leak: 0 });
  // Alive from its creation to the SIGKILLed exit.
  const created = t.analysis!.leaks![0].handles[0].createdAt!;
  const exit = t.events.find((e) => e.kind === 'process-exit')!;
  assert.equal(
    p.message,
    `Leaked setInterval 1000 ms, alive ${formatDuration(exit.t - created, 2)}: kept the process alive 3 s past SIGTERM; SIGKILLed at the deadline. Fix: clearInterval() it on shutdown.`,
  );
  // The listener's site is the call: `on(` of process.on('SIGTERM', async () => …).
  assert.deepEqual(p.related, [{ file, ...at("on('SIGTERM', async"), message: 'the SIGTERM listener that ran' }]);
  // only files the editor owns get one
  assert.deepEqual(
    problemsOf(t, (f) => f !== file),
    [],
  );
  // the same definition of a leak as the analysis: none listed, none shown
  assert.deepEqual(problemsOf({ ...t, analysis: { ...t.analysis!, leaks: [] } }, everywhere), []);
});

test('problemsOf: process.exit() that masked a leak, at the exit call; the leak itself says process.exit() hid it', () => {
  const t = readTrace('electron/traces/exit-over-leak.shutdown-trace.json');
  const ps = problemsOf(t, everywhere);
  const exit = ps.find((p) => p.kind === 'masked-exit');
  assert.ok(exit, JSON.stringify(ps));
  assert.equal(exit.line, 8);
  assert.match(exit.message, /^process\.exit\(0\) ended the process over 1 leak \(setInterval 500 ms at exit-over-leak\.js:5:16\): without it it would have kept the process alive until SIGKILL\./);
  assert.deepEqual(
    exit.related.map((r) => [r.line, r.message]),
    [[5, 'leaked setInterval 500 ms']],
  );
  const leak = ps.find((p) => p.kind === 'leak');
  assert.ok(leak && leak.line === 5 && leak.severity === 'warning');
  assert.match(leak.message, /would have kept the process alive until SIGKILL; process\.exit\(\) hid it/);
});

test('problemsOf: a listener that threw, at the throw (from the stack), related to where it was added', () => {
  const t = readTrace('electron/traces/throw-sync-handler.shutdown-trace.json');
  const ps = problemsOf(t, everywhere);
  assert.equal(ps.length, 1, JSON.stringify(ps));
  assert.equal(ps[0].kind, 'listener-threw');
  assert.deepEqual([ps[0].line, ps[0].col], [6, 9]);
  assert.equal(ps[0].message, 'The SIGTERM listener onTerm threw during shutdown: Error: boom in the SIGTERM handler. The process exited with code 1; the cleanup after the error never ran.');
  assert.deepEqual(
    ps[0].related.map((r) => [r.line, r.message]),
    [[5, 'the listener was added here']],
  );
  assert.deepEqual(stackFrames('Error: x\n    at onTerm (/app/a.js:6:9)\n    at process.emit (node:events:524:28)\n    at /app/node_modules/lib/i.js:1:2'), [
    { fn: 'onTerm', file: '/app/a.js', line: 6, col: 9 },
  ]);
});

test('resultPhrase and headline: what a CodeLens and the panel say', () => {
  assert.deepEqual(resultPhrase(readTrace('webview/traces/example-leak.shutdown-trace.json')), { text: 'killed at 3 s deadline: 1 leak', tone: 'bad' });
  assert.deepEqual(resultPhrase(readTrace('electron/traces/exit-over-leak.shutdown-trace.json')), { text: 'process.exit() over 1 leak', tone: 'warn' });
  assert.deepEqual(resultPhrase(readTrace('electron/traces/throw-sync-handler.shutdown-trace.json')), { text: 'crashed during shutdown (exit 1)', tone: 'bad' });
  const graceful = { exitReason: 'graceful', signalToExitMs: 347.2, graceMs: 30000, findings: [], leaks: [], leakedHandleCount: 0, phases: [], verdict: '' } as unknown as Trace['analysis'];
  assert.deepEqual(headline(graceful), { text: 'Graceful in 347 ms', short: 'graceful in 347 ms', tone: 'ok' });
  assert.equal(headline({ ...graceful!, exitReason: 'killed-by-signal', findings: [{ code: 'no-handler' }] } as never, { signal: 'SIGINT' }).text, 'No SIGINT handler: died at once');
  assert.equal(headline(graceful, { complete: false }).short, 'stopped early');
  assert.deepEqual([fmtShort(0.4), fmtShort(999.6), fmtShort(3000), fmtShort(2500), fmtShort(1528), fmtShort(45_200)], ['0.4 ms', '1 s', '3 s', '2.5 s', '1.5 s', '45 s']);
});

test('findAnchors: signal listeners on process and the phase channel, not commented-out code', () => {
  const src = [
    "process.on('SIGTERM', stop);",
    'process . once ( "SIGINT" , stop)',
    "// process.on('SIGTERM', old);",
    "/* process.on('SIGHUP', x);",
    "   process.on('SIGHUP', y); */",
    "emitter.on('SIGTERM', z);",
    "process.on('exit', w);",
    "const phase = dc.tracingChannel('shutdown-trace:phase');",
    'process.addListener(`SIGUSR2`, reload); // nodemon',
  ].join('\n');
  assert.deepEqual(findAnchors(src), [
    { line: 0, kind: 'signal', what: 'SIGTERM' },
    { line: 1, kind: 'signal', what: 'SIGINT' },
    { line: 7, kind: 'phase', what: 'shutdown-trace:phase' },
    { line: 8, kind: 'signal', what: 'SIGUSR2' },
  ]);
});

test('package.json: the walkthrough, its media, the new settings and an editor-title icon that is not a stop sign', () => {
  const c = pkg.contributes as unknown as {
    walkthroughs: { id: string; steps: { media: { markdown?: string } }[] }[];
    commands: { command: string; icon?: string }[];
    configuration: { properties: Record<string, { default: unknown }> };
  };
  const w = c.walkthroughs.find((x) => x.id === 'gettingStarted');
  assert.ok(w && w.steps.length >= 3);
  for (const s of w.steps) assert.ok(s.media.markdown && fs.existsSync(path.join(__dirname, '..', '..', s.media.markdown)), `${s.media.markdown} exists`);
  assert.equal(c.configuration.properties['shutdownTrace.diagnostics.enabled'].default, true);
  assert.equal(c.configuration.properties['shutdownTrace.codeLens.enabled'].default, true);
  const icon = c.commands.find((x) => x.command === 'shutdownTrace.runFile')?.icon;
  assert.ok(icon && !/stop/.test(icon), icon);
});
