/**
 * The panels: the timeline panel that follows the current run (restored after a reload, an
 * empty state before any run), the custom-editor views on trace files, and what their buttons
 * and toolbars do. Runs themselves are the controller's.
 */
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assertNever } from '../shared/assert-never';
import type { PanelAction } from '../shared/messages';
import type { Controller } from './controller';
import { shortLabel } from './commandLine';
import { reportError, UserError } from './errors';
import { readTraceFile } from './storage';
import { visibleRunnable } from './targets';
import { TraceView, webviewOptions, type ViewCommand, type ViewHost } from './traceView';
import { TRACE_EDITOR_VIEW_TYPE } from './traceEditor';
import type { ShowArgs } from './diagnostics';

export const TIMELINE_VIEW_TYPE = 'shutdownTrace.timeline';

export class Panels implements ViewHost {
  private timeline?: TraceView;
  private readonly views = new Set<TraceView>();
  private lastActiveView?: TraceView;

  constructor(
    private readonly c: Controller,
    private readonly extensionUri: vscode.Uri,
  ) {}

  /** The timeline panel's view (for tests and the run that follows it). */
  get timelineView(): TraceView | undefined {
    return this.timeline;
  }

  /** Every open view: the timeline and the trace editors. */
  get openViews(): TraceView[] {
    return [...this.views];
  }

  /** The view a user last looked at (Export acts on it when no view is focused). */
  get lastActive(): TraceView | undefined {
    return this.lastActiveView;
  }

  ensureTimeline(): TraceView {
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
    if (this.c.currentSession) {
      view.setSource({ kind: 'session', session: this.c.currentSession });
      return;
    }
    await this.showLastTrace(view);
  }

  private async showLastTrace(view: TraceView): Promise<boolean> {
    const file = this.c.store.lastTracePath();
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
    if (!this.c.currentSession && !this.c.store.lastTracePath()) {
      view.setSource({ kind: 'empty', activeFile: this.activeRunnableFile() });
    } else if (this.c.currentSession) {
      view.panel.title = `Shutdown Trace: ${this.c.currentSession.request.label}`;
      view.setSource({ kind: 'session', session: this.c.currentSession });
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

  async viewAction(_view: TraceView, action: PanelAction): Promise<void> {
    switch (action) {
      case 'run-active-file':
        await vscode.commands.executeCommand('shutdownTrace.runFile');
        return;
      case 'run-script':
        await vscode.commands.executeCommand('shutdownTrace.runScript');
        return;
      case 'open-example':
        await this.c.openExample();
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
          const session = view.session ?? this.c.currentSession;
          const arg = msg.signal ? { signal: msg.signal, delivery: session?.settings.delivery ?? 'main' } : undefined;
          await this.c.sendSignal(arg, session);
          return;
        }
        case 'kill':
          this.c.kill(view.session ?? this.c.currentSession);
          return;
        case 'stop':
          await this.c.stop(view.session ?? this.c.currentSession);
          return;
        case 'export':
          await this.c.exportTrace(undefined, view.trace);
          return;
        case 'copy-summary':
          await this.c.copySummary(view.trace);
          return;
        case 'rerun':
          if (view.role === 'editor' && view.trace) await this.c.rerunTrace(view.trace);
          else await this.c.rerun();
          return;
        default:
          assertNever(msg.command);
      }
    } catch (e) {
      reportError(e, this.c.channel, msg.command);
    }
  }

  async openTrace(arg?: unknown): Promise<void> {
    let uri = arg instanceof vscode.Uri ? arg : typeof arg === 'string' ? vscode.Uri.file(path.resolve(arg)) : undefined;
    if (!uri) {
      const dir = this.c.store.defaultDir;
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
    await vscode.commands.executeCommand('vscode.openWith', uri, TRACE_EDITOR_VIEW_TYPE);
  }

  dispose(): void {
    for (const v of [...this.views]) v.dispose();
  }
}

function isObj(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}
