/**
 * The CLI against hostile input, through the real CLI with real processes: a process of the
 * session sending malformed events with the run's token, a closed stdout, trace paths that
 * never end, trace files with wrong field types, control characters in what is echoed, and a
 * full disk.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTraced, node, CLI, FIXTURES, eventsOf, outputDrained } from './helpers';
import { isAlive } from '../../src/core/proctree';
import type { Trace } from '../../src/shared/trace';
import { assertWellFormed } from '../unit/xml-check';

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
    child.on('exit', async (code) => {
      await outputDrained(child);
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
  test('wrong field types (on the socket and in the spool folder) are refused and counted; the run finishes, the trace is written, nothing is left running', { timeout: 60_000 }, async () => {
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
      // 6 events on the socket; a FIFO, a directory, a bad hello and a bad event in the spool folder.
      assert.ok(trace.meta.counters.malformedFrames >= 10, `counted: ${JSON.stringify(trace.meta.counters)}`);
      assert.ok(!trace.processes.some((p) => p.pid === 999999), "the spool file's hello with wrong types was refused");
      assert.equal(trace.meta.counters.droppedEvents, 0, 'a "count" that is not a number never reaches the counter');
      const reasons = eventsOf(trace, 'collector-rejected')
        .map((e) => e.reason)
        .join('\n');
      for (const re of [
        /events\[0\]\.reason is missing/,
        /count is not a number \(string\)/,
        /handles\[0\] is not an object \(null\)/,
        /name is not a string/,
        /path is not a string/,
        /childPid is not a number/,
      ])
        assert.match(reasons, re);
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

describe('a closed stdout', () => {
  test('run … | head -c 100: EPIPE is quiet, the run finishes, the trace is written, nothing is left running', { timeout: 60_000 }, async () => {
    const dir = tmpDir('epipe');
    for (const [name, redirect] of [
      ['stdout', ''],
      ['stdout and stderr', '2>&1'],
    ] as const) {
      const out = path.join(dir, `${name.replace(/ /g, '-')}.shutdown-trace.json`);
      const errFile = path.join(dir, `${name.replace(/ /g, '-')}.stderr`);
      const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
      const cmd = `${q(process.execPath)} ${q(CLI)} run --grace 3s --out ${q(out)} -- ${q(process.execPath)} chatty.js ${redirect || `2>${q(errFile)}`} | head -c 100 >/dev/null; echo "cli=\${PIPESTATUS[0]}"`;
      const r = spawnSync('bash', ['-c', cmd], { cwd: FIXTURES, encoding: 'utf8', timeout: 40_000 });
      const stderr = redirect ? '' : fs.readFileSync(errFile, 'utf8');
      assert.match(r.stdout, /cli=0/, `${name}: the CLI finished normally: ${r.stdout} ${stderr}`);
      assert.doesNotMatch(stderr + r.stderr, /EPIPE|Error|internal error/, name);
      if (!redirect) assert.match(stderr, /Shutdown Trace[\s\S]*trace: /, 'the report still reaches stderr');
      const trace = JSON.parse(fs.readFileSync(out, 'utf8')) as Trace;
      assert.equal(trace.meta.complete, true, name);
      assert.equal(trace.analysis!.exitReason, 'graceful', name);
      assert.ok(trace.output.filter((o) => /^closing \d+$/.test(o.text)).length === 100, `${name}: all output recorded`);
      assert.deepEqual(await gone(trace.processes.map((p) => p.pid)), [], `${name}: nothing left running`);
    }
  });
});

/** The leaked-interval fixture trace, as text, after `change`. */
function fixtureTrace(change: (t: any) => void = () => {}): string {
  const t = JSON.parse(fs.readFileSync(path.join(FIXTURES, '..', 'unit', 'traces', 'leaked-interval.shutdown-trace.json'), 'utf8'));
  change(t);
  return JSON.stringify(t);
}

function startView(file: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return cli(['view', file, '--for', '1s'], { timeoutMs: 15_000 });
}

describe('trace paths that never end, and trace files with wrong field types', () => {
  test('a symlink to /dev/zero, a FIFO, a directory, a huge file: one line, exit 2, at once, for show, export and view', { timeout: 120_000 }, async () => {
    const dir = tmpDir('paths');
    const zero = path.join(dir, 'zero.shutdown-trace.json');
    fs.symlinkSync('/dev/zero', zero);
    const fifo = path.join(dir, 'fifo.shutdown-trace.json');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const folder = path.join(dir, 'folder.shutdown-trace.json');
    fs.mkdirSync(folder);
    const huge = path.join(dir, 'huge.shutdown-trace.json');
    fs.writeFileSync(huge, '');
    fs.truncateSync(huge, 600 * 1024 * 1024); // sparse: no disk used
    const cases: [string, RegExp][] = [
      [zero, /zero\.shutdown-trace\.json is a character device, not a regular file/],
      [fifo, /fifo\.shutdown-trace\.json is a FIFO, not a regular file/],
      [folder, /folder\.shutdown-trace\.json is a directory, not a trace file/],
      [huge, /huge\.shutdown-trace\.json is 600 MiB; trace files are read up to 512 MiB/],
    ];
    for (const [file, re] of cases) {
      for (const args of [
        ['show', file],
        ['export', file, '--format', 'chrome'],
        ['export', file, '--format', 'md'],
        ['view', file, '--for', '1s'],
      ]) {
        const t0 = Date.now();
        const r = await cli(args, { timeoutMs: 15_000 });
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, re, args.join(' '));
        assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
        assert.equal(r.stdout, '', args.join(' '));
        assert.ok(Date.now() - t0 < 5000, `${args.join(' ')} answered at once (${Date.now() - t0} ms)`);
      }
    }
  });

  test('check: a FIFO as --junit and a directory as --out neither hang nor write through', { timeout: 60_000 }, async () => {
    const dir = tmpDir('check-paths');
    const fifo = path.join(dir, 'report.junit.xml');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const folder = path.join(dir, 'run.shutdown-trace.json');
    fs.mkdirSync(folder);
    const tmp = tmpDir('check-fallback');
    const r = await cli(['check', '--quiet', '--grace', '3s', '--out', folder, '--junit', fifo, '--', process.execPath, 'graceful-http.js'], {
      env: { ...process.env, TMPDIR: tmp },
      timeoutMs: 40_000,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(fs.statSync(fifo).isFile(), 'the FIFO was replaced by the report, not written through');
    assert.match(fs.readFileSync(fifo, 'utf8'), /<testsuites/);
    const m = /could not write the trace to \S+ \(EISDIR: it is a directory\); wrote it to (\S+) instead/.exec(r.stderr);
    assert.ok(m, r.stderr);
    assert.equal(path.dirname(m[1]), tmp);
    assert.equal((JSON.parse(fs.readFileSync(m[1], 'utf8')) as Trace).analysis!.exitReason, 'graceful');
  });

  test('wrong field types and deep nesting: one line naming the first bad field, exit 2, for show, export and view', { timeout: 60_000 }, async () => {
    const dir = tmpDir('types');
    // The first snapshot of the fixture, wherever the run put it.
    const snap = (JSON.parse(fixtureTrace()).events as { kind: string }[]).findIndex((e) => e.kind === 'snapshot');
    assert.ok(snap > 0, 'the fixture has a snapshot');
    const files: [string, string, RegExp][] = [
      [
        'handles.shutdown-trace.json',
        fixtureTrace((t) => (t.events[snap].handles = 5)),
        new RegExp(`^shutdown-trace: handles\\.shutdown-trace\\.json: events\\[${snap}\\]\\.handles is not a list \\(number\\)$`),
      ],
      ['phases.shutdown-trace.json', fixtureTrace((t) => (t.analysis.phases = {})), /^shutdown-trace: phases\.shutdown-trace\.json: analysis\.phases is not a list \(an object\)$/],
      ['counter.shutdown-trace.json', fixtureTrace((t) => (t.meta.counters.droppedEvents = '0abc')), /meta\.counters\.droppedEvents is not a number \(string\)$/],
      ['nullhandle.shutdown-trace.json', fixtureTrace((t) => (t.events[snap].handles = [null, 5])), new RegExp(`events\\[${snap}\\]\\.handles\\[0\\] is not an object \\(null\\)$`)],
      ['deep.shutdown-trace.json', fixtureTrace().replace('"meta":{', `"meta":{"deep":${'['.repeat(100_000)}${']'.repeat(100_000)},`), /meta\.deep is nested more than 32 levels deep$/],
    ];
    for (const [name, text, re] of files) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, text);
      for (const args of [
        ['show', file],
        ['export', file, '--format', 'json'],
        ['export', file, '--format', 'chrome'],
        ['export', file, '--format', 'md'],
        ['view', file, '--for', '1s'],
      ]) {
        const r = await cli(args);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr.trim(), re, args.join(' '));
        assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
        assert.doesNotMatch(r.stderr, /internal error|Maximum call stack/);
      }
    }
  });
});

/** C0 and C1 controls other than the line breaks between our own lines. */
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;

function assertTerminalSafe(what: string, text: string): void {
  const at = text.search(CONTROL);
  assert.equal(at, -1, `${what}: control character ${JSON.stringify(text[at])} in ${JSON.stringify(text.slice(Math.max(0, at - 60), at + 60))}`);
  assert.ok(!text.split('\n').some((l) => l.startsWith('FAKE')), `${what}: a forged line`);
}

describe('control characters never reach the terminal', () => {
  const EVIL = '\x1b]0;pwned\x07\x1b[2J\x9b31m\r\nFAKE: check passed';

  test('show and export print a hostile trace (file name, verdict, findings, phases, labels, incomplete reason) without them', { timeout: 60_000 }, async () => {
    const dir = tmpDir('controls');
    const file = path.join(dir, `evil\x1b[2J\x9b.shutdown-trace.json`);
    fs.writeFileSync(
      file,
      fixtureTrace((t) => {
        t.analysis.verdict = `Killed ${EVIL}`;
        t.analysis.findings[0].title = `title ${EVIL}`;
        t.analysis.findings[0].detail = `detail ${EVIL}`;
        t.analysis.findings.find((f: { handles?: unknown[] }) => f.handles?.length).handles[0].label = `label ${EVIL}`;
        t.analysis.phases[0].name = `phase ${EVIL}`;
        t.analysis.phases[0].error = `error ${EVIL}`;
        t.meta.complete = false;
        t.meta.incompleteReason = `reason ${EVIL}`;
        t.meta.cwd = `/home/${EVIL}`;
        t.processes[0].command = `node ${EVIL}`;
        t.output.push({ t: 1, pid: 31337, stream: 'stdout', text: `log ${EVIL}` });
      }),
    );
    const show = await cli(['show', file]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /Killed .*FAKE: check passed/, 'the verdict is printed, on one line');
    assertTerminalSafe('show', show.stdout + show.stderr);
    for (const format of ['md', 'json', 'chrome']) {
      const e = await cli(['export', file, '--format', format]);
      assert.equal(e.code, 0, e.stderr);
      assertTerminalSafe(`export ${format}`, e.stdout + e.stderr);
    }
    const missing = await cli(['show', path.join(dir, `no\x1b]0;pwned\x07such.json`)]);
    assert.equal(missing.code, 2);
    assertTerminalSafe('an error naming the file', missing.stderr);
    const broken = path.join(dir, `broken\x1b[2J.shutdown-trace.json`);
    fs.writeFileSync(broken, '{"format": "shutdown-trace", "version": 1');
    const b = await cli(['show', broken]);
    assert.equal(b.code, 2);
    assertTerminalSafe('a format error naming the file', b.stderr);
  });

  test("run and check print a service's hostile phase name without them", { timeout: 60_000 }, async () => {
    const dir = tmpDir('controls-run');
    const run = await cli(['run', '--quiet', '--grace', '1500', '--out', path.join(dir, `run\x1b[2J.shutdown-trace.json`), '--', process.execPath, 'hostile-names.js'], { timeoutMs: 40_000 });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /close .*FAKE: check passed/, 'the phase is printed, on one line');
    assertTerminalSafe('run', run.stdout + run.stderr);
    const check = await cli(
      ['check', '--quiet', '--grace', '1500', '--out', path.join(dir, 'c.shutdown-trace.json'), '--junit', path.join(dir, `j\x1b[2J.xml`), '--', process.execPath, 'hostile-names.js'],
      { timeoutMs: 40_000 },
    );
    assert.equal(check.code, 1, check.stderr);
    assert.match(check.stderr, /Budgets/);
    assertTerminalSafe('check', check.stdout + check.stderr);
  });
});

describe('a full disk', { skip: process.getuid?.() !== 0 ? 'needs root to mount a tmpfs' : false }, () => {
  // A 64 KiB tmpfs: a trace of a talkative service does not fit; once filled, no JUnit report does.
  const disk = tmpDir('full-disk');
  let mounted = false;
  before(() => {
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', disk], { encoding: 'utf8' });
    assert.equal(r.status, 0, `mount: ${r.stderr}`);
    mounted = true;
  });
  after(() => {
    if (mounted) spawnSync('umount', [disk]);
  });

  /** Fills the disk to the last few hundred bytes. */
  function fill(): void {
    const filler = path.join(disk, 'filler');
    try {
      fs.appendFileSync(filler, Buffer.alloc(64 * 1024));
    } catch {}
    for (const n of [4096, 1024, 256]) {
      try {
        for (;;) fs.appendFileSync(filler, Buffer.alloc(n));
      } catch {}
    }
  }

  const entries = () => fs.readdirSync(disk).filter((f) => f !== 'filler' && f !== 'lost+found');

  test('run --out on a full filesystem: the report is printed, the trace goes to the temp directory (named), no temp file is left', { timeout: 60_000 }, async () => {
    const tmp = tmpDir('full-disk-fallback');
    const out = path.join(disk, 'run.shutdown-trace.json');
    const r = await cli(['run', '--quiet', '--grace', '3s', '--out', out, '--', process.execPath, 'chatty.js'], { env: { ...process.env, TMPDIR: tmp }, timeoutMs: 40_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Shutdown Trace\n[\s\S]*exit reason +graceful/, 'the report is printed');
    const m = /could not write the trace to (\S+) \(ENOSPC: no space left on the device\); wrote it to (\S+) instead/.exec(r.stderr);
    assert.ok(m, r.stderr);
    assert.equal(m[1], out);
    assert.equal(path.dirname(m[2]), tmp);
    assert.match(r.stderr, new RegExp(`trace: ${m[2].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), 'the report names where the trace is');
    const trace = JSON.parse(fs.readFileSync(m[2], 'utf8')) as Trace;
    assert.equal(trace.analysis!.exitReason, 'graceful');
    assert.ok(trace.output.length > 300);
    assert.deepEqual(entries(), [], 'nothing half-written on the full disk');
    assert.deepEqual(
      fs.readdirSync(tmp).filter((f) => !f.endsWith('.shutdown-trace.json')),
      [],
      'no temp files or spool left in the temp directory',
    );
  });

  test('check --junit on a full filesystem: no 0-byte or half XML file; both reports go to the temp directory, named', { timeout: 60_000 }, async () => {
    fill();
    const tmp = tmpDir('full-disk-fallback');
    const out = path.join(disk, 'check.shutdown-trace.json');
    const junit = path.join(disk, 'report.junit.xml');
    const r = await cli(['check', '--quiet', '--grace', '3s', '--out', out, '--junit', junit, '--', process.execPath, 'graceful-http.js'], { env: { ...process.env, TMPDIR: tmp }, timeoutMs: 40_000 });
    assert.equal(r.code, 0, `every budget holds: ${r.stderr}`);
    assert.match(r.stderr, /Budgets[\s\S]*check passed/);
    const t = /could not write the trace to \S+ \(ENOSPC[^)]*\); wrote it to (\S+) instead/.exec(r.stderr);
    const j = /could not write the JUnit report to (\S+) \(ENOSPC[^)]*\); wrote it to (\S+) instead/.exec(r.stderr);
    assert.ok(t && j, r.stderr);
    assert.equal(j[1], junit);
    assert.equal(path.dirname(j[2]), tmp);
    assertWellFormed(fs.readFileSync(j[2], 'utf8'));
    assert.match(fs.readFileSync(j[2], 'utf8'), new RegExp(`value="${t[1].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`), 'the JUnit report names where the trace is');
    assert.deepEqual(entries(), [], 'no 0-byte or half-written XML, no temp file');
  });
});
