/**
 * The service's stdin, stdout and stderr when the launcher runs attached to a terminal (the CLI).
 *
 * Untraced, a service started from a shell reads the shell's stdin and, in a terminal, sees a TTY
 * on all three. The launcher must record the output, which a plain inherited TTY would not allow.
 * So the service gets a pseudo-terminal, one for stdout and stderr when they are one terminal
 * (else one for each of them that is a TTY):
 * util-linux `script` holds the master side, copies what the service writes to a pipe the
 * launcher records and echoes, and (for stdout's, when stdin is a TTY) forwards the keyboard in
 * raw mode, so the pty's line discipline works as the terminal's would. The launcher still spawns
 * the service itself, with the slave side as its fds: the exit status stays exact, and the
 * service keeps its own session with no controlling terminal, as before.
 *
 * stdin that is not a TTY (a pipe, a file, /dev/null) is passed through as is. Without `script`
 * (not Linux, or no util-linux) a TTY is passed through as is too: the service sees the real
 * terminal, and what it writes there is not recorded (a note in the trace says so).
 */
import * as fs from 'fs';
import * as tty from 'tty';
import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'child_process';
import type { Readable, Writable } from 'stream';

export interface PtyHelper {
  pid: number;
  /** What the service wrote to this pty, as a terminal would show it. */
  output: Readable;
  /** Ends the helper (after the service's tree is gone) and waits until its output is drained. */
  close(): Promise<void>;
}

export interface AttachedStdio {
  stdio: StdioOptions;
  /** pty outputs to record in place of the child's stdout/stderr pipes. */
  ptys: { stdout?: PtyHelper; stderr?: PtyHelper };
  /**
   * stdout and stderr are one pty, as they are one terminal untraced: their writes keep their
   * order on screen. Its lines are read as stdout; the processes' own reports say which were stderr.
   */
  sharedStreams: boolean;
  /** What the service got, for the trace: 'pty', 'tty' (the real terminal), 'pipe'… */
  kinds: { stdin: string; stdout: string; stderr: string };
  notes: string[];
  /** Call right after spawning the service: the launcher keeps no slave fd open. */
  afterSpawn(): void;
  close(): Promise<void>;
}

let scriptOk: boolean | undefined;
/** util-linux script(1), whose -c command and fd passing this relies on. */
export function ptyAvailable(): boolean {
  if (scriptOk === undefined) {
    scriptOk = false;
    if (process.platform === 'linux') {
      try {
        const r = spawnSync('script', ['--version'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
        scriptOk = r.status === 0 && /util-linux/.test(r.stdout);
      } catch {}
    }
  }
  return scriptOk;
}

function describeFd(fd: number): string {
  try {
    if (tty.isatty(fd)) return 'tty';
    const st = fs.fstatSync(fd);
    if (st.isFIFO()) return 'pipe';
    if (st.isSocket()) return 'socket';
    if (st.isCharacterDevice()) return 'device';
    if (st.isFile()) return 'file';
    return 'other';
  } catch {
    return 'closed';
  }
}

/**
 * Opens a pty through `script`. The helper shell inside it prints the slave's name on fd 3, then
 * waits for end-of-file on fd 4 (this process closing it, or dying), never reading the slave.
 * Ctrl+C and Ctrl+\ typed into the pty reach this process as SIGINT/SIGQUIT, as they did when the
 * service had no terminal of its own; Ctrl+Z is ignored.
 */
async function openPty(o: { keyboard: boolean; size?: { columns: number; rows: number } }): Promise<{ helper: PtyHelper; fd: number } | undefined> {
  const me = process.pid;
  const sh = [
    `trap 'i=1; kill -INT ${me} 2>/dev/null' INT`,
    `trap 'i=1; kill -QUIT ${me} 2>/dev/null' QUIT`,
    `trap '' TSTP TTIN TTOU`,
    o.size ? `stty cols ${o.size.columns} rows ${o.size.rows} 2>/dev/null` : ':',
    'tty >&3',
    'exec 3>&-',
    // A trapped signal interrupts read like end-of-file; only a real end-of-file ends the loop.
    'while :; do i=; read -r _ <&4 && continue; [ -n "$i" ] || break; done',
  ].join('; ');
  const env: NodeJS.ProcessEnv = { ...process.env, SHELL: '/bin/sh' };
  delete env.NODE_OPTIONS;
  let child: ChildProcess;
  try {
    // Without the keyboard, script's stdin is a pipe held open and never written: given /dev/null
    // it would pass end-of-file on to the service, whose reads should wait instead.
    // script blocks every signal and unblocks them on its way out: a write to this process's pipe
    // after this process died leaves a SIGPIPE pending that would kill it there, before it gives
    // the terminal its modes back. Ignored (inherited across exec), the write fails and is dropped.
    child = spawn('/bin/sh', ['-c', `trap '' PIPE; exec script -q -f -c "$0" /dev/null`, sh], { detached: true, env, stdio: [o.keyboard ? 0 : 'pipe', 'pipe', 'ignore', 'pipe', 'pipe'] });
  } catch {
    return undefined;
  }
  child.on('error', () => {});
  child.stdin?.on('error', () => {});
  const nameOut = child.stdio[3] as Readable;
  const hold = child.stdio[4] as Writable;
  hold.on('error', () => {});
  const name = await new Promise<string | undefined>((resolve) => {
    let text = '';
    const done = (v: string | undefined) => {
      clearTimeout(timer);
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), 3000);
    nameOut.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      if (text.includes('\n')) done(text.trim());
    });
    nameOut.on('error', () => done(undefined));
    nameOut.on('end', () => done(text.trim() || undefined));
    child.once('exit', () => done(undefined));
  });
  let fd: number | undefined;
  if (name && /^\/dev\/pts\/\d+$/.test(name)) {
    try {
      fd = fs.openSync(name, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
    } catch {}
  }
  const exited = new Promise<void>((r) => {
    if (child.exitCode !== null || child.signalCode !== null) r();
    else child.once('close', () => r());
  });
  if (fd === undefined) {
    try {
      child.kill('SIGTERM');
    } catch {}
    return undefined;
  }
  let closing: Promise<void> | undefined;
  const helper: PtyHelper = {
    pid: child.pid!,
    output: child.stdout!,
    close() {
      if (!closing) {
        try {
          hold.end();
          child.stdin?.end();
        } catch {}
        closing = Promise.race([exited, new Promise<void>((r) => setTimeout(r, 2000).unref())]).then(() => {
          if (child.exitCode === null && child.signalCode === null) {
            try {
              child.kill('SIGTERM');
            } catch {}
          }
        });
      }
      return closing;
    },
  };
  return { helper, fd };
}

/**
 * Whether this process is in its terminal's foreground process group. A background job (`&`)
 * must not take the keyboard: untraced, reading the terminal would stop it (SIGTTIN), and raw
 * mode would break the shell's line editing. Unknown (no /proc): assume the foreground.
 */
function inForeground(): boolean {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // pgrp is field 5, tpgid (the terminal's foreground group) field 8.
    return f[2] === f[5];
  } catch {
    return true;
  }
}

/** Whether stdout and stderr are the same terminal, as in a plain shell (not `2>file`, not two terminals). */
function oneTerminal(): boolean {
  try {
    const a = fs.fstatSync(1);
    const b = fs.fstatSync(2);
    return a.isCharacterDevice() && b.isCharacterDevice() && a.rdev === b.rdev;
  } catch {
    return false;
  }
}

function sizeOf(stream: NodeJS.WriteStream): { columns: number; rows: number } | undefined {
  return stream.isTTY && stream.columns > 0 && stream.rows > 0 ? { columns: stream.columns, rows: stream.rows } : undefined;
}

/** The service's stdio for a launcher attached to this process's own stdin/stdout/stderr. */
export async function attachStdio(): Promise<AttachedStdio> {
  const kinds = { stdin: describeFd(0), stdout: describeFd(1), stderr: describeFd(2) };
  const notes: string[] = [];
  const ptys: AttachedStdio['ptys'] = {};
  const fds: number[] = [];
  const wantPty = kinds.stdout === 'tty' || kinds.stderr === 'tty';
  const keyboard = kinds.stdin === 'tty' && inForeground();
  let sharedStreams = false;
  if (wantPty && ptyAvailable()) {
    if (kinds.stdout === 'tty' && kinds.stderr === 'tty' && oneTerminal()) {
      // One pty for both: two ptys relayed apart can swap a stdout line and the stderr line after it.
      const a = await openPty({ keyboard, size: keyboard ? undefined : sizeOf(process.stdout) });
      if (a) {
        ptys.stdout = a.helper;
        fds[1] = fds[2] = a.fd;
        if (kinds.stdin === 'tty') fds[0] = a.fd;
        sharedStreams = true;
      }
    } else if (kinds.stdout === 'tty') {
      // The keyboard goes through stdout's pty: script copies the terminal's modes and size.
      const a = await openPty({ keyboard, size: keyboard ? undefined : sizeOf(process.stdout) });
      if (a) {
        ptys.stdout = a.helper;
        fds[1] = a.fd;
        // In the background the service's terminal gets no keyboard: its reads wait, as a stopped job's would.
        if (kinds.stdin === 'tty') fds[0] = a.fd;
      }
    }
    if (kinds.stderr === 'tty' && !sharedStreams) {
      const b = await openPty({ keyboard: false, size: sizeOf(process.stderr) });
      if (b) {
        ptys.stderr = b.helper;
        fds[2] = b.fd;
      }
    }
  }
  const stdio: StdioOptions = [
    fds[0] ?? (kinds.stdin === 'closed' || (kinds.stdin === 'tty' && !keyboard) ? 'ignore' : 'inherit'),
    fds[1] ?? (kinds.stdout === 'tty' ? 'inherit' : 'pipe'),
    fds[2] ?? (kinds.stderr === 'tty' ? 'inherit' : 'pipe'),
  ];
  const passed = (['stdout', 'stderr'] as const).filter((n, i) => kinds[n] === 'tty' && stdio[i + 1] === 'inherit');
  if (passed.length) {
    notes.push(`The service wrote its ${passed.join(' and ')} straight to the terminal, which the trace could not record: no pseudo-terminal was available (it needs util-linux's script on Linux).`);
  }
  const service = {
    stdin: fds[0] !== undefined ? 'pty' : kinds.stdin,
    stdout: fds[1] !== undefined ? 'pty' : kinds.stdout,
    stderr: fds[2] !== undefined ? 'pty' : kinds.stderr,
  };
  return {
    stdio,
    ptys,
    sharedStreams,
    kinds: service,
    notes,
    afterSpawn() {
      for (const fd of new Set(fds.filter((f) => f !== undefined))) {
        try {
          fs.closeSync(fd);
        } catch {}
      }
    },
    async close() {
      await Promise.all([ptys.stdout?.close(), ptys.stderr?.close()]);
    },
  };
}

/** Escape sequences (colours, cursor moves, titles) are how a terminal shows text, not the text. */
export function stripTerminalControls(s: string): string {
  return s.replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[@-Z\\-_]/g, '');
}
