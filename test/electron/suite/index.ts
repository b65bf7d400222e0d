/**
 * The extension-host test suite: runs inside a real VS Code (via @vscode/test-electron, see
 * ../run.mjs). Same path as the code-server e2e test: run a fixture, check the trace, export it.
 * No mocha: a minimal sequential runner with node:assert; the last line is "N passed, N failed".
 *
 * Set SHUTDOWN_TRACE_TEST_RESULTS to a file path to also get the results as JSON there.
 */
import * as vscode from 'vscode';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseTrace } from '../../../src/shared/trace-file';
import type { Trace } from '../../../src/shared/trace';
import type { Controller } from '../../../src/extension/controller';
import type { TracesFolderView } from '../../../src/extension/tracesView';
import { WORST_FIRST } from '../../../src/core/collect-dir';

const EXT_ID = 'shutdown-trace.shutdown-trace';
const CONTRACT_COMMANDS: Record<string, string> = {
  'shutdownTrace.runFile': 'Run with shutdown trace',
  'shutdownTrace.runScript': 'Run npm script with shutdown trace…',
  'shutdownTrace.runLaunchConfig': 'Run launch configuration with shutdown trace…',
  'shutdownTrace.runCommand': 'Run command line with shutdown trace…',
  'shutdownTrace.rerun': 'Re-run last shutdown trace',
  'shutdownTrace.sendSignal': 'Send signal…',
  'shutdownTrace.kill': 'Kill traced service',
  'shutdownTrace.stop': 'Stop tracing',
  'shutdownTrace.export': 'Export trace…',
  'shutdownTrace.copySummary': 'Copy bug-report summary',
  'shutdownTrace.open': 'Open trace…',
};
/** Fast runs: signal right after listening, short grace, output to the channel (no terminal noise). */
const FAST = { signalAfterMs: 100, gracePeriodMs: 3000, stallMs: 300, output: 'outputChannel' };
const SECRET = 'sekret-value-4f9a21c7';

type TestFn = () => Promise<void>;
const tests: { name: string; fn: TestFn }[] = [];
function test(name: string, fn: TestFn): void {
  tests.push({ name, fn });
}

function ws(...p: string[]): string {
  const f = vscode.workspace.workspaceFolders?.[0];
  assert.ok(f, 'the test workspace folder is open');
  return path.join(f.uri.fsPath, ...p);
}

let controller: Controller;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shutdown-trace-electron-'));

async function cmd<T>(id: string, ...args: unknown[]): Promise<T> {
  return (await vscode.commands.executeCommand(id, ...args)) as T;
}

function kinds(t: Trace): Set<string> {
  return new Set(t.events.map((e) => e.kind));
}

function mainExit(t: Trace) {
  return t.processes.find((p) => p.isMain)?.exit;
}

async function waitFor(what: string, ok: () => boolean, ms = 15000): Promise<void> {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function waitLive(): Promise<void> {
  await waitFor('a live run', () => !!controller.currentSession?.live && !!controller.currentSession.handle);
}

// ---------------------------------------------------------------------------------------------

test('activates and registers every command of the UI contract, with its title', async () => {
  const ext = vscode.extensions.getExtension<{ controller: Controller }>(EXT_ID);
  assert.ok(ext, `extension ${EXT_ID} is installed`);
  const api = await ext.activate();
  controller = api.controller;
  const all = new Set(await vscode.commands.getCommands(true));
  const contributed = (ext.packageJSON.contributes.commands as { command: string; title: string }[]) ?? [];
  for (const [id, title] of Object.entries(CONTRACT_COMMANDS)) {
    assert.ok(all.has(id), `${id} is registered`);
    assert.equal(contributed.find((c) => c.command === id)?.title, title, `${id} has the contract title`);
  }
});

test('runFile traces a graceful shutdown', async () => {
  const trace = await cmd<Trace>('shutdownTrace.runFile', vscode.Uri.file(ws('graceful.js')), FAST);
  assert.ok(trace, 'the command resolves with the trace');
  assert.equal(trace.format, 'shutdown-trace');
  assert.ok(trace.meta.complete, 'the trace is complete');
  assert.ok(kinds(trace).has('signal-sent'), 'a signal was sent');
  assert.ok(kinds(trace).has('listen'), 'the preload saw the server listen');
  assert.deepEqual(mainExit(trace), { code: 0, signal: null });
  assert.equal(trace.analysis?.exitReason, 'graceful');
  assert.ok(
    trace.output.some((l) => l.text.includes('shutting down on SIGTERM')),
    'output was captured',
  );
});

test('the run was saved and becomes the last trace', async () => {
  const s = controller.currentSession;
  assert.ok(s?.tracePath && fs.existsSync(s.tracePath), 'the trace file exists');
  assert.ok(s.tracePath.endsWith('.shutdown-trace.json'));
  parseTrace(fs.readFileSync(s.tracePath, 'utf8'));
  assert.equal(controller.store.lastTracePath(), s.tracePath);
});

test('runFile finds the leaked interval and where it was created', async () => {
  const trace = await cmd<Trace>('shutdownTrace.runFile', { file: ws('leaky.js'), ...FAST });
  assert.ok(trace);
  const a = trace.analysis;
  assert.ok(a, 'analysis present');
  assert.ok(a.leakedHandleCount >= 1, `a leaked handle is reported (verdict: ${a.verdict})`);
  const handles = a.findings.flatMap((f) => f.handles ?? []);
  const interval = handles.find((h) => h.type === 'interval');
  assert.ok(interval, 'the interval is among the leaked handles');
  const frames = interval.site?.frames ?? [];
  const user = interval.site && interval.site.user >= 0 ? frames[interval.site.user] : undefined;
  assert.ok(user && user.file.endsWith('leaky.js') && user.line === 5, `creation site is leaky.js:5 (got ${user ? `${user.file}:${user.line}` : 'none'})`);
});

test('runFile runs TypeScript through the workspace tsx; the leak site is the .ts line', async () => {
  const trace = await cmd<Trace>('shutdownTrace.runFile', vscode.Uri.file(ws('leaky.ts')), FAST);
  assert.ok(trace, 'resolves with a trace');
  assert.match(trace.meta.command[0], /node_modules[\\/]\.bin[\\/]tsx$/, 'the local tsx is used, not npx');
  const interval = (trace.analysis?.findings ?? []).flatMap((f) => f.handles ?? []).find((h) => h.type === 'interval');
  const site = interval?.site;
  const user = site && site.user >= 0 ? site.frames[site.user] : undefined;
  assert.ok(user && user.file.endsWith('leaky.ts') && user.line === 7, `creation site is leaky.ts:7 (got ${user ? `${user.file}:${user.line}` : 'none'}; verdict: ${trace.analysis?.verdict})`);
});

test('results in the editor: the leak is a diagnostic at its line; Show in timeline selects it; a CodeLens shows the result; the setting turns diagnostics off', async () => {
  const uri = vscode.Uri.file(ws('leaky.js'));
  await cmd<Trace>('shutdownTrace.runFile', uri, FAST);
  const ours = () => vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'Shutdown Trace');
  await waitFor('the leak diagnostic', () => ours().length > 0);
  const [d] = ours();
  assert.equal(
    ours().length,
    1,
    ours()
      .map((x) => x.message)
      .join(' | '),
  );
  assert.equal(d.range.start.line, 4, 'line 5 (0-based 4)');
  assert.equal(d.severity, vscode.DiagnosticSeverity.Error);
  assert.match(d.message, /^Leaked setInterval 1000 ms, alive [\d.]+ s: kept the process alive 3(\.\d)? s past SIGTERM; SIGKILLed at the deadline\. Fix: clearInterval\(\) it on shutdown\.$/);
  await vscode.workspace.openTextDocument(uri); // the provider commands need the document loaded
  // (The quick fix itself, Ctrl+. in the editor, is exercised by the code-server e2e test.)
  const before = controller.timelineView?.stats.posted.reveal ?? 0;
  await cmd('shutdownTrace.showInTimeline', { trace: controller.currentSession?.tracePath, leak: 0 });
  await waitFor('the timeline to be asked to select the leak', () => (controller.timelineView?.stats.posted.reveal ?? 0) > before);
  const lenses =
    (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri).then(undefined, (e: Error) => {
      throw new Error(`vscode.executeCodeLensProvider: ${e.message}`);
    })) ?? [];
  const titles = lenses.map((l) => l.command?.title ?? '');
  assert.ok(
    titles.some((t) => /Run with shutdown trace$/.test(t)),
    titles.join(' | '),
  );
  assert.ok(
    titles.some((t) => /killed at 3 s deadline: 1 leak$/.test(t)),
    titles.join(' | '),
  );
  // the setting turns them off
  const cfg = vscode.workspace.getConfiguration('shutdownTrace');
  await cfg.update('diagnostics.enabled', false, vscode.ConfigurationTarget.Workspace);
  try {
    await waitFor('the diagnostics to go', () => ours().length === 0);
  } finally {
    await cfg.update('diagnostics.enabled', undefined, vscode.ConfigurationTarget.Workspace);
  }
});

test('the check budgets in the Testing view: files with a signal listener are suites; leaky.js breaks its budgets, graceful.js keeps them', async () => {
  const budgets = controller.budgets;
  assert.ok(budgets, 'the test controller exists');
  await budgets.ctrl.resolveHandler?.(undefined);
  const suites: string[] = [];
  budgets.ctrl.items.forEach((i) => suites.push(i.label));
  for (const f of ['leaky.js', 'graceful.js', 'leaky.ts']) assert.ok(suites.includes(f), `${f} is a suite (${suites.join(', ')})`);
  const leaky = budgets.fileItem(vscode.Uri.file(ws('leaky.js')));
  const ids: string[] = [];
  leaky.children.forEach((c) => ids.push(c.id.slice(c.id.lastIndexOf('#') + 1)));
  assert.deepEqual(ids, ['graceful-exit', 'shutdown-time', 'leaked-handles', 'orphans', 'lost-requests']);
  await budgets.run(new vscode.TestRunRequest([leaky]), undefined, FAST);
  const status = (file: string) => Object.fromEntries((budgets.lastResults.get(ws(file)) ?? []).map((r) => [r.id, r.status]));
  assert.deepEqual(status('leaky.js'), { 'graceful-exit': 'fail', 'shutdown-time': 'fail', 'leaked-handles': 'fail', orphans: 'pass', 'lost-requests': 'skip' });
  // one budget runs its file
  let gracefulBudget: vscode.TestItem | undefined;
  budgets.fileItem(vscode.Uri.file(ws('graceful.js'))).children.forEach((c) => {
    if (c.id.endsWith('#leaked-handles')) gracefulBudget = c;
  });
  await budgets.run(new vscode.TestRunRequest([gracefulBudget!]), undefined, FAST);
  assert.deepEqual(status('graceful.js'), { 'graceful-exit': 'pass', 'shutdown-time': 'pass', 'leaked-handles': 'pass', orphans: 'pass', 'lost-requests': 'skip' });
});

test('export writes the native format and Chrome Trace Event JSON, both redacted', async () => {
  const trace = await cmd<Trace>('shutdownTrace.runFile', { file: ws('graceful.js'), ...FAST, env: { FIXTURE_SECRET: SECRET } });
  assert.ok(
    trace?.output.some((l) => l.text.includes(SECRET)),
    'the live trace holds the secret (it is redacted on export)',
  );
  const nativePath = path.join(tmp, 'graceful.shutdown-trace.json');
  const written = await cmd<string>('shutdownTrace.export', { path: nativePath });
  assert.equal(written, nativePath);
  const text = fs.readFileSync(nativePath, 'utf8');
  assert.ok(!text.includes(SECRET), 'the secret is not in the export');
  const parsed = parseTrace(text);
  assert.equal(parsed.analysis?.exitReason, 'graceful');

  const mdPath = path.join(tmp, 'graceful.md');
  assert.equal(await cmd<string>('shutdownTrace.export', { path: mdPath }), mdPath);
  const md = fs.readFileSync(mdPath, 'utf8');
  assert.match(md, /Graceful/, 'the Markdown summary');
  assert.ok(!md.includes(SECRET) && !md.trimStart().startsWith('{'), 'Markdown, redacted');

  const chromePath = path.join(tmp, 'graceful.json');
  await cmd<string>('shutdownTrace.export', { path: chromePath });
  const chrome = JSON.parse(fs.readFileSync(chromePath, 'utf8')) as { traceEvents?: unknown[] };
  assert.ok(Array.isArray(chrome.traceEvents) && chrome.traceEvents.length > 0, 'Chrome export has traceEvents');
  assert.ok(!JSON.stringify(chrome).includes(SECRET));
});

test('copySummary puts a Markdown bug report on the clipboard', async () => {
  const md = await cmd<string>('shutdownTrace.copySummary');
  assert.ok(typeof md === 'string' && md.length > 50, 'returns the summary');
  assert.equal(await vscode.env.clipboard.readText(), md);
  assert.ok(!md.includes(SECRET), 'redacted');
});

test('runScript runs a package.json script through the package manager', async () => {
  const trace = await cmd<Trace>('shutdownTrace.runScript', { script: 'start', cwd: ws(), ...FAST, delivery: 'group' });
  assert.ok(trace, 'resolves with a trace');
  assert.match(trace.meta.command.join(' '), /\bnpm\b.*\brun\b.*\bstart\b/);
  assert.ok(
    trace.processes.some((p) => p.traced && /graceful\.js/.test(p.command)),
    'the node service under npm was traced',
  );
});

test('runLaunchConfig builds the command, args and env from launch.json', async () => {
  const trace = await cmd<Trace>('shutdownTrace.runLaunchConfig', { name: 'Launch graceful', ...FAST });
  assert.ok(trace, 'resolves with a trace');
  assert.ok(
    trace.meta.command.some((a) => a.endsWith('graceful.js')),
    'program is on the command line',
  );
  assert.ok(
    trace.output.some((l) => l.text.includes('FROM_LAUNCH=yes args=--port,0')),
    'env and args reached the program',
  );
});

test('runCommand runs a command line; a missing command resolves undefined', async () => {
  const trace = await cmd<Trace>('shutdownTrace.runCommand', { commandLine: 'node graceful.js', ...FAST });
  assert.ok(trace && mainExit(trace)?.code === 0, 'the command line ran');
  const none = await cmd<Trace | undefined>('shutdownTrace.runCommand', { commandLine: 'shutdown-trace-no-such-command-xyz', ...FAST });
  assert.equal(none, undefined, 'a launch error resolves undefined (and shows one error message)');
});

test('clear errors: a folder without a package.json, and a command that does not exist, each one message', async () => {
  const before = controller.recentErrors.length;
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'st-nopkg-'));
  const r = await cmd<Trace | undefined>('shutdownTrace.runScript', { script: 'start', packageJson: empty, ...FAST });
  assert.equal(r, undefined);
  await cmd('shutdownTrace.runCommand', { commandLine: 'shutdown-trace-no-such-command-xyz', ...FAST });
  assert.deepEqual(controller.recentErrors.slice(before), [
    `There is no package.json in ${empty}, so there are no npm scripts to run there.`,
    'Command not found: shutdown-trace-no-such-command-xyz (not on PATH). Check the spelling, or install it.',
  ]);
});

// ---- issue #5: Kubernetes termination as a run option

function ev<K extends Trace['events'][number]['kind']>(t: Trace, kind: K) {
  return t.events.filter((e): e is Extract<Trace['events'][number], { kind: K }> => e.kind === kind);
}

test("runFile with Kubernetes termination options: preStop, then the stop signal, SIGKILL on the kubelet's schedule", async () => {
  const trace = await cmd<Trace>('shutdownTrace.runFile', {
    file: ws('graceful.js'),
    ...FAST,
    delivery: 'group',
    secondSignal: 'SIGINT',
    k8sEnabled: true,
    k8sGraceSeconds: 3,
    k8sPreStop: { sleep: 0.5 },
    loadRate: 20,
  });
  assert.ok(trace, 'resolves with a trace');
  assert.deepEqual(trace.meta.k8s && { graceSeconds: trace.meta.k8s.graceSeconds, stopSignal: trace.meta.k8s.stopSignal, preStop: trace.meta.k8s.preStop }, {
    graceSeconds: 3,
    stopSignal: 'SIGTERM',
    preStop: { action: 'sleep', ms: 500 },
  });
  assert.deepEqual([trace.meta.plan.signal, trace.meta.plan.graceMs, trace.meta.plan.delivery, trace.meta.plan.second], ['SIGTERM', 3000, 'main', undefined], "the plan is the kubelet's");
  const [start] = ev(trace, 'termination-start');
  const [ps] = ev(trace, 'prestop-start');
  const [pe] = ev(trace, 'prestop-end');
  const sent = ev(trace, 'signal-sent');
  assert.ok(start && ps && pe, `termination-start, prestop-start and prestop-end are in the trace (kinds: ${[...kinds(trace)].join(', ')})`);
  assert.deepEqual([start.graceSeconds, start.stopSignal, start.preStop], [3, 'SIGTERM', 'sleep 0.5 s']);
  assert.deepEqual([ps.action, pe.ok, pe.overran], ['sleep', true, false]);
  assert.ok(pe.durationMs >= 450 && pe.durationMs < 2000, `preStop slept ~500 ms (${pe.durationMs} ms)`);
  assert.equal(sent.length, 1, 'one stop signal, no second signal');
  assert.deepEqual([sent[0].signal, sent[0].delivery], ['SIGTERM', 'main']);
  assert.ok(start.t <= ps.t && ps.t <= pe.t && pe.t <= sent[0].t, 'termination, preStop, then the signal');
  assert.ok(trace.meta.k8s?.schedule, 'the kubelet schedule is recorded');
  const sched = trace.meta.k8s!.schedule!;
  // 0.5 s of preStop counts as 0 whole seconds: the signal gets all 3 s, so SIGKILL is due 3.5 s after termination began.
  assert.deepEqual([sched.preStopSeconds, sched.remainingSeconds, sched.extended, sched.overran], [0, 3, false, false]);
  assert.equal(sched.killAtMs, sched.signalAtMs + 3000);
  assert.deepEqual(mainExit(trace), { code: 0, signal: null });
  assert.equal(trace.analysis?.k8s?.fate, 'graceful');
  assert.match(trace.analysis?.verdict ?? '', /^A real pod would have stopped gracefully/);
  assert.ok(
    trace.analysis?.findings.some((f) => f.code === 'k8s-termination'),
    'k8s-termination finding',
  );
  assert.ok(trace.analysis?.requests && trace.analysis.requests.all.total > 0, 'traffic ran alongside');
});

test('Kubernetes termination from the shutdownTrace.k8s.* settings; the summary has its section', async () => {
  const cfg = vscode.workspace.getConfiguration('shutdownTrace');
  const set = async (k: string, v: unknown) => cfg.update(k, v, vscode.ConfigurationTarget.Workspace);
  await set('k8s.enabled', true);
  await set('k8s.terminationGracePeriodSeconds', 4);
  await set('k8s.stopSignal', 'SIGINT');
  await set('k8s.preStop', { exec: 'echo draining' });
  try {
    const trace = await cmd<Trace>('shutdownTrace.runFile', { file: ws('graceful.js'), ...FAST });
    assert.ok(trace, 'resolves with a trace');
    assert.deepEqual([trace.meta.k8s?.graceSeconds, trace.meta.k8s?.stopSignal, trace.meta.k8s?.preStop], [4, 'SIGINT', { action: 'exec', command: 'echo draining' }]);
    const [pe] = ev(trace, 'prestop-end');
    assert.ok(pe, 'prestop-end');
    assert.deepEqual([pe.ok, pe.exitCode, pe.output?.trim()], [true, 0, 'draining']);
    assert.equal(ev(trace, 'signal-sent')[0]?.signal, 'SIGINT', 'the stop signal from the setting');
    assert.ok(trace.output.some((l) => l.text.includes('shutting down on SIGINT')));
    // The saved file is a valid trace.
    const saved = controller.currentSession?.tracePath;
    assert.ok(saved && fs.existsSync(saved));
    assert.equal(parseTrace(fs.readFileSync(saved, 'utf8')).meta.k8s?.graceSeconds, 4);
    const md = await cmd<string>('shutdownTrace.copySummary');
    assert.ok(md.includes('### Kubernetes termination'), 'the summary has the Kubernetes section');
    assert.ok(md.includes('| terminationGracePeriodSeconds | 4 s |'));
    assert.ok(md.includes('| preStop | exec `echo draining`: ran '));
  } finally {
    for (const k of ['k8s.enabled', 'k8s.terminationGracePeriodSeconds', 'k8s.stopSignal', 'k8s.preStop']) await set(k, undefined);
  }
  const plain = await cmd<Trace>('shutdownTrace.runFile', { file: ws('graceful.js'), ...FAST });
  assert.equal(plain.meta.k8s, undefined, 'off again once the setting is removed');
  assert.equal(ev(plain, 'termination-start').length, 0);
});

test('"Run with options…" has a Kubernetes step (7 of 7) that returns the k8s options', async () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const picked = controller.pickOptions(undefined);
  // Steps 1–6: keep what the settings say.
  for (let i = 0; i < 6; i++) {
    await sleep(300);
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
  }
  // Step 7: "Off" is active (the setting); the next item is "As a Kubernetes pod, no preStop".
  await sleep(300);
  await vscode.commands.executeCommand('workbench.action.quickOpenSelectNext');
  await sleep(100);
  await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
  const o = await Promise.race([picked, sleep(10_000).then(() => 'timeout' as const)]);
  assert.notEqual(o, 'timeout', 'the pickers finished');
  assert.ok(o && typeof o === 'object', `options were picked (got ${JSON.stringify(o)})`);
  assert.deepEqual(
    { signal: o.signal, gracePeriodMs: o.gracePeriodMs, k8sEnabled: o.k8sEnabled, k8sGraceSeconds: o.k8sGraceSeconds, k8sStopSignal: o.k8sStopSignal, k8sPreStop: o.k8sPreStop },
    { signal: 'SIGTERM', gracePeriodMs: 30000, k8sEnabled: true, k8sGraceSeconds: 30, k8sStopSignal: 'SIGTERM', k8sPreStop: {} },
  );
});

test('rerun repeats the last run request', async () => {
  await cmd<Trace>('shutdownTrace.runFile', { file: ws('graceful.js'), ...FAST });
  const again = await cmd<Trace>('shutdownTrace.rerun', FAST);
  assert.ok(again && again.meta.command.some((a) => a.endsWith('graceful.js')), 're-ran graceful.js');
});

test('sendSignal with signalWhen "never": the user decides when', async () => {
  const run = cmd<Trace>('shutdownTrace.runFile', { file: ws('graceful.js'), ...FAST, signalWhen: 'never' });
  await waitLive();
  await waitFor('the listen event', () => !!controller.currentSession?.trace?.events.some((e) => e.kind === 'listen'));
  await cmd('shutdownTrace.sendSignal', { signal: 'SIGINT', delivery: 'main' });
  const trace = await run;
  const sent = trace.events.find((e) => e.kind === 'signal-sent');
  assert.ok(sent && sent.kind === 'signal-sent' && sent.signal === 'SIGINT' && sent.delivery === 'main', 'SIGINT was sent to main');
  assert.equal(mainExit(trace)?.code, 0);
});

test('stop keeps the trace, marked incomplete', async () => {
  const run = cmd<Trace>('shutdownTrace.runFile', { file: ws('leaky.js'), ...FAST, signalWhen: 'never' });
  await waitLive();
  const stopped = await cmd<Trace>('shutdownTrace.stop');
  assert.ok(stopped, 'stop resolves with the trace');
  assert.equal(stopped.meta.complete, false);
  assert.match(stopped.meta.incompleteReason ?? '', /stopped by user/);
  const final = await run;
  assert.equal(final.meta.complete, false);
});

test('kill ends the service at once', async () => {
  const run = cmd<Trace>('shutdownTrace.runFile', { file: ws('leaky.js'), ...FAST, signalWhen: 'never' });
  await waitLive();
  await waitFor('the listen event', () => !!controller.currentSession?.trace?.events.some((e) => e.kind === 'listen'));
  await cmd('shutdownTrace.kill');
  const trace = await run;
  assert.equal(mainExit(trace)?.signal, 'SIGKILL');
});

function viewFor(file: string) {
  return controller.openViews.find((v) => {
    const c = v.current;
    return v.role === 'editor' && c.kind === 'trace' && c.file?.fsPath === file;
  });
}

test('a saved trace opens in the read-only trace viewer by default, and its webview gets the trace', async () => {
  const file = path.join(tmp, 'graceful.shutdown-trace.json');
  await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(file));
  await waitFor('the custom editor tab', () => {
    const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    return input instanceof vscode.TabInputCustom && input.viewType === 'shutdownTrace.traceViewer';
  });
  await waitFor('the viewer webview to say ready and get the trace', () => {
    const v = viewFor(file);
    return !!v && v.stats.readies > 0 && (v.stats.posted.trace ?? 0) > 0;
  });
});

test('a folder of traces outside the workspace: listed worst first, a spool collected in place, a new trace seen by the watcher, an item opens the viewer', async () => {
  const ext = vscode.extensions.getExtension<{ traces: TracesFolderView }>(EXT_ID)!;
  const traces = ext.exports.traces;
  // The extension's folder is the repository (extensionDevelopmentPath): its checked-in traces.
  const EXT_ROOT = ext.extensionPath;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-folder-host-'));
  const src = path.join(EXT_ROOT, 'test', 'electron', 'traces');
  fs.copyFileSync(path.join(src, 'exit-over-leak.shutdown-trace.json'), path.join(dir, 'exit-over-leak.shutdown-trace.json'));
  fs.mkdirSync(path.join(dir, 'pod'));
  fs.copyFileSync(path.join(src, 'throw-sync-handler.shutdown-trace.json'), path.join(dir, 'pod', 'throw-sync-handler.shutdown-trace.json'));
  fs.writeFileSync(path.join(dir, 'cut.shutdown-trace.json'), '{"format":"shutdown-trace"');
  const header = {
    type: 'spool',
    format: 'shutdown-trace-spool',
    version: 1,
    hello: { type: 'hello', protocol: 1, pid: 4242, ppid: 1, argv: ['node', 'server.js'], node: 'v20.0.0', cwd: dir, t: 1, isWorker: false },
    host: 'node-3',
    sid: 7,
    platform: 'linux-x64',
    wallMs: Date.now() - 5000,
    mono: 1,
    env: { POD_NAME: 'api-1', POD_NAMESPACE: 'shop' },
    maxBytes: 8388608,
    counters: { dropped: 0, ioErrors: 0 },
  };
  fs.writeFileSync(path.join(dir, 'pod', 'node-3-4242-1.spool.ndjson'), JSON.stringify(header) + '\n');

  const scan = await cmd<{ traces: { exitReason: string }[]; spools: unknown[]; bad: { problem: string }[] }>('shutdownTrace.openTracesFolder', dir);
  assert.deepEqual(
    scan.traces.map((t) => t.exitReason),
    ['crashed', 'forced-exit'],
    'worst first',
  );
  assert.equal(scan.spools.length, 1);
  assert.match(scan.bad[0]?.problem ?? '', /^is truncated/);
  const roots = traces.getChildren();
  const labels = roots.map((n) => String(traces.getTreeItem(n).label));
  assert.deepEqual(labels, ['Crashed (1)', 'Forced exit (process.exit) (1)', 'Not collected yet (1 spool)', 'Could not be read (1)']);
  const [crashed] = traces.getChildren(roots[0]);
  const item = traces.getTreeItem(crashed);
  assert.equal(item.label, 'node throw-sync-handler.js · pid 4783');
  assert.match(String(item.description), /^crashed during shutdown \(exit 1\) · signal → exit 14 ms · 0 leaked handles · \d{4}-/);

  // Collect, as the CLI does, in this process: the spool becomes a trace beside it and is no longer offered.
  const collected = await cmd<{ written: string[] }>('shutdownTrace.traces.collect', { grace: '2s' });
  assert.equal(collected.written.length, 1);
  assert.ok(fs.existsSync(collected.written[0]) && collected.written[0].endsWith('.collected.shutdown-trace.json'));
  assert.equal(traces.current?.spools.length, 0);
  assert.equal(traces.current?.traces.length, 3);

  // The watcher sees a trace copied in (the folder is outside the workspace).
  fs.copyFileSync(path.join(EXT_ROOT, 'test', 'unit', 'traces', 'leaked-interval.shutdown-trace.json'), path.join(dir, 'leaked-interval.shutdown-trace.json'));
  await waitFor('the watcher to list the new trace', () => (traces.current?.traces.length ?? 0) === 4, 15000);
  const reasons = traces.current!.traces.map((t) => t.exitReason);
  assert.ok(traces.current!.traces.some((t) => t.exitReason === 'killed-at-deadline' && t.file.endsWith('leaked-interval.shutdown-trace.json')));
  assert.deepEqual(
    reasons,
    [...reasons].sort((a, b) => WORST_FIRST.indexOf(a) - WORST_FIRST.indexOf(b)),
    `worst first: ${reasons.join(', ')}`,
  );

  // The item's command opens the trace viewer on its file.
  assert.ok(item.command, 'a trace item opens something when clicked');
  await vscode.commands.executeCommand(item.command.command, ...(item.command.arguments ?? []));
  const file = path.join(dir, 'pod', 'throw-sync-handler.shutdown-trace.json');
  await waitFor('the viewer on the clicked trace', () => !!viewFor(file));
  // The context menu: Copy path, and Open as text (the JSON itself, e.g. to see why a file is unreadable).
  assert.equal(await cmd<string>('shutdownTrace.traces.copyPath', crashed), file);
  assert.equal(await vscode.env.clipboard.readText(), file);
  const bad = traces.getChildren(roots[3])[0];
  await cmd('shutdownTrace.traces.openAsText', bad);
  await waitFor('the unreadable file as text', () => vscode.window.activeTextEditor?.document.uri.fsPath === path.join(dir, 'cut.shutdown-trace.json'));
  await cmd('shutdownTrace.traces.close');
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a corrupt trace opens in the viewer with the error posted to the panel, not a blank', async () => {
  await cmd('shutdownTrace.open', vscode.Uri.file(ws('broken.shutdown-trace.json')));
  await waitFor('the custom editor tab', () => {
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
    return tab?.input instanceof vscode.TabInputCustom && tab.input.uri.fsPath.endsWith('broken.shutdown-trace.json');
  });
  await waitFor('the error to reach the webview', () =>
    controller.openViews.some((v) => v.role === 'editor' && v.current.kind === 'error' && /truncated/.test(v.current.message) && (v.stats.posted.error ?? 0) > 0),
  );
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
});

test('the timeline panel shows the last run: ready handshake, then the trace with its analysis', async () => {
  await cmd('shutdownTrace.showTimeline');
  await waitFor('the timeline tab', () =>
    vscode.window.tabGroups.all.flatMap((g) => g.tabs).some((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('shutdownTrace.timeline')),
  );
  await waitFor('the timeline webview to say ready and get the trace', () => {
    const v = controller.timelineView;
    return !!v && v.isReady && (v.stats.posted.trace ?? 0) > 0 && !!v.trace?.analysis;
  });
});

// ---------------------------------------------------------------------------------------------

export async function run(): Promise<void> {
  const results: { name: string; ok: boolean; ms: number; error?: string }[] = [];
  const log = (s: string) => console.log(s);
  for (const t of tests) {
    const t0 = Date.now();
    try {
      await Promise.race([t.fn(), new Promise((_, reject) => setTimeout(() => reject(new Error('test timed out after 60 s')), 60_000))]);
      results.push({ name: t.name, ok: true, ms: Date.now() - t0 });
      log(`ok - ${t.name} (${Date.now() - t0} ms)`);
    } catch (e) {
      const error = e instanceof Error ? (e.stack ?? e.message) : String(e);
      results.push({ name: t.name, ok: false, ms: Date.now() - t0, error });
      log(`not ok - ${t.name}\n  ${error.replace(/\n/g, '\n  ')}`);
    }
  }
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  log(`${passed} passed, ${failed} failed`);
  const out = process.env.SHUTDOWN_TRACE_TEST_RESULTS;
  if (out) fs.writeFileSync(out, JSON.stringify({ passed, failed, results }, null, 2));
  fs.rmSync(tmp, { recursive: true, force: true });
  // A runner that inspects the webview DOM afterwards asks the extension host to stay up until it is done.
  const hold = process.env.SHUTDOWN_TRACE_HOLD_UNTIL;
  if (hold) {
    for (const until = Date.now() + 60_000; Date.now() < until && !fs.existsSync(hold);) await new Promise((r) => setTimeout(r, 200));
  }
  if (failed) throw new Error(`${failed} extension test(s) failed`);
}
