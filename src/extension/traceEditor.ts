/**
 * The read-only custom editor for *.shutdown-trace.json. A corrupt or foreign file shows the
 * parse error in the panel and as a notification, never a blank panel. Reloads when the file changes.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import type { Controller } from './controller';
import { readTraceFile } from './storage';
import type { TraceView } from './traceView';

export const TRACE_EDITOR_VIEW_TYPE = 'shutdownTrace.traceViewer';

class TraceDocument implements vscode.CustomDocument {
  constructor(readonly uri: vscode.Uri) {}
  dispose(): void {}
}

export class TraceEditorProvider implements vscode.CustomReadonlyEditorProvider<TraceDocument> {
  constructor(private readonly controller: Controller) {}

  static register(controller: Controller): vscode.Disposable {
    return vscode.window.registerCustomEditorProvider(TRACE_EDITOR_VIEW_TYPE, new TraceEditorProvider(controller), {
      webviewOptions: { retainContextWhenHidden: false, enableFindWidget: true },
      supportsMultipleEditorsPerDocument: true,
    });
  }

  openCustomDocument(uri: vscode.Uri): TraceDocument {
    return new TraceDocument(uri);
  }

  async resolveCustomEditor(document: TraceDocument, panel: vscode.WebviewPanel): Promise<void> {
    const view = this.controller.adoptEditor(panel);
    await this.load(view, document.uri, true);
    if (document.uri.scheme === 'file') {
      const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(path.dirname(document.uri.fsPath)), path.basename(document.uri.fsPath)), true, false, true);
      let timer: NodeJS.Timeout | undefined;
      watcher.onDidChange(() => {
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => void this.load(view, document.uri, false), 200);
      });
      view.track(watcher, { dispose: () => timer && clearTimeout(timer) });
    }
  }

  private async load(view: TraceView, uri: vscode.Uri, notify: boolean): Promise<void> {
    try {
      const trace = await readTraceFile(uri);
      view.setSource({ kind: 'trace', trace, file: uri });
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      view.setSource({ kind: 'error', message });
      // parseTrace's and readTraceFile's messages already name the file.
      if (notify) void vscode.window.showErrorMessage(`Shutdown Trace: ${message}`);
    }
  }
}
