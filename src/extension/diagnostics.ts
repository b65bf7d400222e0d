/**
 * A finished run's problems in the editor: a Diagnostic per leak site, masking process.exit()
 * and throwing listener (results.ts decides what they are), each with a "Show in Shutdown Trace
 * timeline" quick fix. Kept per run target: the next run of the same target replaces them.
 */
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Trace } from '../shared/trace';
import { problemsOf, type Problem } from './results';

export const SOURCE = 'Shutdown Trace';
export const SHOW_IN_TIMELINE = 'shutdownTrace.showInTimeline';

/** What the quick fix needs to find the item again in the timeline. */
export interface ShowArgs {
  trace: string;
  leak?: number;
  event?: number;
}

interface Published {
  diagnostic: vscode.Diagnostic;
  show: ShowArgs;
}

export class ProblemsPublisher implements vscode.Disposable {
  readonly collection = vscode.languages.createDiagnosticCollection('shutdownTrace');
  /** target → uri → what that target's last run said about the file. */
  private readonly byTarget = new Map<string, Map<string, Published[]>>();
  private readonly subs: vscode.Disposable[] = [];
  /** Folders outside the workspace whose files still get problems (the walkthrough's example). */
  extraRoots: string[] = [];

  constructor() {
    this.subs.push(
      vscode.languages.registerCodeActionsProvider({ scheme: 'file' }, new ShowInTimelineActions(this), { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('shutdownTrace.diagnostics.enabled') && !this.enabled) this.clearAll();
      }),
    );
  }

  get enabled(): boolean {
    return vscode.workspace.getConfiguration('shutdownTrace').get<boolean>('diagnostics.enabled', true) !== false;
  }

  /** The problems of one target's last run (empty when it found none, or diagnostics are off). */
  publish(target: string, trace: Trace, tracePath: string | undefined): vscode.Diagnostic[] {
    const touched = new Set(this.byTarget.get(target)?.keys() ?? []);
    this.byTarget.delete(target);
    const out: vscode.Diagnostic[] = [];
    // An incomplete run (stopped, killed by hand) shows what was open when it stopped, not leaks.
    if (this.enabled && trace.meta.complete && tracePath) {
      const files = new Map<string, Published[]>();
      for (const p of problemsOf(trace, (f) => this.covers(f))) {
        const d = toDiagnostic(p, tracePath);
        const uri = vscode.Uri.file(p.file).toString();
        const list = files.get(uri) ?? [];
        list.push({ diagnostic: d, show: { trace: tracePath, leak: p.leak, event: p.leak === undefined ? p.event : undefined } });
        files.set(uri, list);
        touched.add(uri);
        out.push(d);
      }
      if (files.size) this.byTarget.set(target, files);
    }
    this.refresh(touched);
    return out;
  }

  clearTarget(target: string): void {
    const files = this.byTarget.get(target);
    if (!files) return;
    this.byTarget.delete(target);
    this.refresh(new Set(files.keys()));
  }

  clearAll(): void {
    this.byTarget.clear();
    this.collection.clear();
  }

  /** The quick fix's arguments for a diagnostic the Problems panel hands back (a copy, so matched by place and text). */
  showArgsFor(uri: vscode.Uri, d: vscode.Diagnostic): ShowArgs | undefined {
    for (const files of this.byTarget.values()) {
      for (const p of files.get(uri.toString()) ?? []) {
        if (p.diagnostic.message === d.message && p.diagnostic.range.isEqual(d.range)) return p.show;
      }
    }
    return undefined;
  }

  private covers(file: string): boolean {
    if (!fs.existsSync(file)) return false;
    if (vscode.workspace.getWorkspaceFolder(vscode.Uri.file(file))) return true;
    return this.extraRoots.some((r) => !path.relative(r, file).startsWith('..'));
  }

  private refresh(uris: Set<string>): void {
    for (const u of uris) {
      const all: vscode.Diagnostic[] = [];
      for (const files of this.byTarget.values()) for (const p of files.get(u) ?? []) all.push(p.diagnostic);
      this.collection.set(vscode.Uri.parse(u), all.length ? all : undefined);
    }
  }

  dispose(): void {
    for (const s of this.subs) s.dispose();
    this.collection.dispose();
  }
}

/** The range of the expression at line:col: from the column to the end of the statement on that line. */
function rangeAt(file: string, line: number, col: number): vscode.Range {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8').split(/\r?\n/)[line - 1] ?? '';
  } catch {
    // unreadable now: a zero-width range at the position still shows in the Problems panel
  }
  const start = Math.min(Math.max(0, col - 1), text.length);
  const code = text.replace(/\s*\/\/.*$/, '').replace(/[\s;]+$/, '');
  const end = Math.max(start + 1, code.length);
  return new vscode.Range(line - 1, start, line - 1, Math.min(end, Math.max(text.length, start + 1)));
}

function toDiagnostic(p: Problem, tracePath: string): vscode.Diagnostic {
  const d = new vscode.Diagnostic(rangeAt(p.file, p.line, p.col), p.message, p.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning);
  d.source = SOURCE;
  d.code = p.kind;
  d.relatedInformation = [
    ...p.related.map((r) => new vscode.DiagnosticRelatedInformation(new vscode.Location(vscode.Uri.file(r.file), new vscode.Position(r.line - 1, r.col - 1)), r.message)),
    // Opens the run's trace in the Shutdown Trace viewer (the default editor for trace files).
    new vscode.DiagnosticRelatedInformation(new vscode.Location(vscode.Uri.file(tracePath), new vscode.Position(0, 0)), 'the trace of this run (opens in Shutdown Trace)'),
  ];
  return d;
}

class ShowInTimelineActions implements vscode.CodeActionProvider {
  constructor(private readonly publisher: ProblemsPublisher) {}

  provideCodeActions(doc: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const out: vscode.CodeAction[] = [];
    for (const d of context.diagnostics) {
      if (d.source !== SOURCE) continue;
      const args = this.publisher.showArgsFor(doc.uri, d);
      if (!args) continue;
      const a = new vscode.CodeAction('Show in Shutdown Trace timeline', vscode.CodeActionKind.QuickFix);
      a.command = { command: SHOW_IN_TIMELINE, title: 'Show in Shutdown Trace timeline', arguments: [args] };
      a.diagnostics = [d];
      out.push(a);
    }
    return out;
  }
}
