/**
 * Running commands the way a user at a terminal does: with piped stdin, or inside a real
 * pseudo-terminal (util-linux script(1), as in a terminal emulator), typing into it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLI, FIXTURES } from './helpers';

export function shQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function tmpOut(name = 'run.shutdown-trace.json'): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'st-stdio-')), name);
}

export const hasScript = (() => {
  try {
    return /util-linux/.test(spawnSync('script', ['--version'], { encoding: 'utf8' }).stdout);
  } catch {
    return false;
  }
})();

export interface Ran {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Runs argv with `input` written to its stdin, then end-of-file. */
export function withStdin(argv: string[], input: string, cwd = FIXTURES): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.stdin.end(input);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export interface PtyRun {
  child: ChildProcess;
  /** Everything the terminal showed so far. */
  screen(): string;
  /** Resolves once the screen matches. */
  waitFor(re: RegExp, ms?: number): Promise<void>;
  type(text: string): void;
  /** Resolves when the terminal's program ended. */
  done: Promise<{ code: number | null; signal: string | null }>;
}

/** A shell command line run inside a new pseudo-terminal, as a terminal emulator would run it. */
export function inPty(command: string, cwd = FIXTURES): PtyRun {
  // script -q: no banner; -f: flush; -e: its exit status is the command's; -c: through $SHELL.
  const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd, env: { ...process.env, SHELL: '/bin/sh', TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const done = new Promise<{ code: number | null; signal: string | null }>((r) => child.on('close', (code, signal) => r({ code, signal })));
  return {
    child,
    screen: () => out,
    async waitFor(re, ms = 15_000) {
      const until = Date.now() + ms;
      while (!re.test(out)) {
        if (Date.now() > until) throw new Error(`timed out waiting for ${re} on the terminal; it shows:\n${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    type(text) {
      child.stdin!.write(text);
    },
    done,
  };
}

/** The CLI's `run` as a shell command line. */
export function cliRun(args: string[], command: string[]): string {
  return [process.execPath, CLI, 'run', ...args, '--', ...command].map(shQuote).join(' ');
}

/** Lines as a terminal shows them (CRLF), without the tool's report that follows the service's output. */
export function serviceLines(screen: string): string[] {
  const lines = screen.replace(/\r\n/g, '\n').split('\n');
  const report = lines.findIndex((l) => /Shutdown Trace/.test(l));
  return (report === -1 ? lines : lines.slice(0, report)).filter((l) => l.trim() !== '');
}

export function pidsAlive(pids: number[]): number[] {
  return pids.filter((pid) => {
    try {
      process.kill(pid, 0);
    } catch {
      return false;
    }
    try {
      // A zombie is already dead: only its parent has not collected it.
      return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  });
}

export async function until(cond: () => boolean, ms: number, step = 50): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, step));
  }
  return cond();
}
