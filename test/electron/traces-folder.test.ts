/**
 * The extension's code that needs no VS Code: a folder of traces read into the list (order,
 * labels, spools a collected trace stands for, unreadable files), and the duration settings
 * in the CLI's grammar. The list in a real VS Code: test/e2e/traces-folder.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FolderReader, describeRow, groupsOf, labelOf } from '../../src/extension/traceFolder';
import { DEFAULTS, parsePreStopInput, readSettings, sanitizeOverrides } from '../../src/extension/settings';
import { WORST_FIRST } from '../../src/core/collect-dir';
import { formatDuration } from '../../src/shared/duration';

process.env.TZ = 'UTC';
const ROOT = path.resolve(__dirname, '..', '..');
const UNIT_TRACES = path.join(ROOT, 'test', 'unit', 'traces');

function folder(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-folder-'));
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}
const trace = (name: string) => fs.readFileSync(path.join(UNIT_TRACES, name), 'utf8');

test('traces are grouped by verdict, worst first, with who, pid, headline and the analysis numbers', async () => {
  const dir = folder({
    'a/graceful.shutdown-trace.json': trace('graceful-two-processes.shutdown-trace.json'),
    'b/leaked.shutdown-trace.json': trace('leaked-interval.shutdown-trace.json'),
    'load-drop.shutdown-trace.json': trace('load-drop.shutdown-trace.json'),
    'node_modules/x/ignored.shutdown-trace.json': trace('leaked-interval.shutdown-trace.json'),
    'notes.json': '{}',
  });
  const scan = await new FolderReader(dir).scan();
  const groups = groupsOf(scan);
  assert.deepEqual(
    scan.traces.map((t) => t.exitReason),
    ['killed-at-deadline', 'forced-exit', 'graceful'],
    'the list itself is worst first',
  );
  assert.deepEqual(
    groups.map((g) => g.title),
    ['Killed at the deadline', 'Forced exit (process.exit)', 'Graceful'],
  );
  // the groups follow the one order of verdicts, collect's
  const order = groups.map((g) => WORST_FIRST.indexOf(g.reason));
  assert.deepEqual(
    order,
    [...order].sort((x, y) => x - y),
  );
  const [killed] = groups[0].rows;
  const leaked = JSON.parse(trace('leaked-interval.shutdown-trace.json'));
  // the stored analysis is what is shown, never a second computation
  const stored = leaked.analysis;
  assert.equal(labelOf(killed), `node leaked-interval.js · pid ${leaked.meta.mainPid}`);
  // The regenerated fixtures carry a fixed creation time (scripts/regen-fixtures.ts); shown in local time, here UTC.
  assert.equal(describeRow(killed), `killed at 5 s deadline: 1 leak · signal → exit ${formatDuration(stored.signalToExitMs)} · 1 leaked handle · 2026-01-01 00:00:00`);
  assert.equal(killed.verdict, stored.verdict);
  assert.equal(killed.leakedHandles, stored.leakedHandleCount);
  assert.equal(scan.traces.length, 3, 'node_modules is not read; other .json files are not traces');
});

test('an unreadable trace is one row with one line; a spool is offered until a collected trace names it', async () => {
  const header = {
    type: 'spool',
    format: 'shutdown-trace-spool',
    version: 1,
    hello: { type: 'hello', protocol: 1, pid: 4242, ppid: 1, argv: ['node', 'server.js'], node: 'v20', cwd: '/app', t: 1, isWorker: false },
    host: 'node-3',
    sid: 1,
    platform: 'linux-x64',
    wallMs: Date.UTC(2026, 10, 30, 12, 0, 0),
    mono: 1,
    env: { POD_NAME: 'api-1', POD_NAMESPACE: 'shop', OTEL_SERVICE_NAME: 'api' },
    maxBytes: 8388608,
    counters: { dropped: 0, ioErrors: 0 },
  };
  const dir = folder({
    'pod/node-3-4242-1.spool.ndjson': JSON.stringify(header) + '\n',
    'empty.spool.ndjson': '',
    'broken.shutdown-trace.json': '{"format":"shutdown-trace"',
  });
  const reader = new FolderReader(dir);
  let scan = await reader.scan();
  assert.deepEqual(
    scan.spools.map((s) => labelOf(s)),
    ['api · shop/api-1 · pid 4242'],
  );
  assert.deepEqual(
    scan.bad.map((b) => [b.rel, b.problem]),
    [
      ['broken.shutdown-trace.json', 'is truncated: the JSON ends early (26 bytes read). The file was cut off while being written or copied.'],
      ['empty.spool.ndjson', 'a spool without a readable header (empty, or cut short by a full disk)'],
    ],
  );
  // A collected trace that names the spool as its source: the spool is no longer offered.
  const collected = JSON.parse(trace('leaked-interval.shutdown-trace.json'));
  collected.meta.standalone = { headers: [header], sources: ['pod/node-3-4242-1.spool.ndjson'], collected: true, wallAtZero: header.wallMs };
  fs.writeFileSync(path.join(dir, 'node-3-4242-1.collected.shutdown-trace.json'), JSON.stringify(collected));
  scan = await reader.scan();
  assert.deepEqual(scan.spools, []);
  assert.equal(scan.traces.length, 1);
  assert.equal(labelOf(scan.traces[0]), `api · shop/api-1 · pid ${collected.meta.mainPid}`, 'who comes from the spool header the trace carries');
});

test('duration settings take a number of ms or the CLI grammar (500ms, 1.5s, 1m)', () => {
  const s = readSettings((k) => (({ gracePeriodMs: '1m', signalAfterMs: '1.5s', stallMs: '500ms', listenTimeoutMs: 2500, secondSignalAfterMs: 'soon' }) as Record<string, unknown>)[k]);
  assert.equal(s.gracePeriodMs, 60_000);
  assert.equal(s.signalAfterMs, 1500);
  assert.equal(s.stallMs, 500);
  assert.equal(s.listenTimeoutMs, 2500);
  assert.equal(s.secondSignalAfterMs, DEFAULTS.secondSignalAfterMs, 'a value that is not a duration falls back to the default');
  assert.deepEqual(sanitizeOverrides({ gracePeriodMs: '2m', stallMs: -1 }), { overrides: { gracePeriodMs: 120_000 }, ignored: ['stallMs'] });
  assert.deepEqual(parsePreStopInput('sleep 5'), { sleep: 5 }, 'a bare number is seconds, as in a Pod spec');
  assert.deepEqual(parsePreStopInput('sleep 1.5s'), { sleep: 1.5 });
  assert.deepEqual(parsePreStopInput('sleep 1m'), { sleep: 60 });
  assert.deepEqual(parsePreStopInput('sleep 500ms'), { sleep: 0.5 });
  assert.equal(parsePreStopInput('sleep soon'), undefined);
});
