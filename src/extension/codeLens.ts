/**
 * CodeLens above `process.on('SIGTERM', …)` (on/once/addListener, any signal) and where the
 * `shutdown-trace:phase` channel is made: "Run with shutdown trace" and the last result for the
 * file ("graceful in 347 ms", "killed at 3 s deadline: 1 leak"), which opens that trace.
 */
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import type { Trace } from '../shared/trace';
import type { RunRequest } from './session';
import { filesOf, findAnchors, resultPhrase } from './results';
import { isRunRequest } from './targets';
import { SHOW_IN_TIMELINE } from './diagnostics';

const RESULTS_KEY = 'shutdownTrace.fileResults';
const MAX_FILES = 200;
export const RUN_REQUEST = 'shutdownTrace.runRequest';

export interface FileResult {
  tracePath: string;
  text: string;
  tone: 'ok' | 'warn' | 'bad';
  at: number;
  /** What ran: the lens re-runs it when it was not this file itself (an npm script, a launch configuration). */
  request: RunRequest;
}

/** The last result per source file, kept in workspace state so lenses survive a reload. */
export class RunResults {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly state: vscode.Memento) {}

  private all(): Record<string, FileResult> {
    const v = this.state.get<Record<string, FileResult>>(RESULTS_KEY);
    return v && typeof v === 'object' ? v : {};
  }

  get(file: string): FileResult | undefined {
    const r = this.all()[file];
    return r && typeof r.tracePath === 'string' && typeof r.text === 'string' && isRunRequest(r.request) ? r : undefined;
  }

  async record(trace: Trace, tracePath: string, request: RunRequest): Promise<void> {
    const entry = request.kind === 'file' ? request.argv[request.argv.length - 1] : undefined;
    const { text, tone } = resultPhrase(trace);
    const all = this.all();
    const at = Date.now();
    for (const f of filesOf(trace, entry)) all[f] = { tracePath, text, tone, at, request: { ...request, overrides: undefined } };
    const kept = Object.entries(all)
      .sort((a, b) => b[1].at - a[1].at)
      .slice(0, MAX_FILES);
    await this.state.update(RESULTS_KEY, Object.fromEntries(kept));
    this.changed.fire();
  }

  dispose(): void {
    this.changed.dispose();
  }
}

const ICON = { ok: '$(pass)', warn: '$(warning)', bad: '$(error)' } as const;

export class ShutdownCodeLens implements vscode.CodeLensProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;

  constructor(private readonly results: RunResults) {
    results.onDidChange(() => this.changed.fire());
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('shutdownTrace.codeLens.enabled')) this.changed.fire();
    });
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    if (doc.uri.scheme !== 'file') return [];
    if (vscode.workspace.getConfiguration('shutdownTrace', doc.uri).get<boolean>('codeLens.enabled', true) === false) return [];
    const anchors = findAnchors(doc.getText());
    if (!anchors.length) return [];
    const last = this.results.get(doc.uri.fsPath);
    const lenses: vscode.CodeLens[] = [];
    for (const a of anchors) {
      const range = new vscode.Range(a.line, 0, a.line, 0);
      const own = !last || (last.request.kind === 'file' && last.request.argv[last.request.argv.length - 1] === doc.uri.fsPath);
      lenses.push(
        new vscode.CodeLens(
          range,
          own
            ? {
                title: '$(pulse) Run with shutdown trace',
                command: 'shutdownTrace.runFile',
                arguments: [doc.uri],
                tooltip: `Run ${vscode.workspace.asRelativePath(doc.uri)} and send it ${a.kind === 'signal' ? a.what : 'SIGTERM'}, then show what its shutdown did`,
              }
            : {
                title: `$(pulse) Run ${last.request.label} with shutdown trace`,
                command: RUN_REQUEST,
                arguments: [last.request],
                tooltip: `The last trace of this file came from ${last.request.label}`,
              },
        ),
      );
      if (last && fs.existsSync(last.tracePath)) {
        lenses.push(
          new vscode.CodeLens(range, {
            title: `${ICON[last.tone]} ${last.text}`,
            command: SHOW_IN_TIMELINE,
            arguments: [{ trace: last.tracePath }],
            tooltip: `Last run (${new Date(last.at).toLocaleTimeString()}): open its trace`,
          }),
        );
      }
    }
    return lenses;
  }

  dispose(): void {
    this.changed.dispose();
  }
}
