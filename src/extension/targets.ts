/**
 * What to run: the active file, a package.json script, a launch configuration, a command line.
 * Each resolver turns a command argument (or the user's picks) into a RunRequest, or throws a
 * UserError naming the problem. Returns undefined when the user cancelled.
 */
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunRequest } from './session';
import { UserError } from './errors';
import { parseCommandLine, shortLabel } from './commandLine';
import { buildLaunchCommand, isNodeLaunchConfig, type LaunchConfiguration, type VariableContext } from './launchConfig';

const NODE_EXTS = new Set(['.js', '.mjs', '.cjs']);
const TSX_EXTS = new Set(['.ts', '.mts', '.cts', '.tsx', '.jsx']);

function isObj(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof vscode.Uri);
}

function folderOf(uri: vscode.Uri): string | undefined {
  return vscode.workspace.getWorkspaceFolder(uri)?.uri.fsPath;
}

function firstFolder(): string | undefined {
  return vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri.fsPath;
}

/** Looks for node_modules/.bin/<name> from `dir` up to `stop` (inclusive), or to the filesystem root. */
export function findLocalBin(name: string, dir: string, stop?: string): string | undefined {
  const exe = process.platform === 'win32' ? `${name}.cmd` : name;
  let d = dir;
  for (;;) {
    const p = path.join(d, 'node_modules', '.bin', exe);
    if (fs.existsSync(p)) return p;
    if (stop && path.resolve(d) === path.resolve(stop)) return undefined;
    const up = path.dirname(d);
    if (up === d) return undefined;
    d = up;
  }
}

// ------------------------------------------------------------------ active file

export async function fileRequest(arg?: unknown): Promise<RunRequest | undefined> {
  let uri: vscode.Uri | undefined;
  if (arg instanceof vscode.Uri) uri = arg;
  else if (isObj(arg) && typeof arg.file === 'string') uri = vscode.Uri.file(path.resolve(firstFolder() ?? process.cwd(), arg.file));
  // With the timeline (or another panel) focused there is no active text editor: the runnable
  // file visible beside it is the one meant.
  else uri = vscode.window.activeTextEditor?.document.uri ?? visibleRunnable();
  if (!uri) return pickOtherTarget('No file is open: what should Shutdown Trace run?');

  const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri!.toString());
  if (doc?.isUntitled) throw new UserError('Save the file first: Shutdown Trace runs files from disk.');
  if (uri.scheme !== 'file') throw new UserError(`${uri.toString(true)} is not a local file; Shutdown Trace runs files on this machine.`);
  if (doc?.isDirty) await doc.save();

  const file = uri.fsPath;
  if (!fs.existsSync(file)) throw new UserError(`${file} does not exist.`);
  // A package.json is run through one of its scripts.
  if (path.basename(file) === 'package.json') return scriptRequest({ packageJson: file });
  const ext = path.extname(file).toLowerCase();
  const folder = folderOf(uri);
  const notes: string[] = [];
  let argv: string[];
  if (NODE_EXTS.has(ext)) {
    argv = ['node', file];
  } else if (TSX_EXTS.has(ext)) {
    const tsx = findLocalBin('tsx', path.dirname(file), folder);
    if (tsx) {
      argv = [tsx, file];
    } else {
      argv = ['npx', 'tsx', file];
      notes.push('tsx is not in this workspace\'s node_modules, so the file runs through "npx tsx" (npx is then the main process). Add tsx as a devDependency to run it directly.');
    }
  } else {
    return pickOtherTarget(`${path.basename(file)} is not a JavaScript or TypeScript file: what should Shutdown Trace run instead?`);
  }
  return { kind: 'file', label: path.basename(file), argv, cwd: folder ?? path.dirname(file), folder, notes };
}

function isRunnablePath(p: string): boolean {
  const ext = path.extname(p).toLowerCase();
  return NODE_EXTS.has(ext) || TSX_EXTS.has(ext) || path.basename(p) === 'package.json';
}

/** The runnable file among the visible editors (the most recently shown first), if any. */
export function visibleRunnable(): vscode.Uri | undefined {
  return vscode.window.visibleTextEditors.map((e) => e.document.uri).find((u) => u.scheme === 'file' && isRunnablePath(u.fsPath));
}

/** Instead of an error when there is no runnable file: the other ways to pick what to run. */
async function pickOtherTarget(title: string): Promise<RunRequest | undefined> {
  const picked = await vscode.window.showQuickPick(
    [
      { label: '$(package) npm script…', detail: "A script from this workspace's package.json files", value: 'script' as const },
      { label: '$(debug-alt) Launch configuration…', detail: 'A Node launch configuration from launch.json', value: 'launch' as const },
      { label: '$(terminal) Command line…', detail: 'Any command, e.g. node server.js --port 3000', value: 'command' as const },
      { label: '$(book) The example', detail: 'A small service with a shutdown leak, to see what Shutdown Trace shows', value: 'example' as const },
    ],
    { title, placeHolder: 'Run with shutdown trace: pick what to run' },
  );
  if (!picked) return undefined;
  if (picked.value === 'script') return scriptRequest();
  if (picked.value === 'launch') return launchRequest();
  if (picked.value === 'command') {
    await vscode.commands.executeCommand('shutdownTrace.runCommand');
    return undefined;
  }
  await vscode.commands.executeCommand('shutdownTrace.runExample');
  return undefined;
}

// ------------------------------------------------------------------ npm scripts

interface ScriptChoice {
  script: string;
  command: string;
  pkgDir: string;
  folder?: string;
}

/** The script and package folder from an npm-scripts tree node (vscode's npm extension), read defensively. */
export function scriptFromTreeNode(node: unknown): { script: string; pkgDir?: string; folder?: string } | undefined {
  if (!isObj(node)) return undefined;
  const task = isObj(node.task) ? node.task : undefined;
  const def = task && isObj(task.definition) ? task.definition : undefined;
  let script: string | undefined;
  if (def && typeof def.script === 'string') script = def.script;
  else if (typeof node.label === 'string') script = node.label;
  else if (isObj(node.label) && typeof node.label.label === 'string') script = node.label.label;
  if (!script) return undefined;

  let folder: string | undefined;
  const scope = task?.scope;
  if (isObj(scope) && scope.uri instanceof vscode.Uri) folder = scope.uri.fsPath;
  const pkg = isObj(node.package) ? node.package : undefined;
  if (!folder && pkg && isObj(pkg.folder) && isObj(pkg.folder.workspaceFolder) && pkg.folder.workspaceFolder.uri instanceof vscode.Uri) {
    folder = pkg.folder.workspaceFolder.uri.fsPath;
  }
  let pkgDir: string | undefined;
  if (pkg && pkg.resourceUri instanceof vscode.Uri) pkgDir = path.dirname(pkg.resourceUri.fsPath);
  else if (folder && def && typeof def.path === 'string') pkgDir = path.join(folder, def.path);
  else if (folder) pkgDir = folder;
  return { script, pkgDir, folder };
}

async function readScripts(pkgJson: vscode.Uri): Promise<Record<string, string> | undefined> {
  try {
    const data = JSON.parse(new TextDecoder().decode(await vscode.workspace.fs.readFile(pkgJson))) as unknown;
    if (!isObj(data) || !isObj(data.scripts)) return {};
    return Object.fromEntries(Object.entries(data.scripts).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    return undefined;
  }
}

/** npm, or the package manager the package uses (packageManager field, lockfile), or the npm.packageManager setting. */
export function packageManagerFor(pkgDir: string, folder: string | undefined): string {
  const setting = vscode.workspace.getConfiguration('npm', folder ? vscode.Uri.file(folder) : undefined).get<string>('packageManager');
  if (setting && setting !== 'auto') return setting;
  let d = pkgDir;
  for (;;) {
    try {
      const pj = JSON.parse(fs.readFileSync(path.join(d, 'package.json'), 'utf8')) as { packageManager?: unknown };
      if (typeof pj.packageManager === 'string') {
        const name = pj.packageManager.split('@')[0];
        if (['npm', 'pnpm', 'yarn', 'bun'].includes(name)) return name;
      }
    } catch {
      // no package.json at this level
    }
    if (fs.existsSync(path.join(d, 'pnpm-lock.yaml'))) return 'pnpm';
    if (fs.existsSync(path.join(d, 'yarn.lock'))) return 'yarn';
    if (fs.existsSync(path.join(d, 'bun.lockb')) || fs.existsSync(path.join(d, 'bun.lock'))) return 'bun';
    if (fs.existsSync(path.join(d, 'package-lock.json'))) return 'npm';
    if ((folder && path.resolve(d) === path.resolve(folder)) || path.dirname(d) === d) return 'npm';
    d = path.dirname(d);
  }
}

function scriptRequestFor(c: { script: string; pkgDir: string; folder?: string }): RunRequest {
  const pm = packageManagerFor(c.pkgDir, c.folder);
  const argv = [pm, 'run', c.script];
  return {
    kind: 'script',
    label: `${pm} run ${c.script}`,
    argv,
    cwd: c.pkgDir,
    folder: c.folder,
    notes: [`${pm} runs the script in a child process: with delivery "main" the signal goes to ${pm}, which may not pass it on. The trace shows whether it arrived.`],
  };
}

export async function scriptRequest(arg?: unknown): Promise<RunRequest | undefined> {
  // From the npm scripts view, or an explicit { script, cwd|packageJson } / script name.
  const fromNode = scriptFromTreeNode(arg);
  if (fromNode && fromNode.pkgDir && (arg as Record<string, unknown>).task !== undefined) {
    return scriptRequestFor({ script: fromNode.script, pkgDir: fromNode.pkgDir, folder: fromNode.folder ?? fromNode.pkgDir });
  }
  let wanted: string | undefined;
  let wantedDir: string | undefined;
  if (typeof arg === 'string') wanted = arg;
  else if (isObj(arg) && typeof arg.script === 'string') {
    wanted = arg.script;
    const p = typeof arg.packageJson === 'string' ? arg.packageJson : typeof arg.cwd === 'string' ? arg.cwd : undefined;
    if (p) wantedDir = path.resolve(firstFolder() ?? process.cwd(), p.endsWith('package.json') ? path.dirname(p) : p);
  } else if (isObj(arg) && (typeof arg.packageJson === 'string' || typeof arg.cwd === 'string')) {
    const p = (typeof arg.packageJson === 'string' ? arg.packageJson : arg.cwd) as string;
    wantedDir = path.resolve(firstFolder() ?? process.cwd(), p.endsWith('package.json') ? path.dirname(p) : p);
  } else if (fromNode) {
    wanted = fromNode.script;
    wantedDir = fromNode.pkgDir;
  }

  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length === 0 && !wantedDir) throw new UserError('Open a folder with a package.json to run one of its scripts with shutdown trace.');
  const files = wantedDir
    ? [vscode.Uri.file(path.join(wantedDir, 'package.json'))]
    : (await vscode.workspace.findFiles('**/package.json', '**/node_modules/**', 500)).sort(
        (a, b) => a.fsPath.split(path.sep).length - b.fsPath.split(path.sep).length || a.fsPath.localeCompare(b.fsPath),
      );
  if (files.length === 0) throw new UserError('There is no package.json in this workspace, so there are no npm scripts to run. Use "Run command line with shutdown trace…" instead.');
  if (wantedDir && !fs.existsSync(path.join(wantedDir, 'package.json'))) throw new UserError(`There is no package.json in ${wantedDir}, so there are no npm scripts to run there.`);

  const choices: ScriptChoice[] = [];
  let unreadable = 0;
  for (const f of files) {
    const scripts = await readScripts(f);
    if (!scripts) {
      unreadable++;
      continue;
    }
    for (const [script, command] of Object.entries(scripts)) {
      choices.push({ script, command, pkgDir: path.dirname(f.fsPath), folder: folderOf(f) });
    }
  }
  if (wanted) {
    const hit = choices.find((c) => c.script === wanted);
    if (!hit) throw new UserError(`There is no script "${wanted}" in ${wantedDir ? path.join(wantedDir, 'package.json') : "this workspace's package.json files"}.`);
    return scriptRequestFor(hit);
  }
  if (choices.length === 0) {
    throw new UserError(unreadable === files.length ? 'The package.json files in this workspace cannot be read (invalid JSON?).' : 'The package.json files in this workspace have no scripts.');
  }
  type Item = vscode.QuickPickItem & { choice?: ScriptChoice };
  const items: Item[] = [];
  const multi = new Set(choices.map((c) => c.pkgDir)).size > 1;
  let lastDir: string | undefined;
  for (const c of choices) {
    if (multi && c.pkgDir !== lastDir) {
      const rel = c.folder ? path.relative(c.folder, path.join(c.pkgDir, 'package.json')) : path.join(c.pkgDir, 'package.json');
      items.push({ label: rel, kind: vscode.QuickPickItemKind.Separator });
      lastDir = c.pkgDir;
    }
    items.push({ label: c.script, description: c.command, choice: c });
  }
  const picked = await vscode.window.showQuickPick(items, {
    title: wantedDir ? `Run a script of ${path.join(path.relative(firstFolder() ?? wantedDir, wantedDir), 'package.json')} with shutdown trace` : 'Run npm script with shutdown trace',
    placeHolder: 'Pick a package.json script',
    matchOnDescription: true,
  });
  return picked?.choice ? scriptRequestFor(picked.choice) : undefined;
}

// ------------------------------------------------------------------ launch configurations

interface LaunchChoice {
  config: LaunchConfiguration;
  folder?: vscode.WorkspaceFolder;
}

function launchConfigs(): { node: LaunchChoice[]; total: number } {
  const folders: (vscode.WorkspaceFolder | undefined)[] = vscode.workspace.workspaceFolders?.length ? [...vscode.workspace.workspaceFolders] : [undefined];
  const node: LaunchChoice[] = [];
  let total = 0;
  const seen = new Set<string>();
  for (const folder of folders) {
    const list = vscode.workspace.getConfiguration('launch', folder?.uri).get<unknown[]>('configurations') ?? [];
    if (!Array.isArray(list)) continue;
    for (const c of list) {
      total++;
      if (!isNodeLaunchConfig(c)) continue;
      const key = `${folder?.uri.toString() ?? ''}\0${JSON.stringify(c)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      node.push({ config: c, folder });
    }
  }
  return { node, total };
}

function variableContext(folder: vscode.WorkspaceFolder | undefined): VariableContext {
  const active = vscode.window.activeTextEditor?.document.uri;
  const folders: Record<string, string> = {};
  for (const f of vscode.workspace.workspaceFolders ?? []) folders[f.name] = f.uri.fsPath;
  return {
    workspaceFolder: folder?.uri.fsPath ?? firstFolder(),
    workspaceFolders: folders,
    file: active?.scheme === 'file' ? active.fsPath : undefined,
    env: process.env,
    userHome: os.homedir(),
    config: (key) => vscode.workspace.getConfiguration(undefined, folder?.uri).get(key),
  };
}

export async function launchRequest(arg?: unknown): Promise<RunRequest | undefined> {
  const { node, total } = launchConfigs();
  let choice: LaunchChoice | undefined;
  const wanted = typeof arg === 'string' ? arg : isObj(arg) && typeof arg.name === 'string' ? arg.name : undefined;
  if (node.length === 0) {
    throw new UserError(
      total === 0
        ? 'There are no launch configurations (.vscode/launch.json) in this workspace. Add a Node one ("type": "node", "request": "launch") or use "Run with shutdown trace" on a file.'
        : `None of the ${total} launch configurations is a Node launch configuration ("type": "node", "request": "launch").`,
    );
  }
  if (wanted) {
    const wantedFolder = isObj(arg) && typeof arg.folder === 'string' ? arg.folder : undefined;
    choice = node.find((c) => c.config.name === wanted && (!wantedFolder || c.folder?.name === wantedFolder || c.folder?.uri.fsPath === wantedFolder));
    if (!choice) throw new UserError(`There is no Node launch configuration named "${wanted}".`);
  } else if (node.length === 1) {
    choice = node[0];
  } else {
    const multi = (vscode.workspace.workspaceFolders?.length ?? 0) > 1;
    const items = node.map((c) => ({
      label: typeof c.config.name === 'string' ? c.config.name : '(unnamed)',
      description: typeof c.config.program === 'string' ? c.config.program : typeof c.config.runtimeExecutable === 'string' ? c.config.runtimeExecutable : '',
      detail: multi ? c.folder?.name : undefined,
      choice: c,
    }));
    const picked = await vscode.window.showQuickPick(items, { title: 'Run launch configuration with shutdown trace', placeHolder: 'Pick a Node launch configuration' });
    choice = picked?.choice;
  }
  if (!choice) return undefined;
  const cmd = buildLaunchCommand(choice.config, variableContext(choice.folder));
  const folder = choice.folder?.uri.fsPath ?? firstFolder();
  return {
    kind: 'launch',
    label: typeof choice.config.name === 'string' ? choice.config.name : shortLabel(cmd.argv),
    argv: cmd.argv,
    cwd: cmd.cwd,
    env: cmd.env,
    folder,
    notes: cmd.notes,
  };
}

// ------------------------------------------------------------------ command line

const LAST_LINE_KEY = 'shutdownTrace.lastCommandLine';

export async function commandRequest(context: vscode.ExtensionContext, arg?: unknown): Promise<RunRequest | undefined> {
  let line: string | undefined;
  let cwdArg: string | undefined;
  if (typeof arg === 'string') line = arg;
  else if (isObj(arg)) {
    if (typeof arg.commandLine === 'string') line = arg.commandLine;
    else if (typeof arg.command === 'string') line = arg.command;
    if (typeof arg.cwd === 'string') cwdArg = arg.cwd;
  }
  if (line === undefined) {
    const last = context.workspaceState.get<string>(LAST_LINE_KEY) ?? context.globalState.get<string>(LAST_LINE_KEY) ?? '';
    line = await vscode.window.showInputBox({
      title: 'Run command line with shutdown trace',
      prompt: 'A simple command is started directly; a line with pipes, && or $VARS runs under sh -c.',
      placeHolder: 'node server.js --port 3000',
      value: last,
      ignoreFocusOut: true,
      validateInput: (v) => {
        try {
          parseCommandLine(v);
          return undefined;
        } catch (e) {
          return (e as Error).message;
        }
      },
    });
    if (line === undefined) return undefined;
  }
  const parsed = parseCommandLine(line);
  await context.workspaceState.update(LAST_LINE_KEY, line.trim());
  await context.globalState.update(LAST_LINE_KEY, line.trim());
  const folder = firstFolder();
  const notes: string[] = [];
  if (parsed.viaShell) notes.push('The line uses shell syntax, so it runs under sh -c: the signal goes to the shell first, which may not pass it on.');
  return {
    kind: 'command',
    label: shortLabel(parsed.viaShell ? [line.trim()] : parsed.argv),
    argv: parsed.argv,
    cwd: cwdArg ? path.resolve(folder ?? os.homedir(), cwdArg) : (folder ?? os.homedir()),
    env: parsed.env,
    folder,
    notes,
  };
}

/** Checks a stored RunRequest (from workspaceState) before re-running it. */
export function isRunRequest(v: unknown): v is RunRequest {
  if (!isObj(v)) return false;
  return (
    ['file', 'script', 'launch', 'command'].includes(v.kind as string) &&
    typeof v.label === 'string' &&
    Array.isArray(v.argv) &&
    v.argv.length > 0 &&
    v.argv.every((a) => typeof a === 'string') &&
    typeof v.cwd === 'string'
  );
}
