/**
 * Where runs are saved (setting `shutdownTrace.saveTraces`, global storage by default), which
 * trace was last, and reading a trace file with a clear error.
 */
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseTrace } from '../shared/trace-file';
import { TRACE_EXTENSION, type Trace } from '../shared/trace';

const LAST_TRACE_KEY = 'shutdownTrace.lastTracePath';
/** How many traces the default folder keeps; a folder the user chose is never pruned. */
export const KEEP_IN_GLOBAL_STORAGE = 30;

export class TraceStore {
  constructor(private readonly context: vscode.ExtensionContext) {}

  get defaultDir(): string {
    return path.join(this.context.globalStorageUri.fsPath, 'traces');
  }

  /** The folder for a run's trace, from the setting; relative paths and ${workspaceFolder} resolve against `folder`. */
  dirFor(setting: string, folder: string | undefined): { dir: string; isDefault: boolean } {
    const s = setting.trim();
    if (!s) return { dir: this.defaultDir, isDefault: true };
    let p = s.replace(/\$\{workspaceFolder\}/g, folder ?? '').replace(/^~(?=$|[\\/])/, process.env.HOME ?? '~');
    if (!path.isAbsolute(p)) p = path.resolve(folder ?? this.context.globalStorageUri.fsPath, p);
    return { dir: p, isDefault: false };
  }

  /** A fresh file path for a run, creating the folder. */
  async newTracePath(setting: string, folder: string | undefined, label: string): Promise<string> {
    const { dir, isDefault } = this.dirFor(setting, folder);
    await fs.promises.mkdir(dir, { recursive: true });
    if (isDefault) await this.prune(dir).catch(() => undefined);
    const stamp = new Date()
      .toISOString()
      .replace(/\.\d+Z$/, '')
      .replace(/[:T]/g, '-');
    const slug =
      label
        .replace(/[^A-Za-z0-9._-]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 40) || 'run';
    let file = path.join(dir, `${stamp}-${slug}${TRACE_EXTENSION}`);
    for (let i = 2; fs.existsSync(file); i++) file = path.join(dir, `${stamp}-${slug}-${i}${TRACE_EXTENSION}`);
    return file;
  }

  private async prune(dir: string): Promise<void> {
    const names = (await fs.promises.readdir(dir)).filter((n) => n.endsWith(TRACE_EXTENSION)).sort();
    const excess = names.length - (KEEP_IN_GLOBAL_STORAGE - 1);
    for (const n of names.slice(0, Math.max(0, excess))) {
      await fs.promises.unlink(path.join(dir, n)).catch(() => undefined);
    }
  }

  async rememberLast(file: string): Promise<void> {
    await this.context.workspaceState.update(LAST_TRACE_KEY, file);
    await this.context.globalState.update(LAST_TRACE_KEY, file);
  }

  lastTracePath(): string | undefined {
    const candidates = [this.context.workspaceState.get<string>(LAST_TRACE_KEY), this.context.globalState.get<string>(LAST_TRACE_KEY)];
    return candidates.find((p): p is string => typeof p === 'string' && fs.existsSync(p));
  }
}

/** Reads and parses a trace file; throws TraceFormatError (or an Error naming the file) with a readable message. */
export async function readTraceFile(uri: vscode.Uri): Promise<Trace> {
  let bytes: Uint8Array;
  try {
    bytes = await vscode.workspace.fs.readFile(uri);
  } catch (e) {
    const why = e instanceof vscode.FileSystemError ? e.code : (e as Error).message;
    throw new Error(`${path.basename(uri.fsPath || uri.path)} cannot be read (${why}).`, { cause: e });
  }
  return parseTrace(new TextDecoder().decode(bytes), path.basename(uri.fsPath || uri.path));
}

export async function writeJson(file: string, data: unknown): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.promises.writeFile(tmp, JSON.stringify(data));
  await fs.promises.rename(tmp, file);
}
