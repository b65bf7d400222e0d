/**
 * Node's permission model (`--permission`, `--experimental-permission` on Node 20) and the
 * preload. A process run with it cannot read a file it was not allowed to, and `--require` of
 * the preload is such a read: the process would die at start-up. Before the run the launcher
 * decides, for the command it starts, between:
 *  - 'as-is': no permission model in sight, or it already allows reading the preload;
 *  - 'allow': grant read of the preload's one file through NODE_OPTIONS, where that is invisible
 *    to the service (its execArgv is unchanged) and cannot reach a node process that runs
 *    without the permission model (Node refuses --allow-fs-read without it and would exit);
 *  - 'skip': run without the preload at all, and say so, when neither holds.
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { NODE_OPTIONS_WITH_VALUE } from './node-options';

export type PermissionPlan = { action: 'as-is' } | { action: 'allow'; nodeOption: string; note: string } | { action: 'skip'; reason: string; note: string };

const PERMISSION = /^--(experimental-)?permission$/;
const ALLOW = /^--allow-(fs-read|fs-write|child-process|worker|addons|wasi)$/;
const ALLOW_WITH_VALUE = /^--allow-fs-(read|write)$/;

/** Splits NODE_OPTIONS as node does: whitespace-separated, double quotes with backslash escapes. */
export function splitNodeOptions(s: string | undefined): string[] {
  const out: string[] = [];
  if (!s) return out;
  let cur = '';
  let has = false;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted && c === '\\' && i + 1 < s.length) {
      cur += s[++i];
    } else if (c === '"') {
      quoted = !quoted;
      has = true;
    } else if (!quoted && /\s/.test(c)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
    } else cur += c;
  }
  if (has || cur) out.push(cur);
  return out;
}

/** The permission-related options in a list of node options, each as one `--flag[=value]` word. */
function permissionOptions(opts: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < opts.length; i++) {
    const a = opts[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    if (PERMISSION.test(flag)) out.push(flag);
    else if (ALLOW.test(flag)) {
      if (ALLOW_WITH_VALUE.test(flag) && inline === undefined && i + 1 < opts.length) out.push(`${flag}=${opts[++i]}`);
      else out.push(a);
    }
  }
  return out;
}

/** node's own options in a node command line: everything before the script (or `--`). */
export function nodeArgvOptions(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--' || !a.startsWith('-')) break;
    out.push(a);
    if (NODE_OPTIONS_WITH_VALUE.has(a) && i + 1 < args.length) out.push(args[++i]);
    // -e/-p take the program as their value: nothing after it is node's.
    if (a === '-e' || a === '--eval' || a === '-p' || a === '--print') break;
  }
  return out;
}

export function isNodeExecutable(exe: string): boolean {
  return /^(node|nodejs|node\d+)(\.exe)?$/.test(path.basename(exe));
}

/**
 * Decides how the preload can be loaded by the command about to run. `exe` is the resolved
 * executable, `args` its arguments, `userNodeOptions` the NODE_OPTIONS the service would get
 * untraced. Spawns one short `node -e` with only the permission options when the model is on:
 * node itself answers whether the preload is readable under them.
 */
export function planPermission(exe: string, args: string[], userNodeOptions: string | undefined, preload: string, cwd: string): PermissionPlan {
  const fromEnv = permissionOptions(splitNodeOptions(userNodeOptions));
  const fromArgv = isNodeExecutable(exe) ? permissionOptions(nodeArgvOptions(args)) : [];
  const inEnv = fromEnv.some((o) => PERMISSION.test(o));
  const inArgv = fromArgv.some((o) => PERMISSION.test(o));
  if (!inEnv && !inArgv) return { action: 'as-is' };
  const readable = probeReadable(isNodeExecutable(exe) ? exe : nodeOnPath(), fromArgv, fromEnv, preload, cwd);
  if (readable) return { action: 'as-is' };
  const allow = `--allow-fs-read=${preload}`;
  const where = inArgv ? 'its command line' : 'NODE_OPTIONS';
  // With the model in NODE_OPTIONS every node process of the run inherits both; with it on the
  // command line only, no other process can exist unless child processes are allowed.
  const childrenPossible = [...fromArgv, ...fromEnv].some((o) => o === '--allow-child-process');
  if (inEnv || !childrenPossible) {
    return {
      action: 'allow',
      nodeOption: allow,
      note: `Node's permission model is on (${where}): read access to the preload's own file (${preload}) was added through NODE_OPTIONS so it could load; nothing else was granted, and the service's command line is unchanged.`,
    };
  }
  return {
    action: 'skip',
    reason: `not traced: Node's permission model (${where}) does not allow reading the preload, so the service ran without it, exactly as untraced; to trace it, add --allow-fs-read=${preload} to its command line`,
    note: `Not traced inside: Node's permission model is on (${where}) with --allow-child-process, and the preload (${preload}) is outside what it may read. Granting it through NODE_OPTIONS would stop any node child started without the permission model, so the service ran without the preload, exactly as untraced; only what is seen from outside (processes, exits, output) is in this trace. To trace it, add --allow-fs-read=${preload} to its command line.`,
  };
}

/** The node a nested command would most likely run; the host's own runtime otherwise. */
function nodeOnPath(): string {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    const full = path.join(dir, 'node');
    try {
      fs.accessSync(full, fs.constants.X_OK);
      return full;
    } catch {}
  }
  return process.execPath;
}

function probeReadable(exe: string, fromArgv: string[], fromEnv: string[], preload: string, cwd: string): boolean {
  // Only the permission options: the user's other NODE_OPTIONS (a --require of theirs) must not run here.
  const code = `process.stdout.write(String(!!process.permission && process.permission.has('fs.read', ${JSON.stringify(preload)})))`;
  // ELECTRON_RUN_AS_NODE: in the extension host the fallback runtime is Electron's.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, ELECTRON_RUN_AS_NODE: '1', NODE_OPTIONS: fromEnv.map((o) => (/[\s"\\]/.test(o) ? `"${o.replace(/(["\\])/g, '\\$1')}"` : o)).join(' ') };
  try {
    const r = spawnSync(exe, [...fromArgv, '-e', code], { cwd, env, encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
    return r.status === 0 && r.stdout.trim() === 'true';
  } catch {
    return false;
  }
}
