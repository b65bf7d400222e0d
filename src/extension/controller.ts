/**
 * The hub: runs and the commands that act on them (start, re-run, send a signal, kill, stop),
 * one live run at a time, and the state the other rooms share. Elsewhere: the panels
 * (panels.ts), Export and the summary (exportTrace.ts), the "Run with options…" pickers
 * (runOptions.ts), a folder of traces (tracesView.ts), the editor's problems and lenses
 * (diagnostics.ts, codeLens.ts), the Testing view (testing.ts).
 */
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunHandle } from '../core/run-api';
import { startRun } from '../core/launcher';
import type { Delivery, Trace } from '../shared/trace';
import { REDACTED } from '../core/redact';
import { formatArgv, shortLabel } from './commandLine';
import { UserError, recentErrors } from './errors';
import { ChannelSink, TerminalSink, type OutputSink } from './output';
import { RunSession, type RunRequest } from './session';
import { applyOverrides, describePlan, readSettings, sanitizeOverrides, toPlan, fmtMs, type RunOverrides, type RunSettings } from './settings';
import { toLoad, describeLoad, toK8s, k8sSignalPlan, describeK8s, fromPreStop } from './settings';
import { RunStatusBar } from './statusBar';
import { readTraceFile, TraceStore, writeJson } from './storage';
import { isRunRequest } from './targets';
import { resolveVariables } from './launchConfig';
import { withAnalysis, type TraceView } from './traceView';
import { ProblemsPublisher } from './diagnostics';
import { RunResults } from './codeLens';
import { ensureExample, EXAMPLE_GRACE_MS } from './example';
import { Panels } from './panels';
import { copySummary, exportTrace } from './exportTrace';
import { pickRunOptions } from './runOptions';

const LAST_RUN_KEY = 'shutdownTrace.lastRun';

export class Controller implements vscode.Disposable {
  /** Error messages recently shown to the user (tests read these). */
  readonly recentErrors = recentErrors;

  readonly channel: vscode.OutputChannel;
  readonly store: TraceStore;
  /** Problems (diagnostics) of each target's last run. */
  readonly problems = new ProblemsPublisher();
  /** The last result per source file, for the CodeLens. */
  readonly results: RunResults;
  /** The check budgets in the Testing view (set on activation). */
  budgets?: import('./testing').BudgetTests;
  private readonly statusBar = new RunStatusBar();
  private current?: RunSession;
  private sinks = new Map<RunSession, OutputSink>();
  private lastTerminal?: { sink: TerminalSink; session: RunSession };
  /** The timeline panel and the trace editors. */
  readonly panels: Panels;

  constructor(private readonly context: vscode.ExtensionContext) {
    this.channel = vscode.window.createOutputChannel('Shutdown Trace');
    this.store = new TraceStore(context);
    this.results = new RunResults(context.workspaceState);
    this.problems.extraRoots = [this.exampleDir];
    this.panels = new Panels(this, context.extensionUri);
  }

  /** Where the walkthrough's example lives (the extension's storage, not the user's project). */
  get exampleDir(): string {
    return path.join(this.context.globalStorageUri.fsPath, 'example');
  }

  /** One target = one thing to run in one place: its next run replaces its problems. */
  static targetKey(r: RunRequest): string {
    return `${r.kind}\0${r.cwd}\0${r.argv.join('\0')}`;
  }

  /** The current (or last) run, for tests and the status bar. */
  get currentSession(): RunSession | undefined {
    return this.current;
  }

  /** The timeline panel's view and every open trace view (for tests). */
  get timelineView(): TraceView | undefined {
    return this.panels.timelineView;
  }

  get openViews(): TraceView[] {
    return this.panels.openViews;
  }

  settingsFor(folder: string | undefined): RunSettings {
    const cfg = vscode.workspace.getConfiguration('shutdownTrace', folder ? vscode.Uri.file(folder) : undefined);
    return readSettings((k) => cfg.get(k));
  }

  // ---------------------------------------------------------------- runs

  /** Starts a run; resolves with the final trace when it ends (undefined when it did not start). */
  async start(request: RunRequest, rawOverrides?: unknown): Promise<Trace | undefined> {
    if (!vscode.workspace.isTrusted) {
      throw new UserError('This workspace is in Restricted Mode. Running it with shutdown trace runs its code, so trust the workspace first ("Workspaces: Manage Workspace Trust").');
    }
    const { overrides, ignored } = sanitizeOverrides(rawOverrides);
    if (ignored.length) void vscode.window.showWarningMessage(`Shutdown Trace ignored invalid option${ignored.length > 1 ? 's' : ''}: ${ignored.join(', ')}.`);
    request = { ...request, overrides: { ...(request.overrides ?? {}), ...overrides } };

    if (this.current?.live) {
      const prev = this.current;
      const choice = await vscode.window.showWarningMessage(
        `Shutdown Trace is still tracing ${prev.request.label}.`,
        { modal: true, detail: 'Stop that run (its trace is kept, marked incomplete) and start the new one?' },
        'Stop and run',
      );
      if (choice !== 'Stop and run') return undefined;
      if (prev.live) await prev.handle?.stop('stopped to start another run').catch(() => undefined);
    }

    const settings = applyOverrides(this.settingsFor(request.folder), request.overrides ?? {});
    const cwd = this.resolveCwd(request, settings);
    const env = this.resolveEnv({ ...settings.env, ...(request.env ?? {}) }, request.folder);
    // Kubernetes termination replaces the signal, delivery, grace and second signal.
    const k8s = toK8s(settings);
    const k8sPlan = k8s ? k8sSignalPlan(toPlan(settings), k8s) : undefined;
    const plan = k8sPlan?.plan ?? toPlan(settings);
    const session = new RunSession({ ...request, cwd }, settings, plan);
    this.current = session;
    this.problems.clearTarget(Controller.targetKey(session.request));
    // The panel says "starting…" before the service has produced anything.
    const view = this.panels.ensureTimeline();
    view.panel.title = `Shutdown Trace: ${request.label}`;
    view.setSource({ kind: 'session', session });
    view.reveal(true);
    await this.context.workspaceState.update(LAST_RUN_KEY, request);

    const sink = this.makeSink(settings, request.label, session);
    this.sinks.set(session, sink);
    sink.note(`$ ${formatArgv(request.argv)}`);
    sink.note(`  in ${cwd}`);
    if (k8s && plan.when.mode === 'never') sink.note('  kubernetes termination is not started by itself ("when": never): a signal you send is a plain one');
    else if (k8s) sink.note(`  kubernetes termination ${describeWhenK8s(plan)}: ${describeK8s(k8s)}; SIGKILL on the kubelet's schedule`);
    else sink.note(`  ${describePlan(plan)}`);
    for (const n of k8sPlan?.notes ?? []) sink.note(`  note: ${n}`);
    const load = toLoad(settings);
    if (load) sink.note(`  traffic: ${describeLoad(load)}`);
    for (const n of request.notes ?? []) sink.note(`  note: ${n}`);
    sink.show(true);
    this.statusBar.track(session);

    let handle: RunHandle;
    try {
      const tracePath = await this.store.newTracePath(settings.saveTraces, request.folder, request.label);
      session.tracePath = tracePath;
      handle = await startRun({
        command: request.argv,
        cwd,
        env,
        plan,
        stallMs: settings.stallMs,
        tracePath,
        echo: { stdout: sink.stdout, stderr: sink.stderr },
        load,
        k8s,
      });
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      session.fail(msg);
      sink.note(`✗ ${msg}`);
      sink.finished();
      throw e;
    }
    session.attach(handle);
    session.onDidEnd(() => void this.sessionEnded(session));
    // The panel may have been closed (or replaced by another source) while the run was starting.
    const shown = this.panels.timelineView;
    if (!shown) {
      const v = this.panels.ensureTimeline();
      v.panel.title = `Shutdown Trace: ${request.label}`;
      v.setSource({ kind: 'session', session });
      v.reveal(true);
    } else if (shown.session !== session && this.current === session) {
      shown.setSource({ kind: 'session', session });
    }
    return session.done;
  }

  private resolveCwd(request: RunRequest, s: RunSettings): string {
    const explicit = request.overrides?.cwd;
    // npm scripts and launch configurations bring their own cwd; the setting applies to files and command lines.
    const fromSetting = request.kind === 'file' || request.kind === 'command' ? s.cwd : '';
    const raw = (explicit ?? fromSetting ?? '').trim();
    let cwd = request.cwd;
    if (raw) {
      let p: string;
      try {
        p = resolveVariables(raw, { workspaceFolder: request.folder, env: process.env });
      } catch {
        p = raw;
      }
      cwd = path.resolve(request.folder ?? request.cwd, p);
    }
    let ok: boolean;
    try {
      ok = fs.statSync(cwd).isDirectory();
    } catch {
      ok = false;
    }
    if (!ok) {
      throw new UserError(`The working directory ${cwd} does not exist${raw && explicit === undefined ? ' (setting "shutdownTrace.cwd")' : ''}.`);
    }
    return cwd;
  }

  private resolveEnv(env: Record<string, string>, folder: string | undefined): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(env)) {
      try {
        out[k] = resolveVariables(v, { workspaceFolder: folder, env: process.env });
      } catch {
        out[k] = v;
      }
    }
    return out;
  }

  private makeSink(settings: RunSettings, label: string, session: RunSession): OutputSink {
    if (settings.output === 'outputChannel') {
      this.channel.appendLine('');
      return new ChannelSink(this.channel);
    }
    // Reuse the terminal slot like tasks do: the previous run's terminal goes once its run ended.
    if (this.lastTerminal && !this.lastTerminal.session.live) this.lastTerminal.sink.dispose();
    const sink = new TerminalSink(`Shutdown Trace: ${label}`, () => {
      if (session.live) session.handle?.sendSignal('SIGINT', 'group');
    });
    this.lastTerminal = { sink, session };
    return sink;
  }

  private async sessionEnded(session: RunSession): Promise<void> {
    const sink = this.sinks.get(session);
    this.sinks.delete(session);
    const t = session.final;
    // The footer first (synchronously), so it never lands inside the next run's output.
    if (sink) {
      if (t) {
        const a = withAnalysis(t).analysis;
        const main = t.processes.find((p) => p.isMain);
        const exit = main?.exit ? (main.exit.signal ? `killed by ${main.exit.signal}` : `exit code ${main.exit.code}`) : 'still running';
        sink.note(`── ${a?.verdict ?? 'Run ended.'} (${exit}${t.meta.complete ? '' : `; incomplete: ${t.meta.incompleteReason ?? 'stopped'}`})`);
        if (session.tracePath) sink.note(`   trace: ${session.tracePath}`);
      } else if (session.failure) {
        sink.note(`✗ ${session.failure}`);
      }
      sink.finished();
    }
    if (t && session.tracePath) {
      try {
        if (!fs.existsSync(session.tracePath)) await writeJson(session.tracePath, t);
        await this.store.rememberLast(session.tracePath);
      } catch (e) {
        this.channel.appendLine(`[warn] could not save the trace to ${session.tracePath}: ${(e as Error).message}`);
      }
      try {
        withAnalysis(t);
        this.problems.publish(Controller.targetKey(session.request), t, fs.existsSync(session.tracePath) ? session.tracePath : undefined);
        if (fs.existsSync(session.tracePath)) await this.results.record(t, session.tracePath, session.request);
      } catch (e) {
        this.channel.appendLine(`[warn] could not show the run's problems in the editor: ${(e as Error).stack ?? e}`);
      }
    }
    if (session.state === 'failed' && session.failure) {
      void vscode.window.showErrorMessage(`Shutdown Trace: the run of ${session.request.label} failed: ${session.failure}`);
    } else if (t && !this.panels.timelineView?.panel.visible) {
      const verdict = withAnalysis(t).analysis?.verdict ?? 'The run ended.';
      void vscode.window.showInformationMessage(`${session.request.label}: ${verdict}`, 'Show timeline').then((c) => {
        if (c) void this.showTimeline();
      });
    }
  }

  async rerun(rawOverrides?: unknown): Promise<Trace | undefined> {
    const last = this.context.workspaceState.get<unknown>(LAST_RUN_KEY);
    if (!isRunRequest(last)) throw new UserError('Nothing to re-run yet: run a file, an npm script, a launch configuration or a command line with shutdown trace first.');
    if (last.kind === 'file') {
      const file = last.argv[last.argv.length - 1];
      const doc = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'file' && d.uri.fsPath === file);
      if (doc?.isDirty) await doc.save();
    }
    return this.start(last, rawOverrides);
  }

  /** Re-runs the command of a saved trace (a trace file in the viewer), with the same signal plan. */
  async rerunTrace(trace: Trace): Promise<Trace | undefined> {
    const argv = trace.meta.command;
    if (!Array.isArray(argv) || argv.length === 0) throw new UserError('This trace does not record its command line, so it cannot be re-run.');
    if (argv.some((a) => a.includes(REDACTED))) {
      throw new UserError('Secrets were redacted from the command line of this trace, so it cannot be re-run as it is. Run it again from its file, npm script or launch configuration.');
    }
    const cwd = trace.meta.cwd;
    if (!cwd || !fs.existsSync(cwd)) throw new UserError(`The working directory of this trace (${cwd || 'none'}) does not exist on this machine.`);
    const choice = await vscode.window.showInformationMessage(
      `Re-run ${formatArgv(argv)}?`,
      { modal: true, detail: `In ${cwd}, with the same signal plan: ${trace.meta.k8s ? `Kubernetes termination, ${describeK8s(trace.meta.k8s)}` : describePlan(trace.meta.plan)}.` },
      'Re-run',
    );
    if (choice !== 'Re-run') return undefined;
    const p = trace.meta.plan;
    const overrides: RunOverrides = {
      signal: p.signal,
      delivery: p.delivery,
      gracePeriodMs: p.graceMs,
      signalWhen: p.when.mode,
      ...(p.when.mode === 'after' ? { signalAfterMs: p.when.ms } : p.when.mode === 'listening' ? { signalAfterMs: p.when.delayMs, listenTimeoutMs: p.when.timeoutMs } : {}),
      secondSignal: p.second?.signal ?? 'none',
      ...(p.second ? { secondSignalAfterMs: p.second.afterMs } : {}),
      // the same traffic (only the listening-port form is a setting)
      ...(trace.meta.load && trace.meta.load.target === 'auto' ? { loadRate: trace.meta.load.rate, loadKeepAlive: trace.meta.load.keepAlive, loadPath: trace.meta.load.path ?? '/' } : { loadRate: 0 }),
      // the same Kubernetes termination
      ...(trace.meta.k8s
        ? { k8sEnabled: true, k8sGraceSeconds: trace.meta.k8s.graceSeconds, k8sStopSignal: trace.meta.k8s.stopSignal, k8sPreStop: fromPreStop(trace.meta.k8s.preStop) }
        : { k8sEnabled: false }),
    };
    const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(cwd))?.uri.fsPath;
    return this.start({ kind: 'command', label: shortLabel(argv), argv: [...argv], cwd, folder, overrides });
  }

  /** The live run, or a UserError saying there is none. */
  private liveSession(session?: RunSession): RunSession & { handle: RunHandle } {
    const s = session ?? this.current;
    if (!s || !s.live || !s.handle) throw new UserError('No traced service is running. Start one with "Shutdown Trace: Run with shutdown trace".');
    return s as RunSession & { handle: RunHandle };
  }

  async sendSignal(arg?: unknown, session?: RunSession): Promise<void> {
    const s = this.liveSession(session);
    let signal = typeof arg === 'string' ? arg : isObj(arg) && typeof arg.signal === 'string' ? arg.signal : undefined;
    let delivery: Delivery | undefined = isObj(arg) && (arg.delivery === 'main' || arg.delivery === 'group') ? arg.delivery : undefined;
    if (signal !== undefined && !/^SIG[A-Z0-9]+$/.test(signal)) throw new UserError(`${signal} is not a signal name.`);
    if (!signal) {
      const descriptions: Record<string, string> = {
        SIGTERM: 'what Kubernetes, docker stop and systemd send',
        SIGINT: 'what Ctrl+C sends',
        SIGHUP: 'terminal hang-up',
        SIGUSR2: "nodemon's restart signal",
      };
      const picked = await vscode.window.showQuickPick(
        ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR2'].map((sig) => ({ label: sig, description: descriptions[sig] })),
        { title: `Send signal to ${s.request.label}`, placeHolder: 'Which signal?' },
      );
      if (!picked) return;
      signal = picked.label;
    }
    if (!delivery) {
      const pid = s.handle.mainPid;
      const items: (vscode.QuickPickItem & { value: Delivery })[] = [
        { label: 'Main process', description: `pid ${pid}`, detail: 'Like Kubernetes and docker stop: only the main process gets it.', value: 'main' },
        { label: 'Whole process group', description: 'every process of the service', detail: 'Like Ctrl+C in a terminal: the main process and its children get it.', value: 'group' },
      ];
      if (s.settings.delivery === 'group') items.reverse();
      const picked = await vscode.window.showQuickPick(items, { title: `Send ${signal} to…` });
      if (!picked) return;
      delivery = picked.value;
    }
    if (!s.live) throw new UserError(`${s.request.label} has already ended.`);
    s.handle.sendSignal(signal, delivery);
  }

  kill(session?: RunSession): void {
    this.liveSession(session).handle.kill();
  }

  async stop(session?: RunSession): Promise<Trace> {
    return this.liveSession(session).handle.stop('stopped by user');
  }

  /** Ends a live run when the window closes, so no service is left behind. */
  async shutdown(): Promise<void> {
    const s = this.current;
    if (s?.live && s.handle) await s.handle.stop('VS Code window closed').catch(() => undefined);
  }

  /** The walkthrough's example, written to the extension's storage and opened. */
  async openExample(): Promise<vscode.Uri> {
    const uri = vscode.Uri.file(ensureExample(this.exampleDir));
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, preview: false });
    return uri;
  }

  /** Opens and runs the example with a short grace period, so the walkthrough's run ends in seconds. */
  async runExample(): Promise<Trace | undefined> {
    const uri = await this.openExample();
    return this.start({ kind: 'file', label: path.basename(uri.fsPath), argv: ['node', uri.fsPath], cwd: path.dirname(uri.fsPath) }, { gracePeriodMs: EXAMPLE_GRACE_MS });
  }

  // ---------------------------------------------------------------- export

  /** The trace commands like Export act on: the focused trace view, else the current run, else the last saved trace. */
  async activeTrace(): Promise<Trace | undefined> {
    for (const v of this.panels.openViews) if (v.panel.active && v.trace) return v.trace;
    if (this.current?.trace) return this.current.trace;
    if (this.panels.lastActive?.trace) return this.panels.lastActive.trace;
    const file = this.store.lastTracePath();
    return file ? readTraceFile(vscode.Uri.file(file)) : undefined;
  }

  /** Values of the runs' environment (settings and the current run), redacted from anything shared. */
  private secrets(): string[] {
    const values = new Set<string>();
    const add = (env: Record<string, string> | undefined) => {
      for (const v of Object.values(env ?? {})) if (typeof v === 'string' && v.length >= 6) values.add(v);
    };
    add(this.settingsFor(undefined).env);
    add(this.current?.request.env);
    add(this.current?.settings.env);
    return [...values];
  }

  /** Export trace… (exportTrace.ts); `arg` may carry { path, format }. Returns the written path. */
  async exportTrace(arg?: unknown, trace?: Trace): Promise<string | undefined> {
    return exportTrace(trace ?? (await this.activeTrace()), arg, this.secrets());
  }

  async copySummary(trace?: Trace): Promise<string> {
    return copySummary(trace ?? (await this.activeTrace()), this.secrets());
  }

  // ---------------------------------------------------------------- panels (panels.ts)

  openTrace(arg?: unknown): Promise<void> {
    return this.panels.openTrace(arg);
  }

  showTimeline(): Promise<void> {
    return this.panels.showTimeline();
  }

  showInTimeline(arg: unknown): Promise<void> {
    return this.panels.showInTimeline(arg);
  }

  restoreTimeline(panel: vscode.WebviewPanel): Promise<void> {
    return this.panels.restoreTimeline(panel);
  }

  /** A custom editor on a trace file gets a view of its own. */
  adoptEditor(panel: vscode.WebviewPanel): TraceView {
    return this.panels.adoptEditor(panel);
  }

  /** The "Run with options…" pickers (runOptions.ts), from the settings of `folder`. */
  pickOptions(folder: string | undefined): Promise<RunOverrides | undefined> {
    return pickRunOptions(this.settingsFor(folder));
  }

  dispose(): void {
    this.problems.dispose();
    this.results.dispose();
    this.panels.dispose();
    this.statusBar.dispose();
    this.lastTerminal?.sink.dispose();
    this.channel.dispose();
  }
}

function isObj(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** "when it listens (+500 ms)" for the Kubernetes note. */
function describeWhenK8s(p: ReturnType<typeof toPlan>): string {
  return p.when.mode === 'never' ? 'never' : p.when.mode === 'after' ? `${fmtMs(p.when.ms)} after start` : `${fmtMs(p.when.delayMs)} after it listens`;
}
