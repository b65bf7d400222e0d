/**
 * Runs, panels and the commands that act on them. One live run at a time; one timeline panel
 * that follows the current run; any number of custom-editor views on trace files.
 */
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assertNever } from '../shared/assert-never';
import type { RunHandle } from '../core/run-api';
import { startRun } from '../core/launcher';
import type { Delivery, Trace } from '../shared/trace';
import { redactTrace, REDACTED } from '../core/redact';
import { toChromeTrace } from '../core/export-chrome';
import { toMarkdown } from '../core/export-md';
import { formatArgv, shortLabel } from './commandLine';
import { reportError, UserError, recentErrors } from './errors';
import { ChannelSink, TerminalSink, type OutputSink } from './output';
import { RunSession, type RunRequest } from './session';
import { applyOverrides, describePlan, readSettings, sanitizeOverrides, SIGNALS, toPlan, fmtMs, type RunOverrides, type RunSettings } from './settings';
import { toLoad, describeLoad, toK8s, k8sSignalPlan, describeK8s, fromPreStop, parsePreStopInput, toPreStop, type K8sPreStopSetting } from './settings'; // issue #5
import { RunStatusBar } from './statusBar';
import { readTraceFile, TraceStore, writeJson } from './storage';
import { isRunRequest, visibleRunnable } from './targets';
import { resolveVariables } from './launchConfig';
import { TraceView, webviewOptions, withAnalysis, type ViewCommand, type ViewHost } from './traceView';
import { ProblemsPublisher, type ShowArgs } from './diagnostics';
import { RunResults } from './codeLens';
import { ensureExample, EXAMPLE_GRACE_MS } from './example';
import type { PanelAction } from '../../webview/src/messages';

export const TIMELINE_VIEW_TYPE = 'shutdownTrace.timeline';
const LAST_RUN_KEY = 'shutdownTrace.lastRun';

export type ExportFormat = 'native' | 'chrome' | 'md';

export class Controller implements ViewHost, vscode.Disposable {
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
  private timeline?: TraceView;
  private readonly views = new Set<TraceView>();
  private lastActiveView?: TraceView;

  constructor(private readonly context: vscode.ExtensionContext) {
    this.channel = vscode.window.createOutputChannel('Shutdown Trace');
    this.store = new TraceStore(context);
    this.results = new RunResults(context.workspaceState);
    this.problems.extraRoots = [this.exampleDir];
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
    return this.timeline;
  }

  get openViews(): TraceView[] {
    return [...this.views];
  }

  private get extensionUri(): vscode.Uri {
    return this.context.extensionUri;
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
    // issue #5: Kubernetes termination replaces the signal, delivery, grace and second signal.
    const k8s = toK8s(settings);
    const k8sPlan = k8s ? k8sSignalPlan(toPlan(settings), k8s) : undefined;
    const plan = k8sPlan?.plan ?? toPlan(settings);
    const session = new RunSession({ ...request, cwd }, settings, plan);
    this.current = session;
    this.problems.clearTarget(Controller.targetKey(session.request));
    // The panel says "starting…" before the service has produced anything.
    const view = this.ensureTimeline();
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
    const load = toLoad(settings); // issue #5
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
    const shown = this.timeline;
    if (!shown) {
      const v = this.ensureTimeline();
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
    let ok = false;
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
    } else if (t && !(this.timeline && this.timeline.panel.visible)) {
      const verdict = withAnalysis(t).analysis?.verdict ?? 'The run ended.';
      void vscode.window.showInformationMessage(`${session.request.label}: ${verdict}`, 'Show timeline').then((c) => {
        if (c) this.showTimeline();
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
      // issue #5: the same traffic (only the listening-port form is a setting)
      ...(trace.meta.load && trace.meta.load.target === 'auto' ? { loadRate: trace.meta.load.rate, loadKeepAlive: trace.meta.load.keepAlive, loadPath: trace.meta.load.path ?? '/' } : { loadRate: 0 }),
      // issue #5: the same Kubernetes termination
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

  // ---------------------------------------------------------------- panels

  private ensureTimeline(): TraceView {
    if (this.timeline) return this.timeline;
    const panel = vscode.window.createWebviewPanel(
      TIMELINE_VIEW_TYPE,
      'Shutdown Trace',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { ...webviewOptions(this.extensionUri), retainContextWhenHidden: false, enableFindWidget: true },
    );
    return this.adoptTimeline(panel);
  }

  private adoptTimeline(panel: vscode.WebviewPanel): TraceView {
    const view = new TraceView(panel, this.extensionUri, this, 'timeline');
    this.timeline = view;
    this.views.add(view);
    return view;
  }

  /** After a window reload: the panel comes back; show the run still going, else the last saved trace. */
  async restoreTimeline(panel: vscode.WebviewPanel): Promise<void> {
    const view = this.adoptTimeline(panel);
    if (this.current) {
      view.setSource({ kind: 'session', session: this.current });
      return;
    }
    await this.showLastTrace(view);
  }

  private async showLastTrace(view: TraceView): Promise<boolean> {
    const file = this.store.lastTracePath();
    if (!file) {
      view.setSource({ kind: 'empty', activeFile: this.activeRunnableFile() });
      return false;
    }
    try {
      const trace = await readTraceFile(vscode.Uri.file(file));
      view.panel.title = `Shutdown Trace: ${trace.meta.command?.length ? shortLabel(trace.meta.command.slice(-1)) : path.basename(file)}`;
      view.setSource({ kind: 'trace', trace, file: vscode.Uri.file(file) });
      return true;
    } catch (e) {
      view.setSource({ kind: 'error', message: e instanceof Error ? e.message : String(e) });
      return false;
    }
  }

  async showTimeline(): Promise<void> {
    if (this.timeline) {
      this.timeline.reveal(false);
      return;
    }
    const view = this.ensureTimeline();
    if (!this.current && !this.store.lastTracePath()) {
      view.setSource({ kind: 'empty', activeFile: this.activeRunnableFile() });
    } else if (this.current) {
      view.panel.title = `Shutdown Trace: ${this.current.request.label}`;
      view.setSource({ kind: 'session', session: this.current });
    } else {
      await this.showLastTrace(view);
    }
    view.reveal(false);
  }

  /** The active editor's file when "Run with shutdown trace" would run it (for the empty state). */
  private activeRunnableFile(): string | undefined {
    const doc = vscode.window.activeTextEditor?.document;
    const uri = doc && doc.uri.scheme === 'file' && /\.([cm]?[jt]s|[jt]sx)$|(^|[\\/])package\.json$/i.test(doc.uri.fsPath) ? doc.uri : visibleRunnable();
    return uri ? vscode.workspace.asRelativePath(uri) : undefined;
  }

  /**
   * Shows a saved trace in the timeline panel and selects a leak or an event in it: a
   * diagnostic's "Show in Shutdown Trace timeline", a CodeLens result.
   */
  async showInTimeline(arg: unknown): Promise<void> {
    const a = isObj(arg) ? (arg as Partial<ShowArgs>) : {};
    const file = typeof a.trace === 'string' ? a.trace : typeof arg === 'string' ? arg : undefined;
    if (!file) return this.showTimeline();
    let view = this.timeline;
    const showing = view && (view.session?.tracePath === file || (view.current.kind === 'trace' && view.current.file?.fsPath === file));
    if (!view || !showing) {
      if (!fs.existsSync(file)) throw new UserError(`The trace ${file} is no longer there (traces in the extension's storage are pruned to the 30 newest).`);
      const trace = await readTraceFile(vscode.Uri.file(file));
      view ??= this.ensureTimeline();
      view.panel.title = `Shutdown Trace: ${trace.meta.command?.length ? shortLabel(trace.meta.command.slice(-1)) : path.basename(file)}`;
      view.setSource({ kind: 'trace', trace, file: vscode.Uri.file(file) });
    }
    view.reveal(false);
    if (typeof a.leak === 'number' || typeof a.event === 'number') view.revealItem({ leak: typeof a.leak === 'number' ? a.leak : undefined, event: typeof a.event === 'number' ? a.event : undefined });
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

  async viewAction(_view: TraceView, action: PanelAction): Promise<void> {
    switch (action) {
      case 'run-active-file':
        await vscode.commands.executeCommand('shutdownTrace.runFile');
        return;
      case 'run-script':
        await vscode.commands.executeCommand('shutdownTrace.runScript');
        return;
      case 'open-example':
        await this.openExample();
        return;
      case 'open-trace':
        await this.openTrace();
        return;
      case 'walkthrough':
        await vscode.commands.executeCommand('workbench.action.openWalkthrough', 'shutdown-trace.shutdown-trace#gettingStarted', false);
        return;
      default:
        assertNever(action);
    }
  }

  /** A custom editor on a trace file gets a view of its own. */
  adoptEditor(panel: vscode.WebviewPanel): TraceView {
    const view = new TraceView(panel, this.extensionUri, this, 'editor');
    this.views.add(view);
    return view;
  }

  viewActivated(view: TraceView): void {
    this.lastActiveView = view;
  }

  viewDisposed(view: TraceView): void {
    this.views.delete(view);
    if (this.timeline === view) this.timeline = undefined;
    if (this.lastActiveView === view) this.lastActiveView = undefined;
  }

  async viewCommand(view: TraceView, msg: ViewCommand): Promise<void> {
    try {
      switch (msg.command) {
        case 'send-signal': {
          // A toolbar button names its signal: send it at once, to whom the run's settings say.
          const session = view.session ?? this.current;
          const arg = msg.signal ? { signal: msg.signal, delivery: session?.settings.delivery ?? 'main' } : undefined;
          await this.sendSignal(arg, session);
          return;
        }
        case 'kill':
          this.kill(view.session ?? this.current);
          return;
        case 'stop':
          await this.stop(view.session ?? this.current);
          return;
        case 'export':
          await this.exportTrace(undefined, view.trace);
          return;
        case 'copy-summary':
          await this.copySummary(view.trace);
          return;
        case 'rerun':
          if (view.role === 'editor' && view.trace) await this.rerunTrace(view.trace);
          else await this.rerun();
          return;
        default:
          assertNever(msg.command);
      }
    } catch (e) {
      reportError(e, this.channel, msg.command);
    }
  }

  // ---------------------------------------------------------------- export

  /** The trace commands like Export act on: the focused trace view, else the current run, else the last saved trace. */
  async activeTrace(): Promise<Trace | undefined> {
    for (const v of this.views) if (v.panel.active && v.trace) return v.trace;
    if (this.current?.trace) return this.current.trace;
    if (this.lastActiveView?.trace) return this.lastActiveView.trace;
    const file = this.store.lastTracePath();
    return file ? readTraceFile(vscode.Uri.file(file)) : undefined;
  }

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

  private prepared(trace: Trace): Trace {
    const copy = structuredClone(trace);
    return redactTrace(withAnalysis(copy), this.secrets());
  }

  /**
   * Export the trace: the native format (.shutdown-trace.json), Chrome Trace Event JSON for Perfetto
   * (any other .json), or the Markdown summary (.md).
   * `arg` may carry { path, format } (for scripts and tests); otherwise a save dialog asks.
   * Returns the written path.
   */
  async exportTrace(arg?: unknown, trace?: Trace): Promise<string | undefined> {
    const t = trace ?? (await this.activeTrace());
    if (!t) throw new UserError('There is no trace to export yet: run something with shutdown trace, or open a trace file.');
    let target: vscode.Uri | undefined;
    let format: ExportFormat | undefined = isObj(arg) && (arg.format === 'native' || arg.format === 'chrome' || arg.format === 'md') ? arg.format : undefined;
    if (isObj(arg) && typeof arg.path === 'string') {
      target = vscode.Uri.file(path.resolve(arg.path));
    } else {
      const base = path.basename(t.meta.command[t.meta.command.length - 1] ?? 'trace').replace(/\.[cm]?[jt]sx?$/, '') || 'trace';
      const dir = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri.fsPath ?? t.meta.cwd;
      target = await vscode.window.showSaveDialog({
        title: 'Export trace (.shutdown-trace.json: the native format; any other .json: Chrome Trace Event / Perfetto; .md: the Markdown summary)',
        saveLabel: 'Export',
        defaultUri: vscode.Uri.file(path.join(dir, `${base}.shutdown-trace.json`)),
        filters: {
          'Shutdown Trace (*.shutdown-trace.json)': ['shutdown-trace.json'],
          'Chrome Trace Event / Perfetto (*.json)': ['json'],
          'Markdown summary (*.md)': ['md'],
        },
      });
      if (!target) return undefined;
    }
    const lower = target.path.toLowerCase();
    format ??= lower.endsWith('.shutdown-trace.json') ? 'native' : /\.(md|markdown)$/.test(lower) ? 'md' : 'chrome';
    const redacted = this.prepared(t);
    const text = format === 'md' ? toMarkdown(redacted) : JSON.stringify(format === 'native' ? redacted : toChromeTrace(redacted), null, format === 'native' ? 1 : 0);
    await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(text));
    const shown = target.fsPath;
    if (format === 'md') {
      void vscode.window.showInformationMessage(`Markdown summary written to ${shown} (secrets redacted).`, 'Open').then((c) => {
        if (c) void vscode.commands.executeCommand('markdown.showPreview', target).then(undefined, () => vscode.window.showTextDocument(target!));
      });
    } else if (format === 'native') {
      void vscode.window.showInformationMessage(`Trace exported to ${shown} (secrets redacted).`, 'Open').then((c) => {
        if (c) void vscode.commands.executeCommand('vscode.openWith', target, 'shutdownTrace.traceViewer');
      });
    } else {
      void vscode.window.showInformationMessage(`Chrome Trace Event file written to ${shown} (secrets redacted). Open it in Perfetto (ui.perfetto.dev) or chrome://tracing.`);
    }
    return shown;
  }

  async copySummary(trace?: Trace): Promise<string> {
    const t = trace ?? (await this.activeTrace());
    if (!t) throw new UserError('There is no trace to summarize yet: run something with shutdown trace, or open a trace file.');
    const md = toMarkdown(this.prepared(t));
    await vscode.env.clipboard.writeText(md);
    void vscode.window.showInformationMessage('Bug-report summary copied to the clipboard (secrets redacted).');
    return md;
  }

  async openTrace(arg?: unknown): Promise<void> {
    let uri = arg instanceof vscode.Uri ? arg : typeof arg === 'string' ? vscode.Uri.file(path.resolve(arg)) : undefined;
    if (!uri) {
      const dir = this.store.defaultDir;
      const picked = await vscode.window.showOpenDialog({
        title: 'Open a Shutdown Trace file',
        openLabel: 'Open trace',
        canSelectMany: false,
        defaultUri: fs.existsSync(dir) ? vscode.Uri.file(dir) : undefined,
        filters: { 'Shutdown Trace (*.shutdown-trace.json)': ['json'], 'All files': ['*'] },
      });
      uri = picked?.[0];
    }
    if (!uri) return;
    await vscode.commands.executeCommand('vscode.openWith', uri, 'shutdownTrace.traceViewer');
  }

  // ---------------------------------------------------------------- run options

  /** The "Run with options…" pickers: signal, delivery, when, grace period, second signal, traffic, Kubernetes termination. Undefined when cancelled. */
  async pickOptions(folder: string | undefined): Promise<RunOverrides | undefined> {
    const s = this.settingsFor(folder);
    const total = 7;
    const signal = await pickStep<string>('Signal', 1, total, SIGNALS.map((sig) => ({ label: sig, value: sig })), s.signal);
    if (signal === undefined) return undefined;
    const delivery = await pickStep<Delivery>('Delivery', 2, total, [
      { label: 'Main process', detail: 'Like Kubernetes and docker stop', value: 'main' },
      { label: 'Whole process group', detail: 'Like Ctrl+C in a terminal', value: 'group' },
    ], s.delivery);
    if (delivery === undefined) return undefined;
    const signalWhen = await pickStep<RunSettings['signalWhen']>('When', 3, total, [
      { label: 'When it listens', detail: `${fmtMs(s.signalAfterMs)} after the service starts listening on a port`, value: 'listening' },
      { label: 'After a delay', detail: `${fmtMs(s.signalAfterMs)} after start`, value: 'after' },
      { label: 'Never by itself', detail: 'Send it with "Shutdown Trace: Send signal…", or let the service exit on its own', value: 'never' },
    ], s.signalWhen);
    if (signalWhen === undefined) return undefined;
    const graces = [5000, 10000, 15000, 30000, 60000, 120000];
    if (!graces.includes(s.gracePeriodMs)) graces.push(s.gracePeriodMs);
    graces.sort((a, b) => a - b);
    let grace = await pickStep<number>('Grace period before SIGKILL', 4, total, [
      ...graces.map((ms) => ({ label: fmtMs(ms), description: ms === 30000 ? 'Kubernetes default' : undefined, value: ms })),
      { label: 'Custom…', value: -1 },
    ], s.gracePeriodMs);
    if (grace === undefined) return undefined;
    if (grace === -1) {
      const v = await vscode.window.showInputBox({
        title: 'Grace period',
        prompt: 'Milliseconds, or seconds with an "s" (e.g. 45s)',
        value: String(s.gracePeriodMs),
        validateInput: (x) => (parseDuration(x) === undefined ? 'A number of ms, or seconds like 45s' : undefined),
      });
      if (v === undefined) return undefined;
      grace = parseDuration(v)!;
    }
    const second = await pickStep<string>('Second signal while it shuts down', 5, total, [
      { label: 'None', value: 'none' },
      { label: `${signal} again`, detail: `${fmtMs(s.secondSignalAfterMs)} after the first, like a supervisor re-sending`, value: signal },
      ...(signal !== 'SIGINT' ? [{ label: 'SIGINT', detail: `${fmtMs(s.secondSignalAfterMs)} after the first, like an impatient Ctrl+C`, value: 'SIGINT' }] : []),
    ], s.secondSignal === signal || s.secondSignal === 'SIGINT' ? s.secondSignal : 'none');
    if (second === undefined) return undefined;
    // ---- issue #5: traffic during shutdown
    type Load = { loadRate: number; loadKeepAlive: boolean };
    const loadItems: (vscode.QuickPickItem & { value: Load })[] = [
      { label: 'No traffic', value: { loadRate: 0, loadKeepAlive: false } },
      { label: '20 requests/s, a new connection each', detail: `At ${s.loadPath} of the port the service listens on, from when it listens until it exits; lost requests are counted`, value: { loadRate: 20, loadKeepAlive: false } },
      { label: '50 requests/s, keep-alive', detail: 'Connections reused, as behind a load balancer or a proxy', value: { loadRate: 50, loadKeepAlive: true } },
      { label: '50 requests/s, a new connection each', value: { loadRate: 50, loadKeepAlive: false } },
    ];
    if (s.loadRate && !loadItems.some((i) => i.value.loadRate === s.loadRate && i.value.loadKeepAlive === s.loadKeepAlive)) {
      loadItems.push({ label: `${s.loadRate} requests/s${s.loadKeepAlive ? ', keep-alive' : ''}`, value: { loadRate: s.loadRate, loadKeepAlive: s.loadKeepAlive } });
    }
    const current = loadItems.find((i) => i.value.loadRate === s.loadRate && (s.loadRate === 0 || i.value.loadKeepAlive === s.loadKeepAlive))?.value ?? loadItems[0].value;
    const load = await pickStep<Load>('Traffic during shutdown', 6, total, loadItems, current);
    if (load === undefined) return undefined;
    const k8s = await this.pickK8s(s, signal, grace);
    if (k8s === undefined) return undefined;
    return { signal, delivery, signalWhen, gracePeriodMs: grace, secondSignal: second, ...load, ...k8s };
  }

  /**
   * Step 7: Kubernetes termination. The grace period above becomes terminationGracePeriodSeconds
   * (whole seconds) and the signal the stop signal; preStop from a short list, the settings, or typed.
   */
  private async pickK8s(s: RunSettings, signal: string, graceMs: number): Promise<RunOverrides | undefined> {
    type K8s = { on: boolean; preStop: K8sPreStopSetting | 'custom' };
    const graceSeconds = Math.max(1, Math.ceil(graceMs / 1000));
    const graceNote = graceSeconds * 1000 === graceMs ? `terminationGracePeriodSeconds ${graceSeconds}` : `terminationGracePeriodSeconds ${graceSeconds} (the ${fmtMs(graceMs)} grace period, rounded up to whole seconds)`;
    const detail = `${graceNote}; ${signal} to the main process after preStop; SIGKILL on the kubelet's schedule (at least 2 s after the signal)`;
    const describe = (p: K8sPreStopSetting) => {
      const ps = toPreStop(p);
      return !ps ? 'no preStop' : ps.action === 'sleep' ? `preStop sleep ${fmtMs(ps.ms)}` : ps.action === 'exec' ? `preStop exec ${ps.command}` : `preStop httpGet ${ps.url}`;
    };
    const items: (vscode.QuickPickItem & { value: K8s })[] = [
      { label: 'Off', detail: 'A plain signal, as chosen above', value: { on: false, preStop: {} } },
      { label: 'As a Kubernetes pod, no preStop', detail, value: { on: true, preStop: {} } },
      { label: 'As a Kubernetes pod, preStop sleep 5 s', detail: `The usual fix for requests refused while endpoints update; ${detail}`, value: { on: true, preStop: { sleep: 5 } } },
    ];
    const settingPre = s.k8sPreStop;
    const settingItem = toPreStop(settingPre) && !(settingPre.sleep === 5) ? { label: `As a Kubernetes pod, ${describe(settingPre)}`, description: 'shutdownTrace.k8s.preStop', detail, value: { on: true, preStop: settingPre } } : undefined;
    if (settingItem) items.push(settingItem);
    items.push({ label: 'As a Kubernetes pod, another preStop…', detail: 'sleep SECONDS, exec COMMAND or httpGet /path', value: { on: true, preStop: 'custom' } });
    const current = !s.k8sEnabled ? items[0].value : settingItem ? settingItem.value : !toPreStop(settingPre) ? items[1].value : items[2].value;
    const picked = await pickStep<K8s>('Kubernetes termination', 7, 7, items, current);
    if (picked === undefined) return undefined;
    if (!picked.on) return { k8sEnabled: false };
    let preStop = picked.preStop;
    if (preStop === 'custom') {
      const v = await vscode.window.showInputBox({
        title: 'preStop hook',
        prompt: 'sleep SECONDS, exec COMMAND (run with sh -c in the service\'s folder) or httpGet PATH (/drain on the service\'s port, :PORT/path or a URL); empty for none',
        value: toPreStop(settingPre) ? describe(settingPre).replace(/^preStop /, '') : 'sleep 5',
        ignoreFocusOut: true,
        validateInput: (x) => (parsePreStopInput(x) === undefined ? 'sleep 5, exec curl -s localhost:8080/drain, or httpGet /drain' : undefined),
      });
      if (v === undefined) return undefined;
      preStop = parsePreStopInput(v)!;
    }
    return { k8sEnabled: true, k8sGraceSeconds: graceSeconds, k8sStopSignal: signal, k8sPreStop: preStop };
  }

  dispose(): void {
    this.problems.dispose();
    this.results.dispose();
    for (const v of [...this.views]) v.dispose();
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

export function parseDuration(v: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$/i.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  return Math.round(m[2]?.toLowerCase() === 's' ? n * 1000 : n);
}

async function pickStep<T>(title: string, step: number, totalSteps: number, items: (vscode.QuickPickItem & { value: T })[], current: T): Promise<T | undefined> {
  const qp = vscode.window.createQuickPick<vscode.QuickPickItem & { value: T }>();
  qp.title = `Run with options: ${title}`;
  qp.step = step;
  qp.totalSteps = totalSteps;
  qp.ignoreFocusOut = true;
  qp.items = items.map((i) => (i.value === current ? { ...i, description: [i.description, '(setting)'].filter(Boolean).join(' ') } : i));
  const active = qp.items.find((i) => i.value === current);
  if (active) qp.activeItems = [active];
  return new Promise<T | undefined>((resolve) => {
    let done = false;
    qp.onDidAccept(() => {
      done = true;
      resolve(qp.selectedItems[0]?.value ?? qp.activeItems[0]?.value);
      qp.hide();
    });
    qp.onDidHide(() => {
      if (!done) resolve(undefined);
      qp.dispose();
    });
    qp.show();
  });
}
