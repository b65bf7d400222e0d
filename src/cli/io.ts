/**
 * The CLI's files and streams, made safe against what users and machines do to them:
 *  - stdout/stderr closed by the reader (`| head -c 100`): EPIPE ends our printing, not the run;
 *  - a trace path that is a FIFO, a device (/dev/zero), a directory or a huge file: refused by
 *    type and size before a byte is read;
 *  - a full (or read-only) disk: files are written whole or not at all (temp file, then rename;
 *    the temp file removed on failure), and a trace that cannot be written where asked goes to
 *    the temp directory, which the message names.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { UsageError } from './args';
import { terminalSafe } from '../core/terminal-safe';
import { readRegularFile, FileKindError, mib } from '../core/safe-read';

// ------------------------------------------------------------------ stdout / stderr

const closedStreams = new WeakSet<NodeJS.WriteStream>();

/**
 * A write error on our own stdout or stderr (EPIPE when the reader exited, EIO when the
 * terminal went away) stops our printing to that stream, quietly; the run goes on and the trace
 * is written. Without a listener Node would throw it as an uncaught exception.
 */
let guarded = false;
export function guardStdio(): void {
  if (guarded) return;
  guarded = true;
  for (const s of [process.stdout, process.stderr]) s.on('error', () => closedStreams.add(s));
}

function write(s: NodeJS.WriteStream, text: string): void {
  if (closedStreams.has(s) || s.destroyed) return;
  try {
    s.write(text);
  } catch {
    closedStreams.add(s);
  }
}

export const stdout = (text: string): void => write(process.stdout, text);
export const stderr = (text: string): void => write(process.stderr, text);

// ------------------------------------------------------------------ reading a trace

/**
 * The largest trace file read: 512 MiB. A trace of a million events is about 120 MB; V8
 * cannot hold a string much over 512 MiB anyway.
 */
export const MAX_TRACE_BYTES = 512 * 1024 * 1024;

/** Reads a trace file's text: a regular file of at most MAX_TRACE_BYTES (safe-read.ts), or one line saying what it is. */
export function readTraceText(file: string, maxBytes = MAX_TRACE_BYTES): string {
  const shown = terminalSafe(file);
  try {
    return readRegularFile(file, maxBytes);
  } catch (e) {
    if (e instanceof FileKindError) {
      if (e.tooBig) throw new UsageError(`${shown} is ${e.what}; trace files are read up to ${mib(maxBytes)}`);
      if (e.what === 'a directory') throw new UsageError(`${shown} is a directory, not a trace file`);
      throw new UsageError(`${shown} is ${e.what}, not a regular file: not a trace file`);
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`trace file not found: ${shown}`);
    if (code === 'EISDIR') throw new UsageError(`${shown} is a directory, not a trace file`);
    if (code === 'ENXIO') throw new UsageError(`${shown} is a socket, not a regular file: not a trace file`);
    throw new UsageError(`cannot read ${shown}: ${terminalSafe((e as Error).message)}`);
  }
}

// ------------------------------------------------------------------ writing

/**
 * Writes a file whole or not at all: a temp file beside it (O_EXCL, never followed through a
 * link), then a rename over the target (so a FIFO, a symlink or a device at that path is
 * replaced, never written through). On any failure the temp file is removed and the error
 * thrown; nothing half-written is left.
 */
export function writeFileAtomic(file: string, text: string): void {
  const dir = path.dirname(path.resolve(file));
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o644);
    fs.writeFileSync(fd, text);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {}
    }
    try {
      fs.unlinkSync(tmp);
    } catch {}
    throw e;
  }
}

/** An export's text to `out` (written whole, or a usage error naming the file), else to stdout with a final newline. */
export function writeOutput(out: string | undefined, text: string): void {
  if (out) {
    try {
      writeFileAtomic(out, text);
    } catch (e) {
      throw new UsageError(`could not write ${terminalSafe(out)}: ${terminalSafe((e as Error).message)}`);
    }
  } else stdout(text.endsWith('\n') ? text : text + '\n');
}

export interface Written {
  /** Where the file is: the path asked for, or the fallback. Undefined when neither could be written. */
  path?: string;
  /** Why the path asked for could not be written (one line), when it could not. */
  problem?: string;
}

function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const text: Record<string, string> = {
    ENOSPC: 'no space left on the device',
    EDQUOT: 'disk quota exceeded',
    EROFS: 'read-only file system',
    EACCES: 'permission denied',
    EPERM: 'not permitted',
    EISDIR: 'it is a directory',
    ENOTDIR: 'a part of the path is not a directory',
    EEXIST: 'a file is in the way',
  };
  return err?.code ? `${err.code}: ${text[err.code] ?? terminalSafe(err.message)}` : terminalSafe(String((e as Error)?.message ?? e));
}

/**
 * Writes `text` to `file`; when that fails (a full disk, a read-only or missing folder, a
 * directory in the way), writes it to the temp directory instead, under `fallbackName`.
 */
export function writeWithFallback(file: string, text: string, fallbackName: string): Written {
  try {
    writeFileAtomic(file, text);
    return { path: file };
  } catch (e) {
    const problem = reason(e);
    const fallback = path.join(os.tmpdir(), fallbackName);
    if (path.resolve(fallback) !== path.resolve(file)) {
      try {
        writeFileAtomic(fallback, text);
        return { path: fallback, problem };
      } catch {}
    }
    return { problem };
  }
}

/** "run.shutdown-trace.json" → "run-<pid>-<time>.shutdown-trace.json": a fallback name no other run takes. */
export function fallbackName(file: string): string {
  const base = path.basename(file);
  const m = /^(.*?)((?:\.shutdown-trace)?\.[^.]+)?$/.exec(base)!;
  return `${m[1] || 'shutdown-trace'}-${process.pid}-${Date.now()}${m[2] ?? ''}`;
}
