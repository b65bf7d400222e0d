/**
 * One planted-secret run, every output checked: a real service lets secrets into its log, a
 * request path, a child's argv (a handle label), a phase name and its own environment (the
 * run's collector token). The report of `run`, `show`, `check` (its report, budget lines and
 * JUnit XML), every export format and the viewer must hold none of them; the trace file must
 * not hold the run's token.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLI, FIXTURES, outputDrained } from './helpers';
import type { Trace } from '../../src/shared/trace';

const PLANTED = ['wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'tok_9f8e7d6c5b4a39281706f5e4d3c2b1a0', 'PLANTED-apikey-7q3x', 'user:Pw@', 'sig=abc'];

function cli(args: string[], timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: FIXTURES, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', async (code) => {
      await outputDrained(child);
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const get = (url: string) =>
  new Promise<string>((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });

/** The token the service printed (its echoed stdout: the service's own output, passed through byte for byte). */
const tokenOf = (stdout: string) => /SHUTDOWN_TRACE_TOKEN=([0-9a-f]{48})/.exec(stdout)?.[1];

function assertClean(what: string, text: string, secrets: string[]): void {
  for (const s of secrets) assert.ok(!text.includes(s), `${what} holds ${JSON.stringify(s)}:\n${text.slice(Math.max(0, text.indexOf(s) - 300), text.indexOf(s) + 200)}`);
}

test('planted secrets reach no output: run (and --json), show, check, JUnit, json/chrome/md exports, the viewer; the run token is in no file', { timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-secrets-'));
  const out = path.join(dir, 'run.shutdown-trace.json');

  const run = await cli(['run', '--grace', '1500', '--out', out, '--', process.execPath, 'secrets.js']);
  assert.equal(run.code, 0, run.stderr);
  const token = tokenOf(run.stdout);
  assert.ok(token, `the service printed its token: ${run.stdout}`);
  const secrets = [...PLANTED, token];

  // The trace keeps what the service did (so the outputs below had the secrets to leak)...
  const raw = fs.readFileSync(out, 'utf8');
  const trace = JSON.parse(raw) as Trace;
  assert.ok(
    trace.output.some((o) => o.text.includes(PLANTED[0])),
    'the log line is recorded',
  );
  assert.ok(
    trace.events.some((e) => e.kind === 'request-start' && e.path.includes(PLANTED[1])),
    'the request path is recorded',
  );
  assert.ok(raw.includes(PLANTED[2]), 'the child argv is in a handle label');
  assert.ok(
    trace.events.some((e) => e.kind === 'phase-start' && e.name.includes(PLANTED[3])),
    'the phase is recorded',
  );
  // ...but never the run's own token, which the tool put into the service's environment.
  assertClean('the trace file', raw, [token!]);
  assert.ok(trace.output.some((o) => o.text === 'env SHUTDOWN_TRACE_TOKEN=«redacted»'));

  assertClean('the run report', run.stderr, secrets);
  assert.match(run.stderr, /flush to https:\/\/user:«redacted»@logs\.example\/ingest\?sig=«redacted»/, 'the phase is shown, redacted');

  const show = await cli(['show', out]);
  assert.equal(show.code, 0, show.stderr);
  assertClean('show', show.stdout + show.stderr, secrets);

  for (const format of ['json', 'chrome', 'md']) {
    const e = await cli(['export', out, '--format', format]);
    assert.equal(e.code, 0, e.stderr);
    assertClean(`export --format ${format}`, e.stdout, secrets);
    const file = path.join(dir, `export.${format}`);
    const f = await cli(['export', out, '--format', format, '--out', file]);
    assert.equal(f.code, 0, f.stderr);
    assertClean(`export --format ${format} --out`, fs.readFileSync(file, 'utf8'), secrets);
  }

  const view = spawn(process.execPath, [CLI, 'view', out, '--for', '30s'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let vout = '';
    view.stdout.on('data', (d) => (vout += d));
    const until = Date.now() + 10_000;
    while (!/http:\/\/127\.0\.0\.1:\d+\/[\w-]+\//.test(vout) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const url = /http:\/\/127\.0\.0\.1:\d+\/[\w-]+\//.exec(vout)![0];
    assertClean('the viewer page', await get(url), secrets);
    const served = await get(url + 'trace.json');
    assert.ok(served.includes('«redacted»') && served.includes('"events"'));
    assertClean('the viewer trace', served, secrets);
  } finally {
    view.kill('SIGINT');
    await new Promise((r) => view.once('exit', r));
  }

  const json = await cli(['run', '--json', '--grace', '1500', '--out', path.join(dir, 'json.shutdown-trace.json'), '--', process.execPath, 'secrets.js']);
  assert.equal(json.code, 0, json.stderr);
  const jsonToken = tokenOf(json.stdout);
  assert.ok(jsonToken);
  const printed = json.stdout.slice(json.stdout.lastIndexOf('\n{') + 1);
  assert.ok(JSON.parse(printed).analysis.verdict, 'run --json printed the analysis');
  assertClean('run --json', printed + json.stderr, [...PLANTED, jsonToken!]);

  const junit = path.join(dir, 'report.junit.xml');
  const checkOut = path.join(dir, 'check.shutdown-trace.json');
  const check = await cli(['check', '--grace', '1500', '--out', checkOut, '--junit', junit, '--', process.execPath, 'secrets.js']);
  assert.equal(check.code, 1, `budgets broken (killed at the deadline): ${check.stderr}`);
  const checkToken = tokenOf(check.stdout);
  assert.ok(checkToken);
  const checkSecrets = [...PLANTED, checkToken!];
  assertClean('the check report', check.stderr, checkSecrets);
  assert.match(check.stderr, /Budgets/);
  const xml = fs.readFileSync(junit, 'utf8');
  assert.match(xml, /<failure /);
  assertClean('the JUnit report', xml, checkSecrets);
  assertClean('the check trace file', fs.readFileSync(checkOut, 'utf8'), [checkToken!]);
});
