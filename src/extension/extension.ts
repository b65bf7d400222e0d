/**
 * Shutdown Trace for VS Code: the only code that imports `vscode`.
 *
 * Run commands accept an optional options argument: { signal, delivery, signalWhen, signalAfterMs,
 * secondSignal, secondSignalAfterMs, gracePeriodMs, stallMs, cwd, env, output, saveTraces } plus
 * what to run ({ file } / { script, cwd } / { name } / { commandLine }). They resolve with the final
 * trace when the run ends (undefined when cancelled or not started).
 */
import * as vscode from 'vscode';
import { Controller } from './controller';
import { TIMELINE_VIEW_TYPE } from './panels';
import { reportError } from './errors';
import type { RunRequest } from './session';
import { commandRequest, fileRequest, isRunRequest, launchRequest, scriptRequest } from './targets';
import { TraceEditorProvider } from './traceEditor';
import { RUN_REQUEST, ShutdownCodeLens } from './codeLens';
import { SHOW_IN_TIMELINE } from './diagnostics';
import { BudgetTests } from './testing';
import { runWithOptions } from './runOptions';
import { TracesFolderView } from './tracesView';

let controller: Controller | undefined;

export function activate(context: vscode.ExtensionContext): { controller: Controller; traces: TracesFolderView } {
  const c = new Controller(context);
  controller = c;
  context.subscriptions.push(c);

  const register = (id: string, fn: (...args: unknown[]) => unknown) => {
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          return await fn(...args);
        } catch (e) {
          reportError(e, c.channel);
          return undefined;
        }
      }),
    );
  };
  const run = async (request: RunRequest | undefined, options: unknown) => (request ? c.start(request, options) : undefined);
  /** The options object: the second argument, or the first when it is a plain object (not a Uri or a tree node). */
  const optionsOf = (a: unknown, b: unknown) => (b !== undefined ? b : isPlainOptions(a) ? a : undefined);

  register('shutdownTrace.runFile', async (a, b) => run(await fileRequest(a), optionsOf(a, b)));
  register('shutdownTrace.runScript', async (a, b) => run(await scriptRequest(a), optionsOf(a, b)));
  register('shutdownTrace.runLaunchConfig', async (a, b) => run(await launchRequest(a), optionsOf(a, b)));
  register('shutdownTrace.runCommand', async (a, b) => run(await commandRequest(context, a), optionsOf(a, b)));
  register('shutdownTrace.rerun', async (a) => c.rerun(a));
  register('shutdownTrace.runWithOptions', () => runWithOptions(c, context));
  register('shutdownTrace.sendSignal', (a) => c.sendSignal(a));
  register('shutdownTrace.kill', () => c.kill());
  register('shutdownTrace.stop', () => c.stop());
  register('shutdownTrace.export', (a) => c.exportTrace(a));
  register('shutdownTrace.copySummary', () => c.copySummary());
  register('shutdownTrace.open', (a) => c.openTrace(a));
  register('shutdownTrace.showTimeline', () => c.showTimeline());
  register('shutdownTrace.openExample', () => c.openExample());
  register('shutdownTrace.runExample', () => c.runExample());
  // Not in the palette: the arguments come from a diagnostic's quick fix or a CodeLens.
  register(SHOW_IN_TIMELINE, (a) => c.showInTimeline(a));
  register(RUN_REQUEST, async (a) => (isRunRequest(a) ? c.start(a) : undefined));

  // A folder of traces (collect's output, spools, saved runs), worst first. Allowed in Restricted Mode: it runs no code.
  const traces = new TracesFolderView(context);
  context.subscriptions.push(traces);
  register('shutdownTrace.openTracesFolder', (a) => traces.openCommand(a));
  register('shutdownTrace.traces.collect', (a) => traces.collect(a));
  register('shutdownTrace.traces.refresh', () => traces.refresh());
  register('shutdownTrace.traces.orderByTime', () => traces.setOrder('time'));
  register('shutdownTrace.traces.orderByVerdict', () => traces.setOrder('verdict'));
  register('shutdownTrace.traces.close', () => traces.close());
  register('shutdownTrace.traces.openAsText', (a) => traces.openAsText(a));
  register('shutdownTrace.traces.copyPath', (a) => traces.copyPath(a));

  // The check budgets in the Testing view.
  c.budgets = new BudgetTests(c);
  context.subscriptions.push(c.budgets);

  const lens = new ShutdownCodeLens(c.results);
  context.subscriptions.push(
    lens,
    vscode.languages.registerCodeLensProvider(
      ['javascript', 'typescript', 'javascriptreact', 'typescriptreact'].map((language) => ({ language, scheme: 'file' })),
      lens,
    ),
  );

  context.subscriptions.push(
    vscode.window.registerWebviewPanelSerializer(TIMELINE_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel: vscode.WebviewPanel) => {
        try {
          await c.restoreTimeline(panel);
        } catch (e) {
          reportError(e, c.channel, 'restoring the timeline');
        }
      },
    }),
    TraceEditorProvider.register(c),
  );
  return { controller: c, traces };
}

export async function deactivate(): Promise<void> {
  await controller?.shutdown();
  controller = undefined;
}

function isPlainOptions(v: unknown): boolean {
  return !!v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof vscode.Uri) && !('task' in v) && !('package' in v);
}
