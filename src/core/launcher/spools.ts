/**
 * The preloads' spool files (what each process wrote to disk besides the socket, and all of it
 * when the socket was gone), read back into the run; and the finished trace written whole.
 */
import * as fs from 'fs';
import * as path from 'path';
import { readSpoolLines } from '../safe-read';
import { validateHello, validEvents } from '../../shared/validate-wire';
import type { HelloMessage, PreloadEvent } from '../../shared/wire';
import type { Trace } from '../../shared/trace';

export interface SpoolReader {
  /** Whether a hello for this pid is still news (the socket may have delivered it). */
  wantsHello(pid: number): boolean;
  hello(h: HelloMessage): void;
  events(pid: number, seq: number, events: PreloadEvent[]): void;
  malformed(): void;
}

/** Replays every spool in `spoolDir`; a line that is not a valid frame counts as malformed. */
export function mergeSpools(spoolDir: string, r: SpoolReader): void {
  let files: string[];
  try {
    files = fs.readdirSync(spoolDir).filter((f) => f.endsWith('.ndjson'));
  } catch {
    return;
  }
  for (const f of files) {
    // Processes of the session can write here: a FIFO, a device or a directory must not stop the run.
    const lines = readSpoolLines(path.join(spoolDir, f), () => r.malformed());
    for (const line of lines) {
      if (!line) continue;
      try {
        const m = JSON.parse(line);
        if (m.type === 'hello' && r.wantsHello(m.pid)) r.hello(validateHello(m));
        else if (m.type === 'events' && typeof m.seq === 'number' && Number.isSafeInteger(m.pid) && m.pid > 0)
          r.events(
            m.pid,
            m.seq,
            validEvents(m.events, () => r.malformed()),
          );
      } catch {
        r.malformed();
      }
    }
  }
}

/** Writes the trace whole or not at all: a temp file, then a rename. */
export function writeTrace(file: string, trace: Trace): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(trace));
  fs.renameSync(tmp, file);
}
