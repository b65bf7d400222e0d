/**
 * The `check` budgets in VS Code's Testing view: each file with a signal listener is a test
 * suite whose tests are the budgets (graceful exit, shutdown time, leaked handles, orphans, lost
 * requests). Running one runs the file with shutdown trace and holds the trace against the
 * budgets with the CLI's own evaluateBudgets; a broken leak budget carries the leak's creation
 * site (analysis.leaks) as its location and stack.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
// check.ts brings the CLI with it: loaded on the first run of a budget, not at activation.
import type { BudgetResult, Budgets } from '../cli/check';
import type { Trace } from '../shared/trace';
import { findAnchors } from './results';
import { fileRequest } from './targets';

export const BUDGETS: { id: BudgetResult['id']; label: string }[] = [
  { id: 'graceful-exit', label: 'graceful exit' },
  { id: 'shutdown-time', label: 'shuts down within the grace period' },
  { id: 'leaked-handles', label: 'no leaked handles' },
  { id: 'orphans', label: 'no orphaned child processes' },
  { id: 'lost-requests', label: 'no requests lost during shutdown' },
];

/** The defaults of `shutdown-trace check`: nothing allowed. */
const DEFAULT_BUDGETS: Budgets = { allowLeak: [], allowLeaks: false, allowOrphans: false, maxLost: 0 };
const SOURCE_GLOB = '**/*.{js,mjs,cjs,ts,mts,cts}';
const MAX_FILES = 300;

export interface BudgetHost {
  start(request: import('./session').RunRequest, overrides?: unknown): Promise<Trace | undefined>;
}

export class BudgetTests implements vscode.Disposable {
  readonly ctrl = vscode.tests.createTestController('shutdownTrace', 'Shutdown Trace budgets');
  /** The last results per file (for the extension tests). */
  readonly lastResults = new Map<string, BudgetResult[]>();
  private readonly subs: vscode.Disposable[] = [];

  constructor(private readonly host: BudgetHost) {
    this.ctrl.resolveHandler = async (item) => {
      if (!item) await this.discover();
    };
    this.ctrl.createRunProfile('Run shutdown budgets', vscode.TestRunProfileKind.Run, (req, token) => this.run(req, token), true);
    this.subs.push(
      vscode.workspace.onDidOpenTextDocument((d) => this.update(d)),
      vscode.workspace.onDidSaveTextDocument((d) => this.update(d)),
    );
    for (const d of vscode.workspace.textDocuments) this.update(d);
  }

  private isSource(uri: vscode.Uri): boolean {
    return uri.scheme === 'file' && /\.([cm]?[jt]s)$/.test(uri.fsPath) && !/[\\/]node_modules[\\/]/.test(uri.fsPath) && !!vscode.workspace.getWorkspaceFolder(uri);
  }

  /** A file is a suite while it adds a signal listener. */
  private update(doc: vscode.TextDocument): void {
    if (!this.isSource(doc.uri)) return;
    this.setFile(
      doc.uri,
      findAnchors(doc.getText()).some((a) => a.kind === 'signal'),
    );
  }

  private async discover(): Promise<void> {
    const files = await vscode.workspace.findFiles(SOURCE_GLOB, '**/node_modules/**', MAX_FILES);
    for (const uri of files) {
      if (!this.isSource(uri)) continue;
      try {
        const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
        this.setFile(
          uri,
          findAnchors(text).some((a) => a.kind === 'signal'),
        );
      } catch {
        // unreadable now: not a suite
      }
    }
  }

  /** The file's suite, created with its budgets when needed. */
  fileItem(uri: vscode.Uri): vscode.TestItem {
    return this.setFile(uri, true)!;
  }

  private setFile(uri: vscode.Uri, present: boolean): vscode.TestItem | undefined {
    const id = uri.toString();
    const existing = this.ctrl.items.get(id);
    if (!present) {
      if (existing) this.ctrl.items.delete(id);
      return undefined;
    }
    if (existing) return existing;
    const item = this.ctrl.createTestItem(id, vscode.workspace.asRelativePath(uri), uri);
    item.description = 'run with shutdown trace';
    for (const b of BUDGETS) item.children.add(this.ctrl.createTestItem(`${id}#${b.id}`, b.label, uri));
    this.ctrl.items.add(item);
    return item;
  }

  /** Runs the files of the request (a budget runs its file) and reports every budget of each. */
  async run(request: vscode.TestRunRequest, token?: vscode.CancellationToken, overrides?: unknown): Promise<void> {
    const files = new Map<string, vscode.TestItem>();
    const add = (i: vscode.TestItem) => {
      const file = i.parent ?? i;
      files.set(file.id, file);
    };
    if (request.include) request.include.forEach(add);
    else this.ctrl.items.forEach(add);
    const run = this.ctrl.createTestRun(request, 'Shutdown Trace budgets', false);
    try {
      for (const file of files.values()) {
        if (token?.isCancellationRequested) break;
        await this.runFile(run, file, overrides);
      }
    } finally {
      run.end();
    }
  }

  private async runFile(run: vscode.TestRun, file: vscode.TestItem, overrides?: unknown): Promise<void> {
    const children: vscode.TestItem[] = [];
    file.children.forEach((c) => children.push(c));
    for (const c of children) run.started(c);
    const t0 = Date.now();
    let trace: Trace | undefined;
    let error: string | undefined;
    try {
      const req = file.uri ? await fileRequest(file.uri) : undefined;
      trace = req ? await this.host.start(req, overrides) : undefined;
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    const elapsed = Date.now() - t0;
    if (!trace?.analysis) {
      for (const c of children) run.errored(c, new vscode.TestMessage(error ?? 'The run did not produce a trace.'), elapsed);
      return;
    }
    const { evaluateBudgets } = await import('../cli/check');
    const results = evaluateBudgets(trace, DEFAULT_BUDGETS);
    this.lastResults.set(file.uri!.fsPath, results);
    for (const c of children) {
      const id = c.id.slice(c.id.lastIndexOf('#') + 1);
      const r = results.find((x) => x.id === id);
      if (!r || r.status === 'skip') run.skipped(c);
      else if (r.status === 'pass') run.passed(c, elapsed);
      else run.failed(c, this.message(r, trace), elapsed);
    }
  }

  private message(r: BudgetResult, trace: Trace): vscode.TestMessage {
    const m = new vscode.TestMessage(`${r.message}${r.detail ? `\n\n${r.detail}` : ''}`);
    const leak = r.id === 'leaked-handles' ? trace.analysis?.leaks?.find((l) => l.inUserCode && l.site) : undefined;
    const site = leak?.site;
    if (site) {
      const file = path.isAbsolute(site.file) ? site.file : path.resolve(trace.meta.cwd, site.file);
      m.location = new vscode.Location(vscode.Uri.file(file), new vscode.Position(Math.max(0, site.line - 1), Math.max(0, site.col - 1)));
      // the creation site's stack, as the handle recorded it
      const frames = leak.handles.find((h) => h.site?.frames.length)?.site?.frames ?? [site];
      m.stackTrace = frames.slice(0, 20).map((f) => {
        const abs = f.file.startsWith('node:') || path.isAbsolute(f.file) ? f.file : path.resolve(trace.meta.cwd, f.file);
        return new vscode.TestMessageStackFrame(
          f.fn ?? '<anonymous>',
          abs.startsWith('node:') ? undefined : vscode.Uri.file(abs),
          new vscode.Position(Math.max(0, f.line - 1), Math.max(0, f.col - 1)),
        );
      });
    }
    return m;
  }

  dispose(): void {
    for (const s of this.subs) s.dispose();
    this.ctrl.dispose();
  }
}
