/** What is spawned: the command found as a shell would find it, and NODE_OPTIONS carrying the preload. */
import * as fs from 'fs';
import * as path from 'path';
import { LaunchError } from '../run-api';

/** Quote a path for NODE_OPTIONS, which understands double quotes with backslash escapes. */
export function quoteNodeOption(p: string): string {
  return /[\s"\\]/.test(p) ? `"${p.replace(/(["\\])/g, '\\$1')}"` : p;
}

/** Prepends our --require to the user's NODE_OPTIONS, keeping theirs. */
export function withPreload(nodeOptions: string | undefined, preload: string): string {
  const ours = `--require ${quoteNodeOption(preload)}`;
  return nodeOptions && nodeOptions.trim() ? `${ours} ${nodeOptions}` : ours;
}

/** dist/preload.js: beside the bundle that runs (dist/cli.js, dist/extension.js), or built in the checkout (sources run with tsx). */
export function defaultPreloadPath(): string {
  const candidates = [
    path.join(__dirname, 'preload.js'),
    path.join(__dirname, '..', '..', '..', 'dist', 'preload.js'),
    path.join(__dirname, '..', '..', 'dist', 'preload.js'),
    path.join(__dirname, '..', 'dist', 'preload.js'),
  ];
  for (const c of candidates) if (fs.existsSync(c)) return c;
  throw new LaunchError(`The Shutdown Trace preload was not found (looked in ${candidates.join(', ')}). Run "npm run build" first.`);
}

/** Finds an executable like a shell would; throws a LaunchError that names the problem. */
export function resolveCommand(cmd: string, cwd: string, envPath: string | undefined): string {
  if (!cmd) throw new LaunchError('No command given. Usage: shutdown-trace run [options] -- <command> [args...]');
  if (cmd.includes('/') || cmd.includes(path.sep)) {
    const abs = path.resolve(cwd, cmd);
    if (!fs.existsSync(abs)) throw new LaunchError(`Command not found: ${cmd} (no such file: ${abs})`);
    try {
      fs.accessSync(abs, fs.constants.X_OK);
    } catch {
      throw new LaunchError(`Command is not executable: ${abs}`);
    }
    return abs;
  }
  for (const dir of (envPath || '').split(path.delimiter)) {
    if (!dir) continue;
    const full = path.join(dir, cmd);
    try {
      fs.accessSync(full, fs.constants.X_OK);
      if (fs.statSync(full).isFile()) return full;
    } catch {}
  }
  throw new LaunchError(`Command not found: ${cmd} (not on PATH). Check the spelling, or install it.`);
}
