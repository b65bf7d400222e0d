/**
 * The real-library suite's view of a trace: what a user reads (verdict, exit, leaks with
 * owner, user line and fix), with failure messages that print what the tool actually said.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Trace, Leak, ProcessInfo } from '../../src/shared/trace';
import type { Frame } from '../../src/shared/frames';
import { runTraced, ROOT, type Plan, type TracedOutcome } from '../engine/helpers';

export const APP = path.join(ROOT, 'test', 'real-app');
export const APP_BIN = path.join(APP, 'node_modules', '.bin');
/** Grace period for every run: well under pg's 10 s idle timeout, long enough to see a clean exit. */
export const GRACE = 2000;

if (!fs.existsSync(path.join(APP, 'node_modules', 'ioredis'))) {
  throw new Error('test/real-app is not installed: run "cd test/real-app && npm ci" (npm test does it first)');
}

/** Runs a fixture service through the real CLI from test/real-app (or `plan.cwd`). */
export function trace(command: string[], plan: Plan = {}): Promise<TracedOutcome> {
  return runTraced(command, { graceMs: GRACE, cwd: APP, ...plan });
}

export function node(...args: string[]): string[] {
  return [process.execPath, ...args];
}

/** The 1-based line of the one line in `file` (relative to `dir`) that contains `needle`. */
export function lineOf(file: string, needle: string, dir = APP): number {
  const lines = fs.readFileSync(path.join(dir, file), 'utf8').split('\n');
  const hits = lines.flatMap((l, i) => (l.includes(needle) ? [i + 1] : []));
  if (hits.length !== 1) throw new Error(`${file}: expected one line containing ${JSON.stringify(needle)}, found ${hits.length}`);
  return hits[0];
}

/** "file:line" of `needle`'s line, the way leak sites are compared. */
export function at(file: string, needle: string, dir = APP): string {
  return `${file}:${lineOf(file, needle, dir)}`;
}

export function relFile(file: string, cwd = APP): string {
  let f = file.startsWith('file://') ? decodeURIComponent(new URL(file).pathname) : file;
  if (f.startsWith(cwd + path.sep)) f = f.slice(cwd.length + 1);
  return f;
}

export function frameSite(f: Frame | undefined, cwd = APP): string {
  return f ? `${relFile(f.file, cwd)}:${f.line}` : 'no site';
}

/** One line per leak, and the findings' handles when there is no leak list: for failure messages. */
export function explain(t: Trace, cwd = APP): string {
  const a = t.analysis;
  if (!a) return 'no analysis in the trace';
  const procs = t.processes.map((p) => `  pid ${p.pid}${p.isMain ? ' main' : ''} role=${p.role ?? '-'} exit=${p.exit ? (p.exit.signal ?? p.exit.code) : '-'} ${p.command.slice(0, 100)}`).join('\n');
  const lines = [`verdict: ${a.verdict}`, `exitReason: ${a.exitReason}, servicePid: ${a.servicePid}`, 'processes:', procs];
  if (!a.leaks) {
    lines.push('analysis.leaks: missing. Handles in findings:');
    for (const f of a.findings) {
      for (const h of f.handles ?? []) {
        const fr = h.site && h.site.frames[h.site.user >= 0 ? h.site.user : 0];
        lines.push(`  [${f.code}] ${h.type} "${h.label}" at ${frameSite(fr, cwd)}${h.owner ? ` owner=${h.owner.name} at ${frameSite(h.owner.site?.frames[h.owner.site.user], cwd)}` : ''}`);
      }
    }
  } else {
    lines.push(`analysis.leaks (${a.leaks.length}):`);
    for (const l of a.leaks) {
      lines.push(
        `  pid ${l.pid} "${l.title}" owner=${l.owner ? `${l.owner.name} (via ${l.owner.via}${l.owner.path ? ` .${l.owner.path}` : ''})` : '-'} site=${frameSite(l.site, cwd)} user=${l.inUserCode} fix=${JSON.stringify(l.fix)} handles=[${l.handles.map((h) => `${h.type} "${h.label}"`).join(', ')}] count=${l.count}`,
      );
    }
  }
  return lines.join('\n');
}

export function leaksOf(t: Trace, cwd = APP): Leak[] {
  assert.ok(t.analysis?.leaks, `trace.analysis.leaks is missing\n${explain(t, cwd)}`);
  return t.analysis.leaks;
}

export interface ExpectedLeak {
  /**
   * "file:line" relative to cwd. Several when the library object is tied to more than one user
   * line that all name it (its creation, and the user's call that opened the connection, e.g.
   * `new Client()` and `await client.connect()`): the first is the creation line.
   */
  site: string | string[];
  /** Owner name ("<package> <Class>"); null: a handle the user created directly, no owner. */
  owner: RegExp | null;
  /** The releasing call named in `fix`. */
  fix: RegExp;
  /** The process it is in; default: the service (analysis.servicePid). */
  pid?: number;
}

/**
 * The leak list is exactly `expected` (any order): same count, each with its user line, owner,
 * fix and process; all in user code; nothing else (no node_modules-only or runner entries).
 */
export function expectLeaks(r: TracedOutcome, expected: ExpectedLeak[], cwd = APP): Leak[] {
  const t = r.trace;
  const msg = (what: string) => `${what}\n${explain(t, cwd)}`;
  const leaks = leaksOf(t, cwd);
  const sitesOf = (e: ExpectedLeak) => (Array.isArray(e.site) ? e.site : [e.site]);
  assert.equal(leaks.length, expected.length, msg(`expected ${expected.length} leak(s): ${expected.map((e) => `${e.owner?.source ?? 'no owner'} at ${sitesOf(e).join(' or ')}`).join('; ')}`));
  const servicePid = t.analysis!.servicePid;
  const left = [...leaks];
  for (const e of expected) {
    const pid = e.pid ?? servicePid ?? t.meta.mainPid;
    const sites = sitesOf(e);
    const i = left.findIndex((l) => sites.includes(frameSite(l.site, cwd)) && (pid === undefined || l.pid === pid));
    assert.ok(i >= 0, msg(`no leak at ${sites.join(' or ')}${pid !== undefined ? ` in pid ${pid}` : ''}`));
    const l = left.splice(i, 1)[0];
    const where = frameSite(l.site, cwd);
    assert.equal(l.inUserCode, true, msg(`the leak at ${where} must be in user code`));
    if (e.owner) {
      assert.ok(l.owner, msg(`the leak at ${where} has no owner (expected ${e.owner})`));
      assert.match(l.owner.name, e.owner, msg(`owner of the leak at ${where}`));
      assert.ok(l.title.startsWith(l.owner.name), msg(`the title names the owner: "${l.title}"`));
    } else {
      assert.equal(l.owner, undefined, msg(`the leak at ${where} is the user's own handle, no library owner`));
    }
    assert.match(l.fix ?? '', e.fix, msg(`fix of the leak at ${where}`));
    assert.ok(l.count >= 1 && l.handles.length >= 1, msg(`the leak at ${where} holds its handles`));
    assert.ok(
      l.handles.every((h) => h.ref),
      msg(`only handles that keep the loop alive are leaks (${where})`),
    );
  }
  return leaks;
}

/** Users read the verdict first: it names every leak's user line (it shows up to three). */
export function expectVerdictNames(t: Trace, sites?: string[], cwd = APP): void {
  for (const s of (sites ?? (t.analysis!.leaks ?? []).map((l) => frameSite(l.site, cwd))).slice(0, 3)) {
    const [file, line] = [s.slice(0, s.lastIndexOf(':')), s.slice(s.lastIndexOf(':') + 1)];
    assert.match(t.analysis!.verdict, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${line}\\b`), `the verdict names ${s}\n${explain(t, cwd)}`);
  }
}

export function proc(t: Trace, pid: number | undefined): ProcessInfo | undefined {
  return t.processes.find((p) => p.pid === pid);
}

/** Pids that listened on TCP, from the preload's own events (independent of the analysis). */
export function listenerPids(t: Trace): number[] {
  return [...new Set(t.events.filter((e) => e.kind === 'listen' && /:\d+$/.test((e as { address: string }).address)).map((e) => e.pid))];
}

/** The service ended as expected: exit reason, and the service process's own code/signal. */
export function expectExit(r: TracedOutcome, reason: string, exit: { code: number | null; signal: string | null }, servicePid?: number): void {
  const t = r.trace;
  const pid = servicePid ?? t.meta.mainPid;
  assert.equal(t.analysis!.exitReason, reason, `exit reason\n${explain(t)}`);
  const p = proc(t, pid);
  assert.ok(p, `process ${pid} in the trace\n${explain(t)}`);
  assert.deepEqual(p.exit ? { code: p.exit.code, signal: p.exit.signal } : undefined, exit, `exit of the service (pid ${pid})\n${explain(t)}`);
}

/** A graceful run: exit 0, graceful verdict, and no leak of any kind listed. */
export function expectGraceful(r: TracedOutcome, servicePid?: number): void {
  const t = r.trace;
  expectExit(r, 'graceful', { code: 0, signal: null }, servicePid);
  assert.match(t.analysis!.verdict, /^Graceful/, explain(t));
  assert.deepEqual(t.analysis!.leaks ?? [], [], `no leaks\n${explain(t)}`);
  assert.equal(t.analysis!.leakedHandleCount, 0, `no leaked handles counted\n${explain(t)}`);
  const flagged = t.analysis!.findings.filter((f) => ['killed-at-deadline', 'leaked-handles', 'masked-leak', 'stalled', 'open-connections', 'orphans'].includes(f.code));
  assert.deepEqual(
    flagged.map((f) => f.title),
    [],
    `no leak findings\n${explain(t)}`,
  );
}

/** The service a runner started is the one the verdict is about; the runners are marked. */
export function expectService(t: Trace, servicePid: number, runnerPids: number[]): void {
  assert.equal(t.analysis!.servicePid, servicePid, `servicePid is the node process running the service\n${explain(t)}`);
  assert.equal(proc(t, servicePid)?.role, 'service', `role of the service process\n${explain(t)}`);
  for (const pid of runnerPids) assert.equal(proc(t, pid)?.role, 'runner', `role of runner pid ${pid} (${proc(t, pid)?.command})\n${explain(t)}`);
}
