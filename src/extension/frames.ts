/**
 * `open-frame` from the webview: validate the path (an existing local file, absolute or relative to
 * the trace's cwd; never a URL or another scheme), then open it at line:col.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export type FrameTarget = { ok: true; file: string; line: number; col: number } | { ok: false; reason: string };

/** Pure check of a frame the webview asked to open. No `vscode` import. */
export function resolveFrame(file: unknown, line: unknown, col: unknown, cwd: string | undefined): FrameTarget {
  if (typeof file !== 'string' || file.length === 0 || file.length > 4096 || file.includes('\0')) {
    return { ok: false, reason: 'the frame has no file path' };
  }
  let p = file;
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(p);
  const driveLetter = /^[a-zA-Z]:[\\/]/.test(p);
  if (scheme && !driveLetter) {
    if (scheme[1].toLowerCase() !== 'file') {
      return { ok: false, reason: `${scheme[1]}: locations are not files on this machine` };
    }
    try {
      p = fileURLToPath(p);
    } catch {
      return { ok: false, reason: 'the file URL is malformed' };
    }
  }
  if (!path.isAbsolute(p)) {
    if (!cwd || !path.isAbsolute(cwd)) return { ok: false, reason: 'the path is relative and the trace has no working directory' };
    p = path.resolve(cwd, p);
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    return { ok: false, reason: `${p} does not exist on this machine` };
  }
  if (!st.isFile()) return { ok: false, reason: `${p} is not a file` };
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? Math.max(1, Math.floor(v)) : 1);
  return { ok: true, file: p, line: n(line), col: n(col) };
}
