/**
 * One webview showing a trace: the timeline panel of live runs, or a custom editor on a file.
 * Owns the handshake (nothing is posted before the webview's `ready`; every `ready` gets the whole
 * state again, since hidden webviews are torn down), throttled live `append`s, and the messages
 * the webview sends back.
 */
import * as vscode from 'vscode';
import { assertNever } from '../shared/assert-never';
import type { HostToWebview, WebviewToHost, PanelAction } from '../shared/messages';
import { encodeTraceColumns } from '../shared/trace-columns';
import type { Analysis, Trace } from '../shared/trace';
import { renderWebviewHtml, makeNonce } from '../core/webview-html';
import { analyze } from '../core/analysis';
import type { RunSession } from './session';
import { resolveFrame } from './frames';

export type ViewSource = { kind: 'empty'; activeFile?: string } | { kind: 'trace'; trace: Trace; file?: vscode.Uri } | { kind: 'error'; message: string } | { kind: 'session'; session: RunSession };

export type ViewCommand = Extract<WebviewToHost, { type: 'command' }>;

export interface ViewHost {
  /** A toolbar command from the webview (send-signal, kill, stop, export, copy-summary, rerun). */
  viewCommand(view: TraceView, msg: ViewCommand): Promise<void>;
  /** The view became the active one (for commands like Export that act on "the current trace"). */
  viewActivated(view: TraceView): void;
  viewDisposed(view: TraceView): void;
  /** A button of the empty state (run the active file, open the example, …). */
  viewAction(view: TraceView, action: PanelAction): Promise<void>;
}

/** At most one live append per this many ms (a leading-edge throttle): a signal is on screen within it. */
const APPEND_INTERVAL_MS = 30;
/**
 * From this many events a whole trace goes to the page in columns (src/shared/trace-columns.ts):
 * typed arrays in ArrayBuffers and a string table. VS Code (engines ^1.57) moves ArrayBuffers in a
 * posted message as bytes, so a million events cross as ~40 MB of buffers instead of a 117 MB
 * JSON serialisation of a million objects, and the page builds its model from the columns.
 */
export const COLUMN_DELIVERY_EVENTS = 20_000;
const TICK_MS = 500;

/** Makes sure a trace has its analysis (older or incomplete files may lack it). */
export function withAnalysis(trace: Trace): Trace & { analysis: Analysis } {
  if (!trace.analysis) {
    try {
      trace.analysis = analyze(trace);
    } catch {
      // analysis failing must never blank the panel; the webview shows the raw timeline
    }
  }
  return trace as Trace & { analysis: Analysis };
}

export function mediaRoot(extensionUri: vscode.Uri): vscode.Uri {
  return vscode.Uri.joinPath(extensionUri, 'media');
}

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return { enableScripts: true, localResourceRoots: [mediaRoot(extensionUri)] };
}

export class TraceView implements vscode.Disposable {
  private ready = false;
  private source: ViewSource = { kind: 'empty' };
  private sentEvents = 0;
  private sentOutput = 0;
  /** A whole `trace` message went out for the current source since the last `ready`. */
  private tracePosted = false;
  private appendTimer?: NodeJS.Timeout;
  private tickTimer?: NodeJS.Timeout;
  private sessionSubs: vscode.Disposable[] = [];
  /** Everything this view registered; disposed with the panel. */
  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;
  /** How often the webview said `ready` and what was posted to it (for tests and diagnostics). */
  readonly stats = { readies: 0, posted: {} as Partial<Record<HostToWebview['type'], number>> };

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly host: ViewHost,
    readonly role: 'timeline' | 'editor',
  ) {
    const webview = panel.webview;
    webview.options = webviewOptions(extensionUri);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icon.png');
    this.renderHtml();
    this.disposables.push(
      webview.onDidReceiveMessage((m: unknown) => this.onMessage(m)),
      // A hidden webview (no retainContextWhenHidden) loses its document and says `ready` again when
      // shown, which re-posts everything; messages posted while it is hidden are simply dropped.
      // (Resetting `ready` on hide raced with the first `ready` of a freshly revealed panel.)
      panel.onDidChangeViewState((e) => {
        if (e.webviewPanel.active) this.host.viewActivated(this);
      }),
      vscode.window.onDidChangeActiveColorTheme(() => this.postTheme()),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  private renderHtml(): void {
    const webview = this.panel.webview;
    const media = mediaRoot(this.extensionUri);
    this.ready = false;
    webview.html = renderWebviewHtml({
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'webview.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'webview.css')).toString(),
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      title: this.panel.title,
    });
  }

  get isReady(): boolean {
    return this.ready && !this.disposed;
  }

  get current(): ViewSource {
    return this.source;
  }

  /** The trace this view shows, if any. */
  get trace(): Trace | undefined {
    const s = this.source;
    if (s.kind === 'trace') return s.trace;
    if (s.kind === 'session') return s.session.trace;
    return undefined;
  }

  get session(): RunSession | undefined {
    return this.source.kind === 'session' ? this.source.session : undefined;
  }

  setSource(source: ViewSource): void {
    this.clearSession();
    this.source = source;
    if (source.kind === 'session') {
      const s = source.session;
      this.sessionSubs.push(
        s.onDidChange(() => this.scheduleAppend()),
        s.onDidEnd(() => this.sessionEnded(s)),
      );
      if (s.live) this.tickTimer = setInterval(() => this.scheduleAppend(), TICK_MS);
    }
    this.postAll();
  }

  private clearSession(): void {
    for (const d of this.sessionSubs) d.dispose();
    this.sessionSubs = [];
    if (this.appendTimer) clearTimeout(this.appendTimer);
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.appendTimer = undefined;
    this.tickTimer = undefined;
  }

  private post(msg: HostToWebview): void {
    if (this.disposed || !this.ready) return;
    this.stats.posted[msg.type] = (this.stats.posted[msg.type] ?? 0) + 1;
    void this.panel.webview.postMessage(msg).then(undefined, () => undefined);
  }

  private postTrace(trace: Trace, live: boolean): void {
    if (trace.events.length >= COLUMN_DELIVERY_EVENTS) this.post({ type: 'trace-columns', columns: encodeTraceColumns(trace), live });
    else this.post({ type: 'trace', trace, live });
  }

  /** What to select once the trace is in the page (a diagnostic's "Show in timeline"). */
  private pendingReveal?: { leak?: number; event?: number };

  /** Select a leak (index into analysis.leaks) or an event in this view, now or once its trace is posted. */
  revealItem(target: { leak?: number; event?: number }): void {
    this.pendingReveal = target;
    this.flushReveal();
  }

  private flushReveal(): void {
    if (!this.pendingReveal || !this.ready || !this.tracePosted) return;
    const r = this.pendingReveal;
    this.pendingReveal = undefined;
    this.post({ type: 'reveal', leak: r.leak, event: r.event });
  }

  private postTheme(): void {
    const k = vscode.window.activeColorTheme.kind;
    const kind =
      k === vscode.ColorThemeKind.Light ? 'light' : k === vscode.ColorThemeKind.HighContrast ? 'high-contrast' : k === vscode.ColorThemeKind.HighContrastLight ? 'high-contrast-light' : 'dark';
    this.post({ type: 'theme', kind });
  }

  /** The whole state, after every `ready` and every change of source. */
  private postAll(): void {
    this.tracePosted = false;
    if (!this.ready) return;
    const s = this.source;
    switch (s.kind) {
      case 'empty':
        this.post({ type: 'empty', activeFile: s.activeFile });
        return;
      case 'error':
        this.post({ type: 'error', message: s.message });
        return;
      case 'trace': {
        // One message: the trace carries its analysis ('finished' would make the page build it twice).
        this.postTrace(withAnalysis(s.trace), false);
        this.tracePosted = true;
        this.flushReveal();
        return;
      }
      case 'session': {
        const session = s.session;
        const trace = session.trace;
        if (!trace) {
          // Shown at once, before the service has produced anything; the first update replaces it.
          if (session.state === 'failed') this.post({ type: 'error', message: session.failure ?? 'The run could not start.' });
          else this.post({ type: 'starting', label: session.request.label, command: session.request.argv.join(' ') });
          return;
        }
        if (session.final) {
          const t = withAnalysis(session.final);
          this.postTrace(t, false);
          this.sentEvents = t.events.length;
          this.sentOutput = t.output.length;
          this.tracePosted = true;
        } else {
          this.postTrace(trace, session.live);
          this.sentEvents = trace.events.length;
          this.sentOutput = trace.output.length;
          this.tracePosted = true;
          if (session.state === 'failed' && session.failure) this.post({ type: 'error', message: session.failure });
        }
        this.flushReveal();
        return;
      }
      default:
        assertNever(s);
    }
  }

  /**
   * Leading-edge throttle: after a quiet spell the change is posted at once (a signal shows up
   * within a frame or two), then at most once per APPEND_INTERVAL_MS while events keep coming.
   */
  private lastAppendAt = 0;
  private scheduleAppend(): void {
    if (this.appendTimer || !this.ready) return;
    const wait = this.lastAppendAt + APPEND_INTERVAL_MS - Date.now();
    if (wait <= 0) {
      this.lastAppendAt = Date.now();
      this.flushAppend();
      return;
    }
    this.appendTimer = setTimeout(() => {
      this.appendTimer = undefined;
      this.lastAppendAt = Date.now();
      this.flushAppend();
    }, wait);
  }

  /** Posts what the live trace gained since the last post. Indexes, not the update batches, decide, so nothing is sent twice. */
  private flushAppend(): void {
    const session = this.session;
    if (!session || !this.ready || session.final) return;
    const trace = session.trace;
    if (!trace) return;
    if (!this.tracePosted) {
      this.postAll();
      return;
    }
    const events = trace.events.slice(this.sentEvents);
    const output = trace.output.length >= this.sentOutput ? trace.output.slice(this.sentOutput) : [];
    this.sentEvents = trace.events.length;
    this.sentOutput = trace.output.length;
    this.post({ type: 'append', events, output, processes: trace.processes, now: session.now });
  }

  private sessionEnded(session: RunSession): void {
    if (this.session !== session) return;
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = undefined;
    if (this.appendTimer) clearTimeout(this.appendTimer);
    this.appendTimer = undefined;
    if (!this.ready) return;
    if (!this.tracePosted) {
      this.postAll();
      return;
    }
    if (session.final) {
      const t = withAnalysis(session.final);
      if (!t.analysis) this.postTrace(t, false);
      else if (t.events.length >= COLUMN_DELIVERY_EVENTS) this.post({ type: 'finished-columns', analysis: t.analysis, columns: encodeTraceColumns(t) });
      else this.post({ type: 'finished', analysis: t.analysis, trace: t });
      this.sentEvents = t.events.length;
      this.sentOutput = t.output.length;
    } else if (session.failure) {
      this.post({ type: 'error', message: session.failure });
    }
    this.flushReveal();
  }

  private onMessage(raw: unknown): void {
    if (!raw || typeof raw !== 'object' || typeof (raw as { type?: unknown }).type !== 'string') return;
    const msg = raw as WebviewToHost;
    switch (msg.type) {
      case 'action': {
        const action: unknown = msg.action;
        if (action === 'run-active-file' || action === 'run-script' || action === 'open-example' || action === 'open-trace' || action === 'walkthrough') {
          void this.host.viewAction(this, action).catch((e: unknown) => {
            void vscode.window.showErrorMessage(`Shutdown Trace: ${e instanceof Error ? e.message : String(e)}`);
          });
        }
        return;
      }
      case 'ready':
        this.ready = true;
        this.stats.readies++;
        this.postTheme();
        this.postAll();
        if (this.panel.active) this.host.viewActivated(this);
        return;
      case 'open-frame':
        void this.openFrame(msg.file, msg.line, msg.col);
        return;
      case 'command':
        this.host.viewActivated(this);
        void this.host.viewCommand(this, msg).catch((e: unknown) => {
          void vscode.window.showErrorMessage(`Shutdown Trace: ${e instanceof Error ? e.message : String(e)}`);
        });
        return;
      case 'select':
        return;
      default:
        // a page from a newer build: nothing to do with what this host does not know
        tolerate(msg);
    }
  }

  private async openFrame(file: unknown, line: unknown, col: unknown): Promise<void> {
    const target = resolveFrame(file, line, col, this.trace?.meta.cwd);
    if (!target.ok) {
      void vscode.window.showWarningMessage(`Cannot open ${typeof file === 'string' ? file : 'that frame'}: ${target.reason}.`);
      return;
    }
    const pos = new vscode.Position(target.line - 1, target.col - 1);
    const column = this.panel.viewColumn === vscode.ViewColumn.One ? vscode.ViewColumn.Beside : vscode.ViewColumn.One;
    try {
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(target.file));
      const p = doc.validatePosition(pos);
      await vscode.window.showTextDocument(doc, { viewColumn: column, selection: new vscode.Range(p, p), preview: true });
    } catch (e) {
      void vscode.window.showWarningMessage(`Cannot open ${target.file}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Ties something to this view's lifetime (disposed with the panel). */
  track(...items: vscode.Disposable[]): void {
    if (this.disposed) {
      for (const d of items) d.dispose();
      return;
    }
    this.disposables.push(...items);
  }

  reveal(preserveFocus = true): void {
    this.panel.reveal(undefined, preserveFocus);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.clearSession();
    for (const d of this.disposables.splice(0)) d.dispose();
    this.host.viewDisposed(this);
    this.panel.dispose();
  }
}

/** The exhaustive check of a switch that tolerates unknown message types at run time. */
function tolerate(_msg: never): void {}
