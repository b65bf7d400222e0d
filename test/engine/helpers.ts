/**
 * Test helpers: run a fixture traced (through the real CLI, as a user would) or plain (no
 * preload, an independent minimal runner with the same signal plan), and compare.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Trace, TraceEvent, Finding } from '../../src/shared/trace';
import { userFrame, formatFrame } from '../../src/shared/frames';
import { sessionMembers } from '../../src/core/proctree';
import { assertMatchesSchema } from '../schema-check';

export const ROOT = path.resolve(__dirname, '..', '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
export const CLI = path.join(ROOT, 'dist', 'cli.js');
export const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

if (!fs.existsSync(CLI) || !fs.existsSync(path.join(ROOT, 'dist', 'preload.js'))) {
  throw new Error('dist/ is not built: run "npm run build" (npm test does it first)');
}

export interface Plan {
  signal?: string;
  second?: string;
  secondAfter?: number;
  graceMs?: number;
  delivery?: 'main' | 'group';
  /** Signal this long after start instead of on "listening". */
  after?: number;
  cwd?: string;
  /** 'open': the CLI's stdin is a pipe held open and never written (a console, a parent's pipe); otherwise /dev/null. */
  stdin?: 'open';
  env?: NodeJS.ProcessEnv;
}

export interface Outcome {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** ms from the first signal to exit, measured by the runner. */
  signalToExitMs?: number;
}

export interface TracedOutcome extends Outcome {
  trace: Trace;
  tracePath: string;
  /** The CLI's own exit. */
  cliCode: number | null;
}

function tmpFile(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-test-'));
  return path.join(dir, name);
}

export function planArgs(p: Plan): string[] {
  const a = ['--signal', p.signal ?? 'SIGTERM', '--grace', String(p.graceMs ?? 1500), '--delivery', p.delivery ?? 'main', '--listen-delay', '100'];
  if (p.after !== undefined) a.push('--signal-after', String(p.after));
  if (p.second) a.push('--second-signal', p.second, '--second-after', String(p.secondAfter ?? 100));
  return a;
}

/**
 * Resolves once a child's stdout and stderr have been read to their end ('exit' can come first),
 * or after `capMs` if a process it left behind still holds them.
 */
export function outputDrained(child: { stdout: NodeJS.ReadableStream | null; stderr: NodeJS.ReadableStream | null }, capMs = 1000): Promise<void> {
  const ended = (s: NodeJS.ReadableStream | null) =>
    !s || (s as { readableEnded?: boolean }).readableEnded
      ? Promise.resolve()
      : new Promise<void>((r) => {
          s.once('end', () => r());
          s.once('close', () => r());
          setTimeout(r, capMs).unref();
        });
  return Promise.all([ended(child.stdout), ended(child.stderr)]).then(() => undefined);
}

/** Runs the CLI exactly as a user would; stdout is the service's echoed stdout. */
export function runTraced(command: string[], plan: Plan = {}, extra: string[] = []): Promise<TracedOutcome> {
  const out = tmpFile('run.shutdown-trace.json');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'run', ...planArgs(plan), '--out', out, ...extra, '--', ...command], {
      cwd: plan.cwd ?? FIXTURES,
      env: plan.env ? { ...process.env, ...plan.env } : process.env,
      stdio: [plan.stdin === 'open' ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', async (cliCode) => {
      child.stdin?.destroy();
      await outputDrained(child);
      if (!fs.existsSync(out)) return reject(new Error(`no trace written (cli exit ${cliCode}): ${stderr}`));
      const trace = JSON.parse(fs.readFileSync(out, 'utf8')) as Trace;
      try {
        assertMatchesSchema(trace, out);
      } catch (e) {
        return reject(e);
      }
      const main = trace.processes.find((p) => p.isMain)!;
      const firstSignal = trace.events.find((e) => e.kind === 'signal-sent');
      const exit = trace.events.find((e) => e.kind === 'process-exit' && e.pid === main.pid);
      resolve({
        cliCode,
        code: main.exit?.code ?? null,
        signal: main.exit?.signal ?? null,
        stdout,
        stderr: trace.output
          .filter((o) => o.stream === 'stderr')
          .map((o) => o.text + '\n')
          .join(''),
        trace,
        tracePath: out,
        signalToExitMs: firstSignal && exit ? exit.t - firstSignal.t : undefined,
      });
    });
  });
}

/** The same plan without any tracing: the reference for "do no harm". */
export function runPlain(command: string[], plan: Plan = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = command;
    const child = spawn(cmd, args, {
      cwd: plan.cwd ?? FIXTURES,
      env: plan.env ? { ...process.env, ...plan.env } : process.env,
      detached: true,
      stdio: [plan.stdin === 'open' ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    const pid = child.pid!;
    let stdout = '';
    let stderr = '';
    let signalledAt: number | undefined;
    const timers: NodeJS.Timeout[] = [];
    const send = (sig: string) => {
      try {
        process.kill(plan.delivery === 'group' ? -pid : pid, sig as NodeJS.Signals);
      } catch {}
    };
    const go = () => {
      if (signalledAt !== undefined) return;
      signalledAt = performance.now();
      send(plan.signal ?? 'SIGTERM');
      if (plan.second) timers.push(setTimeout(() => send(plan.second!), plan.secondAfter ?? 100));
      timers.push(
        setTimeout(() => {
          try {
            process.kill(-pid, 'SIGKILL');
          } catch {}
        }, plan.graceMs ?? 1500),
      );
    };
    child.stdout!.on('data', (d) => {
      stdout += d;
      if (plan.after === undefined && /listening/.test(stdout)) timers.push(setTimeout(go, 100));
    });
    child.stderr!.on('data', (d) => (stderr += d));
    if (plan.after !== undefined) timers.push(setTimeout(go, plan.after));
    timers.push(setTimeout(go, 10_000));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      child.stdin?.destroy();
      const exitedAt = performance.now();
      for (const t of timers) clearTimeout(t);
      // Stop survivors as the tool documents it does (SIGTERM, then SIGKILL after 1 s), so both
      // runs see the same; and leave nothing behind.
      setTimeout(() => {
        const survivors = sessionMembers(pid);
        for (const m of survivors) {
          try {
            process.kill(m.pid, 'SIGTERM');
          } catch {}
        }
        setTimeout(
          () => {
            for (const m of sessionMembers(pid)) {
              try {
                process.kill(m.pid, 'SIGKILL');
              } catch {}
            }
          },
          survivors.length ? 1000 : 0,
        );
      }, 300);
      const done = () => resolve({ code, signal, stdout, stderr, signalToExitMs: signalledAt !== undefined ? exitedAt - signalledAt : undefined });
      if (child.stdout!.readableEnded) done();
      else child.stdout!.once('end', done);
    });
  });
}

export function findings(t: Trace): Finding[] {
  return t.analysis?.findings ?? [];
}

export function finding(t: Trace, code: Finding['code']): Finding | undefined {
  return findings(t).find((f) => f.code === code);
}

/** "file:line" (relative to the fixtures dir) of every leaked handle in a finding. */
export function leakSites(f: Finding | undefined, cwd = FIXTURES): string[] {
  return (f?.handles ?? []).map((h) => {
    const fr = userFrame(h.site);
    return fr ? formatFrame(fr, cwd).replace(/:\d+$/, '') : 'unknown';
  });
}

export function eventsOf<K extends TraceEvent['kind']>(t: Trace, kind: K): Extract<TraceEvent, { kind: K }>[] {
  return t.events.filter((e): e is Extract<TraceEvent, { kind: K }> => e.kind === kind);
}

export function node(...args: string[]): string[] {
  return [process.execPath, ...args];
}
