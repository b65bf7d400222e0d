/**
 * "Open Folder of Traces…": a folder of traces (what `shutdown-trace collect` wrote, a
 * `kubectl cp` of spools, saved runs) as a tree in the Shutdown Trace view, grouped by verdict
 * worst first (or newest first), refreshed when files appear. Spools not collected yet get a
 * Collect action that runs collect's engine in this process. Opening and collecting traces
 * runs no workspace code, so both work in Restricted Mode.
 */
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { collectDir } from '../core/collect-dir';
import { writeFileAtomic } from '../cli/io';
import { parseSeconds } from '../cli/args';
import { SPOOL_SUFFIX, TRACE_SUFFIX } from '../core/spool-format';
import { assertNever } from '../shared/assert-never';
import { describeRow, FolderReader, formatWhen, groupsOf, labelOf, byTime, type BadRow, type FolderScan, type SpoolRow, type Tone, type TraceRow } from './traceFolder';
import { TRACE_EDITOR_VIEW_TYPE as TRACE_VIEWER } from './traceEditor';
import { UserError } from './errors';

export const TRACES_VIEW = 'shutdownTrace.traces';
const FOLDER_KEY = 'shutdownTrace.tracesFolder';
const MODE_KEY = 'shutdownTrace.tracesOrder';
/** A burst of files (collect writing ten traces) is one refresh. */
const REFRESH_DEBOUNCE_MS = 300;

export type ListOrder = 'verdict' | 'time';

type Node =
  | { type: 'group'; title: string; tone: Tone; rows: TraceRow[] }
  | { type: 'trace'; row: TraceRow }
  | { type: 'spools'; rows: SpoolRow[] }
  | { type: 'spool'; row: SpoolRow }
  | { type: 'bad-group'; rows: BadRow[] }
  | { type: 'bad'; row: BadRow };

export class TracesFolderView implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  readonly view: vscode.TreeView<Node>;
  private reader?: FolderReader;
  private watcher?: vscode.Disposable;
  private timer?: NodeJS.Timeout;
  private scanning?: Promise<FolderScan | undefined>;
  private again = false;
  /** The last scan shown (tests read it). */
  current?: FolderScan;
  order: ListOrder;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly context: vscode.ExtensionContext) {
    this.order = context.workspaceState.get<ListOrder>(MODE_KEY) === 'time' ? 'time' : 'verdict';
    this.view = vscode.window.createTreeView(TRACES_VIEW, { treeDataProvider: this, showCollapseAll: true });
    this.disposables.push(this.view, this.changed);
    void this.setContext();
    // After a reload, the folder that was open comes back.
    const last = context.workspaceState.get<string>(FOLDER_KEY);
    if (last && isDir(last)) void this.open(last, { reveal: false }).catch(() => undefined);
  }

  get folder(): string | undefined {
    return this.reader?.dir;
  }

  /** The command: a folder from the explorer's context menu, a path (tests), else a folder picker. */
  async openCommand(arg?: unknown): Promise<FolderScan | undefined> {
    let dir = arg instanceof vscode.Uri ? arg.fsPath : typeof arg === 'string' ? path.resolve(arg) : undefined;
    if (!dir) {
      const picked = await vscode.window.showOpenDialog({
        title: 'Open a folder of Shutdown Trace traces or spools',
        openLabel: 'Open folder',
        canSelectFiles: false,
        canSelectFolders: true,
        canSelectMany: false,
        defaultUri: this.folder ? vscode.Uri.file(this.folder) : vscode.workspace.workspaceFolders?.[0]?.uri,
      });
      dir = picked?.[0]?.fsPath;
    }
    if (!dir) return undefined;
    if (!isDir(dir)) throw new UserError(`${dir} is not a folder.`);
    return this.open(dir, { reveal: true });
  }

  async open(dir: string, o: { reveal: boolean }): Promise<FolderScan | undefined> {
    this.watcher?.dispose();
    this.reader = new FolderReader(dir);
    this.current = undefined;
    await this.context.workspaceState.update(FOLDER_KEY, dir);
    const w = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(dir), `**/*{${TRACE_SUFFIX},${SPOOL_SUFFIX}}`));
    w.onDidCreate(() => this.refreshSoon());
    w.onDidChange(() => this.refreshSoon());
    w.onDidDelete(() => this.refreshSoon());
    this.watcher = w;
    this.view.description = path.basename(dir);
    if (o.reveal) await vscode.commands.executeCommand(`${TRACES_VIEW}.focus`);
    return this.refresh();
  }

  close(): void {
    this.watcher?.dispose();
    this.watcher = undefined;
    this.reader = undefined;
    this.current = undefined;
    this.view.description = undefined;
    this.view.message = undefined;
    void this.context.workspaceState.update(FOLDER_KEY, undefined);
    void this.setContext();
    this.changed.fire(undefined);
  }

  private refreshSoon(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), REFRESH_DEBOUNCE_MS);
  }

  /** Re-reads the folder (only changed files); one scan at a time, a request during one runs once after. */
  async refresh(): Promise<FolderScan | undefined> {
    if (this.scanning) {
      this.again = true;
      return this.scanning;
    }
    const reader = this.reader;
    if (!reader) return undefined;
    this.scanning = (async () => {
      let scan: FolderScan | undefined;
      do {
        this.again = false;
        scan = await reader.scan();
      } while (this.again && this.reader === reader);
      if (this.reader !== reader) return undefined;
      this.current = scan;
      this.view.message = summary(scan, this.order);
      await this.setContext();
      this.changed.fire(undefined);
      return scan;
    })().finally(() => {
      this.scanning = undefined;
    });
    return this.scanning;
  }

  async setOrder(order: ListOrder): Promise<void> {
    this.order = order;
    await this.context.workspaceState.update(MODE_KEY, order);
    if (this.current) this.view.message = summary(this.current, order);
    await this.setContext();
    this.changed.fire(undefined);
  }

  private async setContext(): Promise<void> {
    await vscode.commands.executeCommand('setContext', 'shutdownTrace.traces.open', !!this.reader);
    await vscode.commands.executeCommand('setContext', 'shutdownTrace.traces.order', this.order);
    await vscode.commands.executeCommand('setContext', 'shutdownTrace.traces.hasSpools', !!this.current?.spools.length);
  }

  /**
   * Collect: the spools of the open folder (or the folder given) into traces, with the engine
   * `shutdown-trace collect` runs. `arg` may carry { grace: "30s" } (tests); else the grace
   * period is asked, as --grace.
   */
  async collect(arg?: unknown): Promise<{ written: string[]; problems: string[] } | undefined> {
    const a = arg && typeof arg === 'object' && !(arg instanceof vscode.Uri) ? (arg as { grace?: unknown; folder?: unknown }) : {};
    const dir = typeof a.folder === 'string' ? a.folder : this.folder;
    if (!dir) throw new UserError('Open a folder of traces first ("Shutdown Trace: Open Folder of Traces…").');
    let graceText = typeof a.grace === 'string' ? a.grace : undefined;
    if (graceText === undefined) {
      graceText = await vscode.window.showInputBox({
        title: 'Collect: the grace period the platform gave (terminationGracePeriodSeconds)',
        prompt: 'As collect --grace: 30s, 1m, 1500ms (a bare number is seconds). Empty: not known (30 s, the Kubernetes default, is assumed, and a kill is only "died by SIGKILL").',
        value: '30s',
        validateInput: (v) => (v.trim() === '' || durationOf(v) !== undefined ? undefined : 'A duration: 30 (seconds), 30s, 1m, 1500ms, or empty'),
      });
      if (graceText === undefined) return undefined;
    }
    const graceMs = graceText.trim() === '' ? undefined : durationOf(graceText);
    if (graceText.trim() !== '' && graceMs === undefined) throw new UserError(`Not a duration: ${graceText} (use e.g. 30s, 1m, 1500ms).`);
    const { results, input } = await vscode.window.withProgress({ location: { viewId: TRACES_VIEW }, title: 'Collecting spools' }, async () => collectDir(dir, { graceMs, write: writeFileAtomic }));
    const written = results.filter((r) => r.written).map((r) => r.file);
    await this.refresh();
    // One message for the whole folder, never one per file.
    const problems = input.problems;
    const msg = `Collected ${written.length} shutdown${written.length === 1 ? '' : 's'} from ${input.units.length} spool${input.units.length === 1 ? '' : 's'} in ${path.basename(dir)}${problems.length ? `; ${problems.length} file${problems.length === 1 ? '' : 's'} could not be used (listed under "Could not be read")` : ''}.`;
    if (typeof a.grace !== 'string') void vscode.window.showInformationMessage(msg);
    return { written, problems };
  }

  /** "Open as text" on an item: the file itself (a spool, a broken trace, a trace's JSON). */
  async openAsText(node: unknown): Promise<void> {
    const file = fileOf(node);
    if (file) await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(file), 'default');
  }

  /** "Copy path" on an item. */
  async copyPath(node: unknown): Promise<string | undefined> {
    const file = fileOf(node);
    if (file) await vscode.env.clipboard.writeText(file);
    return file;
  }

  // ---------------------------------------------------------------- tree

  getChildren(node?: Node): Node[] {
    const scan = this.current;
    if (!scan) return [];
    if (!node) {
      const top: Node[] = [];
      if (this.order === 'verdict') for (const g of groupsOf(scan)) top.push({ type: 'group', title: g.title, tone: toneOfGroup(g.rows), rows: g.rows });
      else for (const row of [...scan.traces].sort(byTime)) top.push({ type: 'trace', row });
      if (scan.spools.length) top.push({ type: 'spools', rows: scan.spools });
      if (scan.bad.length) top.push({ type: 'bad-group', rows: scan.bad });
      return top;
    }
    switch (node.type) {
      case 'group':
        return node.rows.map((row) => ({ type: 'trace', row }));
      case 'spools':
        return node.rows.map((row) => ({ type: 'spool', row }));
      case 'bad-group':
        return node.rows.map((row) => ({ type: 'bad', row }));
      case 'trace':
      case 'spool':
      case 'bad':
        return [];
      default:
        return assertNever(node);
    }
  }

  getTreeItem(node: Node): vscode.TreeItem {
    switch (node.type) {
      case 'group': {
        const item = new vscode.TreeItem(`${node.title} (${node.rows.length})`, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `group:${node.title}`;
        item.iconPath = toneIcon(node.tone);
        item.contextValue = 'verdictGroup';
        return item;
      }
      case 'trace': {
        const r = node.row;
        const item = new vscode.TreeItem(labelOf(r), vscode.TreeItemCollapsibleState.None);
        item.id = `trace:${r.file}`;
        item.description = describeRow(r);
        item.iconPath = toneIcon(r.tone);
        item.contextValue = 'trace';
        const md = new vscode.MarkdownString(undefined, false);
        md.appendText(r.verdict);
        md.appendMarkdown('\n\n');
        md.appendText(`${r.rel}${r.incomplete ? `\nincomplete: ${r.incomplete}` : ''}`);
        item.tooltip = md;
        item.accessibilityInformation = { label: `${labelOf(r)}: ${describeRow(r)}` };
        item.command = { command: 'vscode.openWith', title: 'Open trace', arguments: [vscode.Uri.file(r.file), TRACE_VIEWER] };
        return item;
      }
      case 'spools': {
        const n = node.rows.length;
        const item = new vscode.TreeItem(`Not collected yet (${n} spool${n === 1 ? '' : 's'})`, vscode.TreeItemCollapsibleState.Expanded);
        item.id = 'spools';
        item.description = 'Collect turns them into traces';
        item.iconPath = new vscode.ThemeIcon('inbox');
        item.contextValue = 'spools';
        return item;
      }
      case 'spool': {
        const r = node.row;
        const item = new vscode.TreeItem(labelOf(r), vscode.TreeItemCollapsibleState.None);
        item.id = `spool:${r.file}`;
        item.description = [r.rel, formatWhen(r.at)].filter(Boolean).join(' · ');
        item.tooltip = `${r.rel}\nA spool the preload wrote without the launcher, not collected yet: Collect groups the processes of each shutdown and analyses them.`;
        item.iconPath = new vscode.ThemeIcon('file');
        item.contextValue = 'spool';
        return item;
      }
      case 'bad-group': {
        const n = node.rows.length;
        const item = new vscode.TreeItem(`Could not be read (${n})`, vscode.TreeItemCollapsibleState.Expanded);
        item.id = 'bad';
        item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
        item.contextValue = 'unreadableGroup';
        return item;
      }
      case 'bad': {
        const r = node.row;
        const item = new vscode.TreeItem(path.basename(r.file), vscode.TreeItemCollapsibleState.None);
        item.id = `bad:${r.file}`;
        item.description = r.problem;
        item.tooltip = `${r.rel}\n${r.problem}`;
        item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
        item.contextValue = 'unreadable';
        if (r.openable) item.command = { command: 'vscode.openWith', title: 'Open trace', arguments: [vscode.Uri.file(r.file), TRACE_VIEWER] };
        return item;
      }
      default:
        return assertNever(node);
    }
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.watcher?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

/** The file of a trace, spool or unreadable item (what a context-menu command receives). */
function fileOf(node: unknown): string | undefined {
  if (!node || typeof node !== 'object' || !('type' in node) || !('row' in node)) return undefined;
  const row = (node as { row?: { file?: unknown } }).row;
  return typeof row?.file === 'string' ? row.file : undefined;
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Exactly collect's --grace (a bare number is seconds, as in the Pod spec): the CLI's own reader. */
function durationOf(v: string): number | undefined {
  try {
    return parseSeconds(v, 'grace');
  } catch {
    return undefined;
  }
}

function toneOfGroup(rows: TraceRow[]): Tone {
  return rows.some((r) => r.tone === 'bad') ? 'bad' : rows.some((r) => r.tone === 'warn') ? 'warn' : 'ok';
}

function toneIcon(tone: Tone): vscode.ThemeIcon {
  switch (tone) {
    case 'ok':
      return new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed'));
    case 'warn':
      return new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
    case 'bad':
      return new vscode.ThemeIcon('error', new vscode.ThemeColor('problemsErrorIcon.foreground'));
    default:
      return assertNever(tone);
  }
}

/** The line above the list: how many of what, and what was not read. */
function summary(scan: FolderScan, order: ListOrder): string {
  const n = scan.traces.length;
  const parts = [`${n} trace${n === 1 ? '' : 's'}${n ? (order === 'verdict' ? ', worst first' : ', newest first') : ''}`];
  if (scan.spools.length) parts.push(`${scan.spools.length} spool${scan.spools.length === 1 ? '' : 's'} to collect`);
  if (scan.bad.length) parts.push(`${scan.bad.length} unreadable`);
  if (scan.truncated) parts.push('only the first files were read (2,000 files, 6 folders deep)');
  if (!n && !scan.spools.length && !scan.bad.length) return `No traces (*${TRACE_SUFFIX}) or spools (*${SPOOL_SUFFIX}) in ${scan.dir} yet; new ones appear here.`;
  return parts.join(' · ');
}
