/**
 * Reading a file that someone else could have put in place: only a regular file, only up to a
 * size, checked on the open descriptor (no race with a swap), opened with O_NONBLOCK so a FIFO
 * never blocks the reader. Used for trace files given on the command line and for the spool
 * files processes of the traced session leave behind.
 */
import * as fs from 'fs';

/** The path is not a regular file, or is too big: `what` says what it is ("a FIFO", "600 MiB"). */
export class FileKindError extends Error {
  constructor(
    readonly what: string,
    readonly tooBig = false,
  ) {
    super(tooBig ? `is ${what}` : `is ${what}, not a regular file`);
    this.name = 'FileKindError';
  }
}

export function mib(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(bytes % (1024 * 1024) ? 1 : 0)} MiB` : `${bytes} bytes`;
}

/** The file's text; FileKindError for anything but a regular file of at most maxBytes, fs errors as they are. */
export function readRegularFile(file: string, maxBytes: number): string {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
  try {
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) throw new FileKindError('a directory');
    if (!st.isFile())
      throw new FileKindError(st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : st.isSocket() ? 'a socket' : 'not a regular file');
    if (st.size > maxBytes) throw new FileKindError(mib(st.size), true);
    // One byte past the limit: a file that grows while it is read is refused too.
    const buf = Buffer.allocUnsafe(Math.min(st.size, maxBytes) + 1);
    let n = 0;
    for (;;) {
      const got = fs.readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n === buf.length) {
        if (n > maxBytes) throw new FileKindError(`over ${mib(maxBytes)}`, true);
        break;
      }
    }
    return buf.toString('utf8', 0, n);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The lines of a spool file, or none when it is not a regular file of at most 256 MiB (a FIFO
 * would block the run for ever, a directory would throw); `onBad` counts it.
 */
export function readSpoolLines(file: string, onBad: () => void): string[] {
  try {
    return readRegularFile(file, 256 * 1024 * 1024).split('\n');
  } catch {
    onBad();
    return [];
  }
}
