/**
 * What a traced program can observe of the preload's wrappers, compared with a plain run:
 * source text, name and length of every wrapped function, and that the user's
 * Error.prepareStackTrace is never called for the tool's own stacks. And a signal that the
 * tool did not send is still the shutdown.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTraced, runPlain, node, FIXTURES, CLI, ROOT, leakSites, finding } from './helpers';

const PRELOAD = path.join(ROOT, 'dist', 'preload.js');

describe('the preload is invisible to what programs inspect', { concurrency: 2 }, () => {
  test('wrapped functions show the original source, name and length', () => {
    const plain = spawnSync(process.execPath, ['shape.js'], { cwd: FIXTURES, encoding: 'utf8' });
    // The preload active but without a collector to reach: every patch installed, nothing sent.
    const traced = spawnSync(process.execPath, ['shape.js'], {
      cwd: FIXTURES,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: `--require ${PRELOAD}`, SHUTDOWN_TRACE_PORT: '9', SHUTDOWN_TRACE_TOKEN: 'x' },
    });
    assert.equal(plain.status, 0, plain.stderr);
    assert.equal(traced.status, 0, traced.stderr);
    const lines = (s: string) => s.trim().split('\n');
    assert.equal(lines(plain.stdout).length, 22);
    assert.deepEqual(lines(traced.stdout), lines(plain.stdout));
  });

  test("the user's Error.prepareStackTrace runs only for the user's own errors", async () => {
    const plan = { graceMs: 1000 };
    const [plain, traced] = await Promise.all([runPlain(node('user-prepare-stack.js'), plan), runTraced(node('user-prepare-stack.js'), plan)]);
    assert.equal(traced.stdout, plain.stdout);
    assert.equal(traced.stdout.match(/prepareStackTrace #/g)?.length, 1, traced.stdout);
    // The tool still found the leak's line without it.
    assert.deepEqual(leakSites(finding(traced.trace, 'killed-at-deadline')), ['user-prepare-stack.js:11']);
  });
});

describe('a signal the tool did not send', () => {
  test('a SIGTERM sent by hand under --when never is the shutdown: graceful, measured, not "before any signal"', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-hand-'));
    const out = path.join(dir, 't.json');
    const cli = spawn(process.execPath, [CLI, 'run', '--when', 'never', '--grace', '2s', '--out', out, '--', process.execPath, 'graceful-http.js'], {
      cwd: FIXTURES,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    cli.stdout.on('data', (d) => (stdout += d));
    await new Promise<void>((resolve, reject) => {
      const check = () => (/listening/.test(stdout) ? resolve() : setTimeout(check, 20));
      check();
      cli.on('exit', () => reject(new Error(`the CLI exited before the service listened: ${stdout}`)));
    });
    // The CLI's child that runs the fixture (its watchdog is a child too).
    const children = fs.readFileSync(`/proc/${cli.pid}/task/${cli.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    const service = children.find((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('graceful-http.js'))!;
    assert.ok(service > 0, `the service is a child of the CLI: ${children}`);
    process.kill(service, 'SIGTERM');
    const code = await new Promise<number | null>((resolve) => cli.on('exit', resolve));
    assert.equal(code, 0, stdout);
    const t = JSON.parse(fs.readFileSync(out, 'utf8'));
    assert.equal(t.analysis.exitReason, 'graceful');
    assert.match(t.analysis.verdict, /^Graceful: exited with code 0 [\d.]+ ms after SIGTERM/);
    assert.match(t.analysis.verdict, /SIGTERM came from outside Shutdown Trace/);
    assert.ok(t.analysis.signalToExitMs < 1000, `signal → exit ${t.analysis.signalToExitMs}`);
  });
});
