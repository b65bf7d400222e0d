/**
 * Export trace… and Copy bug-report summary: the native format, Chrome Trace Event JSON for
 * Perfetto, or the Markdown summary, always redacted (the run's environment values are secrets).
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import type { Trace } from '../shared/trace';
import { redactTrace } from '../core/redact';
import { toChromeTrace } from '../core/export-chrome';
import { toMarkdown } from '../core/export-md';
import { UserError } from './errors';
import { withAnalysis } from './traceView';
import { TRACE_EDITOR_VIEW_TYPE } from './traceEditor';

export type ExportFormat = 'native' | 'chrome' | 'md';

/** A copy of the trace with its analysis, every secret value redacted. */
export function prepared(trace: Trace, secrets: string[]): Trace {
  const copy = structuredClone(trace);
  return redactTrace(withAnalysis(copy), secrets);
}

/**
 * Export the trace: the native format (.shutdown-trace.json), Chrome Trace Event JSON for Perfetto
 * (any other .json), or the Markdown summary (.md).
 * `arg` may carry { path, format } (for scripts and tests); otherwise a save dialog asks.
 * Returns the written path.
 */
export async function exportTrace(t: Trace | undefined, arg: unknown, secrets: string[]): Promise<string | undefined> {
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
  const redacted = prepared(t, secrets);
  const text = format === 'md' ? toMarkdown(redacted) : JSON.stringify(format === 'native' ? redacted : toChromeTrace(redacted), null, format === 'native' ? 1 : 0);
  await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(text));
  const shown = target.fsPath;
  if (format === 'md') {
    void vscode.window.showInformationMessage(`Markdown summary written to ${shown} (secrets redacted).`, 'Open').then((c) => {
      if (c) void vscode.commands.executeCommand('markdown.showPreview', target).then(undefined, () => vscode.window.showTextDocument(target!));
    });
  } else if (format === 'native') {
    void vscode.window.showInformationMessage(`Trace exported to ${shown} (secrets redacted).`, 'Open').then((c) => {
      if (c) void vscode.commands.executeCommand('vscode.openWith', target, TRACE_EDITOR_VIEW_TYPE);
    });
  } else {
    void vscode.window.showInformationMessage(`Chrome Trace Event file written to ${shown} (secrets redacted). Open it in Perfetto (ui.perfetto.dev) or chrome://tracing.`);
  }
  return shown;
}

export async function copySummary(t: Trace | undefined, secrets: string[]): Promise<string> {
  if (!t) throw new UserError('There is no trace to summarize yet: run something with shutdown trace, or open a trace file.');
  const md = toMarkdown(prepared(t, secrets));
  await vscode.env.clipboard.writeText(md);
  void vscode.window.showInformationMessage('Bug-report summary copied to the clipboard (secrets redacted).');
  return md;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}
