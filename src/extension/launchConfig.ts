/**
 * Turns a Node launch configuration (launch.json, type node/pwa-node, request launch) into a
 * command line. No `vscode` import: the caller passes the folder, the active file and settings.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';

export class LaunchConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LaunchConfigError';
  }
}

export interface LaunchConfiguration {
  type?: unknown;
  request?: unknown;
  name?: unknown;
  program?: unknown;
  runtimeExecutable?: unknown;
  runtimeArgs?: unknown;
  args?: unknown;
  cwd?: unknown;
  env?: unknown;
  envFile?: unknown;
  preLaunchTask?: unknown;
  runtimeVersion?: unknown;
  [key: string]: unknown;
}

export interface VariableContext {
  /** Absolute path of the folder the configuration belongs to. */
  workspaceFolder?: string;
  /** All workspace folders by name, for ${workspaceFolder:name}. */
  workspaceFolders?: Record<string, string>;
  /** The active editor's file, for ${file} and friends. */
  file?: string;
  env: Record<string, string | undefined>;
  userHome?: string;
  /** ${config:section.key} */
  config?: (key: string) => unknown;
}

export interface LaunchCommand {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  /** Things the user should know (ignored options). */
  notes: string[];
}

export function isNodeLaunchConfig(c: unknown): c is LaunchConfiguration {
  if (!c || typeof c !== 'object') return false;
  const o = c as LaunchConfiguration;
  return (o.type === 'node' || o.type === 'pwa-node') && o.request === 'launch';
}

/** Resolves ${...} variables in a string. Throws LaunchConfigError for variables that need an interactive host. */
export function resolveVariables(value: string, ctx: VariableContext): string {
  return value.replace(/\$\{([^}]+)\}/g, (whole, name: string) => {
    const need = (v: string | undefined, what: string): string => {
      if (v === undefined) throw new LaunchConfigError(`${whole} cannot be resolved: ${what}.`);
      return v;
    };
    const folder = () => need(ctx.workspaceFolder, 'no workspace folder is open');
    const file = () => need(ctx.file, 'no file is open in the editor');
    switch (name) {
      case 'workspaceFolder':
      case 'workspaceRoot':
        return folder();
      case 'workspaceFolderBasename':
        return path.basename(folder());
      case 'file':
        return file();
      case 'fileBasename':
        return path.basename(file());
      case 'fileBasenameNoExtension':
        return path.basename(file(), path.extname(file()));
      case 'fileExtname':
        return path.extname(file());
      case 'fileDirname':
        return path.dirname(file());
      case 'fileDirnameBasename':
        return path.basename(path.dirname(file()));
      case 'relativeFile':
        return path.relative(folder(), file());
      case 'relativeFileDirname':
        return path.relative(folder(), path.dirname(file()));
      case 'fileWorkspaceFolder':
        return folder();
      case 'cwd':
        return folder();
      case 'userHome':
        return ctx.userHome ?? os.homedir();
      case 'pathSeparator':
      case '/':
        return path.sep;
      case 'execPath':
        return process.execPath;
    }
    const colon = name.indexOf(':');
    if (colon > 0) {
      const kind = name.slice(0, colon);
      const arg = name.slice(colon + 1);
      if (kind === 'env') return ctx.env[arg] ?? '';
      if (kind === 'workspaceFolder') {
        const p = ctx.workspaceFolders?.[arg];
        return need(p, `there is no workspace folder named "${arg}"`);
      }
      if (kind === 'config' && ctx.config) {
        const v = ctx.config(arg);
        if (v === undefined || v === null) return '';
        return typeof v === 'string' ? v : JSON.stringify(v);
      }
      if (kind === 'command' || kind === 'input') {
        throw new LaunchConfigError(`${whole} needs an interactive command or prompt, which Shutdown Trace cannot run. Replace it with a fixed value in a copy of the configuration.`);
      }
    }
    throw new LaunchConfigError(`${whole} is not a variable Shutdown Trace knows.`);
  });
}

function strings(v: unknown, what: string, ctx: VariableContext): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') {
    // js-debug accepts a single string of args; split it on whitespace like it does.
    return resolveVariables(v, ctx).split(/\s+/).filter(Boolean);
  }
  if (!Array.isArray(v)) throw new LaunchConfigError(`"${what}" must be a list of strings.`);
  return v.map((x, i) => {
    if (typeof x !== 'string') throw new LaunchConfigError(`"${what}[${i}]" must be a string.`);
    return resolveVariables(x, ctx);
  });
}

/** Parses a simple .env file: NAME=value lines, `export ` prefixes, # comments, single/double quotes. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2];
    if (v.startsWith('"')) {
      const end = v.lastIndexOf('"');
      v = end > 0 ? v.slice(1, end) : v.slice(1);
      v = v.replace(/\\n/g, '\n').replace(/\\"/g, '"');
    } else if (v.startsWith("'")) {
      const end = v.lastIndexOf("'");
      v = end > 0 ? v.slice(1, end) : v.slice(1);
    } else {
      const hash = v.search(/\s#/);
      if (hash >= 0) v = v.slice(0, hash);
      v = v.trim();
    }
    out[m[1]] = v;
  }
  return out;
}

/** Builds the command line for a Node launch configuration. Throws LaunchConfigError with a readable message. */
export function buildLaunchCommand(config: LaunchConfiguration, ctx: VariableContext): LaunchCommand {
  const label = typeof config.name === 'string' ? `"${config.name}"` : 'The launch configuration';
  if (!isNodeLaunchConfig(config)) {
    throw new LaunchConfigError(`${label} is not a Node launch configuration (type "node", request "launch").`);
  }
  const notes: string[] = [];
  const str = (v: unknown, what: string): string | undefined => {
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw new LaunchConfigError(`${label}: "${what}" must be a string.`);
    return resolveVariables(v, ctx);
  };
  let cwd = str(config.cwd, 'cwd') ?? ctx.workspaceFolder;
  if (!cwd) throw new LaunchConfigError(`${label} has no "cwd" and no workspace folder is open.`);
  if (!path.isAbsolute(cwd)) cwd = path.resolve(ctx.workspaceFolder ?? process.cwd(), cwd);

  const runtime = str(config.runtimeExecutable, 'runtimeExecutable') ?? 'node';
  const runtimeArgs = strings(config.runtimeArgs, 'runtimeArgs', ctx);
  const args = strings(config.args, 'args', ctx);
  let program = str(config.program, 'program');
  if (program && !path.isAbsolute(program)) program = path.resolve(cwd, program);
  if (!program && config.runtimeExecutable === undefined && runtimeArgs.length === 0) {
    throw new LaunchConfigError(`${label} has neither "program" nor "runtimeExecutable": there is nothing to run.`);
  }
  const argv = [runtime, ...runtimeArgs, ...(program ? [program] : []), ...args];

  const env: Record<string, string> = {};
  const envFile = str(config.envFile, 'envFile');
  if (envFile) {
    const file = path.isAbsolute(envFile) ? envFile : path.resolve(cwd, envFile);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new LaunchConfigError(`${label}: the envFile ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`);
    }
    Object.assign(env, parseEnvFile(text));
  }
  if (config.env !== undefined && config.env !== null) {
    if (typeof config.env !== 'object' || Array.isArray(config.env)) throw new LaunchConfigError(`${label}: "env" must be an object.`);
    for (const [k, v] of Object.entries(config.env as Record<string, unknown>)) {
      if (v === null) {
        notes.push(`env ${k}: null (unset) is not supported; it keeps its inherited value.`);
        delete env[k];
        continue;
      }
      env[k] = resolveVariables(String(v), ctx);
    }
  }
  if (typeof config.preLaunchTask === 'string' && config.preLaunchTask) {
    notes.push(`preLaunchTask "${config.preLaunchTask}" is not run by Shutdown Trace; run it first if the program needs it.`);
  }
  if (config.runtimeVersion !== undefined && config.runtimeVersion !== 'default') {
    notes.push(`runtimeVersion "${String(config.runtimeVersion)}" is ignored; the node on PATH is used.`);
  }
  return { argv, cwd, env, notes };
}
