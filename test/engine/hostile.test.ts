/**
 * The CLI against hostile input, through the real CLI with real processes: a process of the
 * session sending malformed events with the run's token, a closed stdout, trace paths that
 * never end, trace files with wrong field types, control characters in what is echoed, and a
 * full disk.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTraced, node, CLI, FIXTURES, eventsOf } from './helpers';
import { isAlive } from '../../src/core/proctree';
import type { Trace } from '../../src/core/trace';

const tmpDir = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `st-${name}-`));

function cli(args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: o.cwd ?? FIXTURES, env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function gone(pids: number[], ms = 3000): Promise<number[]> {
  const until = Date.now() + ms;
  let alive = pids.filter(isAlive);
  while (alive.length && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    alive = pids.filter(isAlive);
  }
  return alive;
}

function killAll(pids: number[]): void {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {}
  }
}

describe('malformed events from a process of the session', () => {
  test('wrong field types are refused and counted; the run finishes, the trace is written, nothing is left running', { timeout: 60_000 }, async () => {
    const dir = tmpDir('hostile');
    const out = path.join(dir, 'run.shutdown-trace.json');
    const r = await cli(['run', '--grace', '3s', '--out', out, '--', process.execPath, 'hostile-frames.js'], { timeoutMs: 40_000 });
    const pids = (/pids ([\d ]+)/.exec(r.stdout)?.[1] ?? '').trim().split(' ').filter(Boolean).map(Number);
    try {
      assert.match(r.stdout, /rogue sent its frames \(exit 0\)/, r.stderr);
      assert.equal(r.code, 0, `the CLI finished: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /TypeError|internal error/);
      assert.ok(fs.existsSync(out), 'trace written');
      const trace = JSON.parse(fs.readFileSync(out, 'utf8')) as Trace;
      assert.ok(trace.meta.counters.malformedFrames >= 6, `counted: ${JSON.stringify(trace.meta.counters)}`);
      assert.equal(trace.meta.counters.droppedEvents, 0, 'a "count" that is not a number never reaches the counter');
      const reasons = eventsOf(trace, 'collector-rejected').map((e) => e.reason).join('\n');
      for (const re of [/events\[0\]\.reason is missing/, /count is not a number \(string\)/, /handles\[0\] is not an object \(null\)/, /name is not a string/, /path is not a string/, /childPid is not a number/]) assert.match(reasons, re);
      assert.equal(pids.length, 3, `the service printed its pids: ${r.stdout}`);
      assert.deepEqual(await gone(pids), [], 'the service and its children are gone');
      // The trace reads back and exports (handles: [null, 5] used to break the Chrome export).
      const show = await cli(['show', out]);
      assert.equal(show.code, 0, show.stderr);
      const chrome = await cli(['export', out, '--format', 'chrome']);
      assert.equal(chrome.code, 0, chrome.stderr);
    } finally {
      killAll(pids);
    }
  });
});
