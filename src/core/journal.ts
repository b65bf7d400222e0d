/**
 * What the launcher has seen, kept on disk as it goes, so that a launcher killed outright
 * (kill -9, a crash, the extension host dying) loses neither the service's tree nor the trace.
 *
 * The journal is one NDJSON file in the run's spool directory: the preload's frames as received
 * (the same `hello` / `events` records as the preload's own spool files), the launcher's events,
 * output lines, process records and meta snapshots. A watchdog, started before the service and
 * outliving the launcher, waits on a pipe from it: end-of-file without the word "done" while the
 * spool directory still exists means the launcher died mid-run. It then runs dist/watchdog.js,
 * which stops the service's session and turns the journal and spools into a trace marked
 * incomplete (src/core/watchdog.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawn, type ChildProcess } from 'child_process';
import { REDACTED } from './redact';

export const JOURNAL_FILE = 'launcher.journal';

/** The first record: enough to stop the run's processes and rebuild its trace without the launcher. */
export interface JournalStart {
  type: 'start';
  launcherPid: number;
  /** The launcher's monotonic clock at spawn (trace time 0). */
  t0: number;
  cwd: string;
  command: string[];
  /** Where the trace goes; the watchdog falls back to the temp directory and says so. */
  out?: string;
}

/** Processes to stop if the launcher dies: the service's session, and helper processes of the run. */
export interface JournalPids {
  type: 'pids';
  sessions: number[];
  helpers: number[];
}

export class Journal {
  private fd: number | undefined;
  private buf: string[] = [];
  private scheduled = false;
  private lastMeta = '';

  /** secrets: exact values never written, not even here (the run's collector token, which a service printing its environment would show). */
  constructor(
    dir: string,
    private readonly meta: () => unknown,
    private readonly secrets: string[] = [],
  ) {
    try {
      this.fd = fs.openSync(path.join(dir, JOURNAL_FILE), 'a');
    } catch {
      this.fd = undefined;
    }
  }

  get ok(): boolean {
    return this.fd !== undefined;
  }

  /** Buffered to the end of the current turn of the event loop, so a burst is one write. */
  write(rec: object, now = false): void {
    if (this.fd === undefined) return;
    try {
      this.buf.push(JSON.stringify(rec));
    } catch {
      return;
    }
    if (now) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.fd === undefined) return;
    let m = '';
    try {
      m = JSON.stringify(this.meta());
    } catch {}
    if (m && m !== this.lastMeta) {
      this.lastMeta = m;
      this.buf.push(`{"type":"meta","meta":${m}}`);
    }
    if (!this.buf.length) return;
    let text = this.buf.join('\n') + '\n';
    this.buf = [];
    for (const s of this.secrets) if (s && text.includes(s)) text = text.split(s).join(REDACTED);
    try {
      fs.writeSync(this.fd, text);
    } catch {
      // A full disk: the live run goes on; only the rescue path loses detail.
      this.close();
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      fs.closeSync(fd);
    } catch {}
  }
}

/** Reads a journal; a torn last line (the launcher died mid-write) is skipped. */
export function readJournal(dir: string): Record<string, unknown>[] {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, JOURNAL_FILE), 'utf8');
  } catch {
    return [];
  }
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const r = JSON.parse(line);
      if (r && typeof r === 'object' && !Array.isArray(r)) out.push(r);
    } catch {}
  }
  return out;
}

export function defaultWatchdogPath(): string | undefined {
  const candidates = [path.join(__dirname, 'watchdog.js'), path.join(__dirname, '..', '..', 'dist', 'watchdog.js'), path.join(__dirname, '..', 'dist', 'watchdog.js')];
  return candidates.find((c) => fs.existsSync(c));
}

export interface Watchdog {
  pid: number;
  /** The run ended normally: the watchdog exits without touching anything. */
  release(): void;
}

/**
 * Starts the watchdog: a shell reading a pipe from this process, in its own session so that
 * neither a terminal's hangup nor Ctrl+C reaches it. It costs one idle `sh` until needed.
 */
export function startWatchdog(spoolDir: string, script: string): Watchdog | undefined {
  const env: NodeJS.ProcessEnv = { ...process.env, ELECTRON_RUN_AS_NODE: '1' };
  // Neither the user's NODE_OPTIONS nor anything of the run's reaches the watchdog's node.
  delete env.NODE_OPTIONS;
  // node gets the tool's stderr as fd 3, not 2: node restores a terminal on fds 0-2 to the modes it
  // found at start on exit, and a terminal may still be in a pty helper's raw mode at that moment.
  const loop = 'while IFS= read -r l; do [ "$l" = done ] && exit 0; done; [ -d "$1" ] || exit 0; exec "$0" "$2" "$1" 3>&2 2>/dev/null';
  let child: ChildProcess;
  try {
    child = spawn('/bin/sh', ['-c', loop, process.execPath, spoolDir, script], { detached: true, stdio: ['pipe', 'ignore', 'inherit'], env });
  } catch {
    return undefined;
  }
  if (!child.pid) return undefined;
  child.on('error', () => {});
  child.stdin!.on('error', () => {});
  child.unref();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  let released = false;
  return {
    pid: child.pid,
    release() {
      if (released) return;
      released = true;
      try {
        child.stdin!.end('done\n');
      } catch {}
    },
  };
}
