/**
 * Reliability under stress (issue: "the tool must never lose a trace, never harm the service"):
 * floods, a thrown handler, a burst of 50 mixed signals, and every way a run can end.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTraced, runPlain, node, FIXTURES, finding, eventsOf } from './helpers';
import { startRun } from '../../src/core/launcher';
import { sessionMembers } from '../../src/core/proctree';

const tmp = (name: string) => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'st-stress-')), name);
const MIXED = ['SIGTERM', 'SIGINT', 'SIGHUP'];
export const BURST = 50;

describe('do no harm under stress', { concurrency: 1 }, () => {
  test('flood: 100,000 timers and 10,000 connections; same outcome and output; bounded memory and snapshot', { timeout: 120_000 }, async (t) => {
    const plainRss = tmp('plain-rss');
    const tracedRss = tmp('traced-rss');
    process.env.FLOOD_RSS_FILE = plainRss;
    const plain = await runPlain(node('flood.js'), { graceMs: 10_000 });
    process.env.FLOOD_RSS_FILE = tracedRss;
    const traced = await runTraced(node('flood.js'), { graceMs: 10_000 });
    delete process.env.FLOOD_RSS_FILE;
    assert.equal(plain.code, 0);
    assert.equal(traced.code, plain.code);
    assert.equal(traced.signal, plain.signal);
    assert.equal(traced.stdout, plain.stdout);
    assert.equal(traced.stdout, 'connections=10000\nlistening\nclosed\nclient exited 0\n');
    assert.equal(traced.stderr, plain.stderr);
    const added = (Number(fs.readFileSync(tracedRss, 'utf8')) - Number(fs.readFileSync(plainRss, 'utf8'))) / 1048576;
    // The preload holds a structured stack per live timer and per client socket; bounded, not per event.
    t.diagnostic(`flood: preload added ${added.toFixed(1)} MB RSS (100k timers created, 1k live; 10k connections)`);
    assert.ok(added < 40, `preload added ${added.toFixed(1)} MB RSS with 100k timers and 10k connections`);
    assert.equal(traced.trace.analysis!.exitReason, 'graceful');
    assert.equal(traced.trace.meta.counters.droppedEvents, 0);
    const tr = traced.trace;
    assert.equal(tr.processes.filter((p) => p.traced).length, 2, 'server and client processes both traced');
    const serverClose = eventsOf(tr, 'server-close')[0];
    assert.equal(serverClose.connections, 10_000, 'all 10,000 connections seen at close()');
  });

  test('a snapshot of a flooded process is collapsed and bounded', { timeout: 60_000 }, async () => {
    const run = await startRun({ command: node('flood.js'), cwd: FIXTURES, env: { FLOOD_CONNECTIONS: '3000' }, plan: { signal: 'SIGTERM', when: { mode: 'never' }, graceMs: 5000, delivery: 'main' } });
    const until = Date.now() + 30_000;
    while (!run.trace.output.some((o) => o.text === 'listening') && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const t0 = performance.now();
    run.requestSnapshot();
    let snap;
    while (!(snap = eventsOf(run.trace, 'snapshot').find((s) => s.reason === 'manual' && s.pid === run.mainPid)) && performance.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
    const took = performance.now() - t0;
    run.kill();
    await run.done;
    assert.ok(snap, 'manual snapshot arrived');
    // ~10k timers are live at once while the waves run, so creation sites are sampled past
    // 2,000 live: every long timer is still counted, the sampled ones with their line.
    const long = snap.handles.filter((h) => h.type === 'timeout' && /setTimeout 600000 ms/.test(h.label));
    const counted = long.reduce((n, h) => n + Number(h.details?.count ?? 1), 0);
    assert.equal(counted, 1000, `all 1,000 long-lived timers counted: ${long.map((h) => h.label)}`);
    const withSite = long.find((h) => h.site);
    assert.ok(withSite && /^\d+ × setTimeout 600000 ms$/.test(withSite.label), 'a collapsed entry with its site');
    assert.equal(withSite.site!.frames[withSite.site!.user].line, 13);
    assert.ok(
      long.some((h) => h.details?.siteSampled === false && /creation sites not sampled/.test(h.label)),
      'the unsampled rest is said so',
    );
    const conns = snap.handles.find((h) => h.details?.accepted && Number(h.details.count) === 3000);
    assert.ok(conns, 'the 3,000 accepted connections collapsed into one entry');
    assert.ok(snap.handles.length < 50, `${snap.handles.length} entries`);
    assert.ok(JSON.stringify(snap).length < 100_000, 'small enough to send at once');
    assert.ok(took < 3000, `snapshot took ${took.toFixed(0)} ms`);
  });

  test('a SIGTERM handler that throws: the same exit code and the same error output', async () => {
    const plain = await runPlain(node('throw-sync-handler.js'));
    const traced = await runTraced(node('throw-sync-handler.js'));
    assert.equal(plain.code, 1);
    assert.equal(traced.code, 1);
    const firstLines = (s: string) =>
      s
        .split('\n')
        .filter((l) => !/^\s+at /.test(l))
        .join('\n');
    assert.equal(firstLines(traced.stderr), firstLines(plain.stderr), 'the error message and source excerpt are unchanged');
    const f = finding(traced.trace, 'shutdown-error');
    assert.ok(f);
    assert.match(f.title, /boom in the SIGTERM handler/);
  });

  test(`a burst of ${BURST} mixed SIGTERM/SIGINT/SIGHUP: same outcome, and every delivery the app saw is in the trace`, async () => {
    // Plain.
    const plainCount = tmp('plain-count');
    const plainChild = spawn(process.execPath, ['signal-burst.js'], { cwd: FIXTURES, env: { ...process.env, BURST_COUNT_FILE: plainCount }, stdio: ['ignore', 'pipe', 'pipe'] });
    let plainOut = '';
    plainChild.stdout.on('data', (d) => (plainOut += d));
    await new Promise<void>((r) => plainChild.stdout.on('data', () => /listening/.test(plainOut) && r()));
    for (let i = 0; i < BURST; i++) plainChild.kill(MIXED[i % 3] as NodeJS.Signals);
    const plainCode = await new Promise<number | null>((r) => plainChild.on('exit', r));
    // Traced, through the launcher's own sendSignal.
    const tracedCount = tmp('traced-count');
    const run = await startRun({
      command: node('signal-burst.js'),
      cwd: FIXTURES,
      env: { BURST_COUNT_FILE: tracedCount },
      plan: { signal: 'SIGTERM', when: { mode: 'never' }, graceMs: 10_000, delivery: 'main' },
    });
    const until = Date.now() + 5000;
    while (!run.trace.events.some((e) => e.kind === 'listen') && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    for (let i = 0; i < BURST; i++) run.sendSignal(MIXED[i % 3]);
    const t = await run.done;
    assert.equal(plainCode, 0);
    assert.equal(t.processes[0].exit?.code, 0);
    assert.equal(plainOut, 'listening\nburst over\n');
    assert.deepEqual(
      t.output.map((o) => o.text),
      ['listening', 'burst over'],
    );
    assert.equal(eventsOf(t, 'signal-sent').length, BURST, 'every signal sent is recorded');
    const seen = Number(fs.readFileSync(tracedCount, 'utf8'));
    const arrivals = eventsOf(t, 'signal').length;
    assert.equal(arrivals, seen, `the app saw ${seen} deliveries (same-kind signals coalesce), the trace recorded ${arrivals}`);
    assert.ok(finding(t, 'repeated-signal'));
  });
});

describe('nothing lost: every way a run can end', { concurrency: 1 }, () => {
  test('the service exits on its own before the signal: complete trace, said plainly', async () => {
    const r = await runTraced(node('exits-early.js'), { after: 3000 });
    assert.equal(r.code, 0);
    assert.equal(r.trace.meta.complete, true);
    assert.equal(r.trace.analysis!.exitReason, 'exited-before-signal');
    assert.ok(finding(r.trace, 'exited-before-signal'));
    assert.ok(eventsOf(r.trace, 'listen').length === 1 && eventsOf(r.trace, 'server-closed').length === 1, 'its events are kept');
    assert.equal(eventsOf(r.trace, 'signal-sent').length, 0);
    assert.equal(r.stdout, 'started\ndone early\n');
  });

  test('the collector connection drops mid-run: later events still reach the trace (spool), trace valid', async () => {
    const run = await startRun({ command: node('graceful-http.js'), cwd: FIXTURES, plan: { signal: 'SIGTERM', when: { mode: 'never' }, graceMs: 5000, delivery: 'main' } });
    const until = Date.now() + 5000;
    while (!run.trace.events.some((e) => e.kind === 'listen') && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    (run as unknown as { dropCollectorConnections(): void }).dropCollectorConnections();
    await new Promise((r) => setTimeout(r, 100));
    run.sendSignal('SIGTERM');
    const t = await run.done;
    assert.equal(t.processes[0].exit?.code, 0);
    const kinds = t.events.filter((e) => e.pid === t.meta.mainPid).map((e) => e.kind);
    for (const k of ['listen', 'signal', 'listener-start', 'listener-end', 'server-close', 'server-closed', 'exit'] as const) assert.ok(kinds.includes(k), `${k} kept after the drop: ${kinds}`);
    assert.equal(t.analysis!.exitReason, 'graceful');
    assert.equal(kinds.filter((k) => k === 'signal').length, 1, 'no duplicates after merging the spool');
  });

  test('SIGKILLed at the deadline: what came before the kill is kept, and the deadline snapshot', async () => {
    const r = await runTraced(node('leaked-interval.js'), { graceMs: 800 });
    assert.equal(r.signal, 'SIGKILL');
    const kinds = r.trace.events.map((e) => e.kind);
    for (const k of ['listen', 'signal-sent', 'signal', 'listener-end', 'deadline', 'snapshot', 'kill-sent', 'process-exit']) assert.ok(kinds.includes(k as never), k);
    assert.equal(r.trace.meta.complete, true);
  });

  test('no process of a run is left behind, however it ended', async () => {
    const r = await runTraced(node('orphan-child.js'));
    assert.deepEqual(sessionMembers(r.trace.meta.mainPid!), []);
  });
});
