/**
 * Where the preload keeps its V8 code cache (src/preload/loader.ts): the platform's per-user
 * cache directory, created for the user alone. A cache file is code V8 runs, so a directory
 * that another user owns or can write to is not used at all, and neither is a relative path.
 * Files untouched for 30 days (other Node versions, older builds) are removed here, off the
 * service's path.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const MAX_AGE_MS = 30 * 24 * 3600 * 1000;

/** The default directory for this platform, or undefined when there is no home to put it in. */
export function defaultCodeCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (process.platform === 'win32') return env.LOCALAPPDATA ? path.join(env.LOCALAPPDATA, 'shutdown-trace', 'code-cache') : undefined;
  let home: string;
  try {
    home = os.homedir();
  } catch {
    return undefined;
  }
  if (process.platform === 'darwin') return home ? path.join(home, 'Library', 'Caches', 'shutdown-trace', 'code-cache') : undefined;
  const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : home ? path.join(home, '.cache') : undefined;
  return base ? path.join(base, 'shutdown-trace', 'code-cache') : undefined;
}

/** The directory, created if need be, when it is fit to hold code for this user; else undefined. */
export function prepareCodeCacheDir(dir: string | undefined): string | undefined {
  if (!dir || !path.isAbsolute(dir)) return undefined;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = fs.lstatSync(dir);
    if (!st.isDirectory()) return undefined;
    if (typeof process.getuid === 'function' && (st.uid !== process.getuid() || (st.mode & 0o022) !== 0)) return undefined;
    pruneOld(dir);
    return dir;
  } catch {
    return undefined;
  }
}

function pruneOld(dir: string): void {
  const cutoff = Date.now() - MAX_AGE_MS;
  for (const name of fs.readdirSync(dir)) {
    if (!/^preload-.*\.v8cache(\.\d+\.tmp)?$/.test(name)) continue;
    const file = path.join(dir, name);
    try {
      if (fs.lstatSync(file).mtimeMs < cutoff) fs.unlinkSync(file);
    } catch {}
  }
}
