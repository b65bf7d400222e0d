/**
 * Regenerates the fixture traces of the unit and webview tests from real runs of today's CLI, so
 * they never drift from what the launcher writes.
 *
 *   node scripts/build.mjs && node --import tsx scripts/regen-fixtures.ts [name…]
 *
 * (no name: every fixture not marked pending; a name like webview/leaked-interval runs that
 * one, pending or not. A run takes up to a few seconds, all of them about a minute.)
 *
 * Each fixture is `node dist/cli.js run --quiet --out TMP <options> -- <command>`, with the
 * options and the service (under test/fixtures/) listed in FIXTURES below. What is changed after
 * the real run, and nothing else (normalize(), also used by test/unit/fixtures.test.ts, which
 * checks every stored file is a fixed point of it):
 *   - paths: the run's working directory becomes the fixture's fake project (/home/dev/shop-api
 *     for runs from the repository), any other path under the repository /home/dev/shop-api, the
 *     temp directory /tmp, the home directory /home/dev, node's binary /usr/local/bin/node;
 *   - pids: renumbered from 4100 in the order the trace first names them (meta.mainPid, the
 *     processes, their parents, then the events), in numeric fields and in text;
 *   - TCP ports on 127.0.0.1 / localhost / ::1 / 0.0.0.0: renumbered in the order of first
 *     appearance (the first 8080, the next 52001, 52002…), in text and in *Port fields;
 *   - meta.createdAt (FIXTURE_CREATED_AT, which marks a regenerated fixture), meta.node and each
 *     process's node (FIXTURE_NODE), meta.platform (linux-x64);
 *   - stack frames in node:internal/ files dropped (site.user re-pointed at the same frame), and
 *     the `at … (node:internal/…)` lines of error stacks;
 *   - the analysis recomputed from the events so changed, with the project's own analysis
 *     (src/core/analysis). The run's own analysis is compared with it first, after the same
 *     renaming: a difference is printed (it would be a bug or a normalization that changed facts).
 * Times, events, output and their order are the run's own.
 *
 * The run's stdin is /dev/null (as under a supervisor), so nothing depends on the caller's stdin.
 *
 * Regenerated: every entry of FIXTURES not marked pending, unit and webview. The tests that read
 * them take their numbers from the file (times, pids, counts, the analysis' roles) and their sites
 * from the fixture service's source, so a regeneration changes no assertion. A case no run of
 * today's CLI records is made in the test from a loaded copy, with a comment why (an older trace
 * without analysis.leaks: the regenerated webview/leaked-interval with the field deleted; a failed
 * preStop hook; an older preload's query-string path).
 *
 * Pending: none now. An entry marked `pending` is regenerated only by name, its stored file
 * (an older run trimmed by hand) only schema-checked, until its tests read a real run's facts.
 *
 * Hand-made, not produced here (a real run cannot produce them): test/webview/traces/hostile
 * (hostile text in every field for the security test: markup in file names, verdicts and
 * labels that no analysis writes); it is checked against the schema like every trace.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { analyze } from '../src/core/analysis';
import { parseTrace } from '../src/shared/trace-file';
import type { Trace } from '../src/shared/trace';
import { EXAMPLE_SOURCE } from '../src/extension/example';

export const ROOT = path.resolve(__dirname, '..');
export const FIXTURE_CREATED_AT = '2026-01-01T00:00:00.000Z';
export const FIXTURE_NODE = 'v20.20.2';
const FAKE_REPO = '/home/dev/shop-api';

export interface FixtureSpec {
  /** test/<dir>/traces/<name>.shutdown-trace.json */
  dir: 'unit' | 'webview';
  name: string;
  /** `shutdown-trace run` options, before `--`. */
  options: string[];
  /** The service's command line, after `--`. */
  command: string[];
  /** Working directory, relative to the repository (default: the repository). */
  cwd?: string;
  /** The fake project path the working directory becomes (default /home/dev/shop-api). */
  project?: string;
  env?: Record<string, string>;
  /**
   * The stored file is still the older hand-made one: the script regenerates it on request (by
   * name), but its tests are not yet rewritten for a real run's facts. Checked against the schema only.
   */
  pending?: boolean;
  /** Writes files the run needs into a fresh temp dir, which becomes the working directory. */
  setup?: (dir: string) => void;
}

export const FIXTURES: FixtureSpec[] = [
  // ---- test/unit/traces
  { dir: 'unit', name: 'leaked-interval', options: ['--signal-after', '400', '--grace', '5s'], command: ['node', 'test/fixtures/leaked-interval.js'] },
  {
    dir: 'unit',
    name: 'graceful-two-processes',
    options: ['--delivery', 'group', '--listen-delay', '200', '--listen-timeout', '5s', '--grace', '10s'],
    command: ['node', 'server.js'],
    cwd: 'test/fixtures/graceful-two-processes',
    project: '/srv/reports',
  },
  { dir: 'unit', name: 'load-drop', options: ['--load', '--rate', '50', '--listen-delay', '600'], command: ['node', 'test/fixtures/load-drop.js'] },
  { dir: 'unit', name: 'load-drain-busy', options: ['--load', '--rate', '50', '--listen-delay', '600'], command: ['node', 'test/fixtures/load-drain-busy.js'] },
  { dir: 'unit', name: 'load-sse', options: ['--sse', '2', '--sse-path', '/events', '--load', '--rate', '5', '--grace', '1s'], command: ['node', 'test/fixtures/load-sse.js'] },
  {
    dir: 'unit',
    name: 'k8s-prestop-sleep',
    options: ['--k8s', '--prestop-sleep', '1s', '--termination-grace', '3', '--load', '--rate', '20'],
    command: ['node', 'test/fixtures/k8s-app.js'],
  },
  {
    dir: 'unit',
    name: 'k8s-prestop-overrun',
    options: ['--k8s', '--prestop-exec', 'echo draining; sleep 5', '--termination-grace', '2', '--load', '--rate', '5'],
    command: ['node', 'test/fixtures/k8s-app.js'],
    env: { HANG: '1' },
  },
  {
    dir: 'unit',
    name: 'k8s-endpoint-lag',
    options: ['--k8s', '--termination-grace', '5', '--load', '--rate', '50', '--endpoint-lag', '1s', '--listen-delay', '100'],
    command: ['node', 'close-on-sigterm.js'],
    cwd: 'test/fixtures/platform',
  },
  // ---- test/webview/traces
  {
    dir: 'webview',
    name: 'leaked-interval',
    options: ['--signal-after', '1200', '--grace', '5s'],
    command: ['node', 'src/server.js'],
    cwd: 'test/fixtures/orders-api',
    project: '/home/dev/orders-api',
  },
  {
    dir: 'webview',
    name: 'example-leak',
    options: ['--grace', '3s'],
    command: ['node', 'server.js'],
    project: '/home/dev/example',
    // The walkthrough's example as the extension writes it (src/extension/example.ts).
    setup: (dir) => fs.writeFileSync(path.join(dir, 'server.js'), EXAMPLE_SOURCE),
  },
  {
    dir: 'webview',
    name: 'graceful-nested',
    options: ['--delivery', 'group', '--listen-delay', '300'],
    command: ['node', 'index.js'],
    cwd: 'test/fixtures/graceful-nested',
    project: '/srv/billing',
  },
  { dir: 'webview', name: 'no-handler', options: ['--load', '--rate', '20', '--listen-delay', '500'], command: ['node', 'test/fixtures/no-handler-checkout.js'] },
  {
    dir: 'webview',
    name: 'double-sigint',
    options: ['--signal', 'SIGINT', '--signal-after', '1000', '--second-signal', 'SIGINT', '--second-after', '300', '--delivery', 'group', '--grace', '10s'],
    command: ['node', 'test/fixtures/double-sigint-pool.js'],
  },
  { dir: 'webview', name: 'load-drop', options: ['--load', '--rate', '50'], command: ['node', 'test/fixtures/load-drop.js'] },
  {
    dir: 'webview',
    name: 'chokidar-owner',
    // A library's handles made in later ticks, under the owner the user made (chokidar's watcher).
    options: ['--grace', '2s'],
    command: ['node', 'app-chokidar.js'],
    cwd: 'test/real-app',
    project: '/home/dev/config-watcher',
  },
  {
    dir: 'webview',
    name: 'k8s-prestop-load',
    options: ['--k8s', '--prestop-sleep', '1s', '--termination-grace', '3', '--load', '--rate', '20'],
    command: ['node', 'test/fixtures/leaked-interval.js'],
  },
];

/** Hand-made fixtures: not from a run (see the comment at the top). */
export const HAND_MADE = ['webview/hostile'];

export function fixtureFile(dir: string, name: string): string {
  return path.join(ROOT, 'test', dir, 'traces', `${name}.shutdown-trace.json`);
}

// ------------------------------------------------------------------ normalization

export interface Renames {
  /** [real, fake] path prefixes, longest first. */
  paths: [string, string][];
}

/** The paths of this machine and run, to their fixed stand-ins. */
export function machinePaths(runCwd: string, project: string): [string, string][] {
  const pairs: [string, string][] = [
    [runCwd, project],
    [ROOT, FAKE_REPO],
    [process.execPath, '/usr/local/bin/node'],
    [fs.realpathSync(os.tmpdir()), '/tmp'],
    [os.tmpdir(), '/tmp'],
    [os.homedir(), '/home/dev'],
  ];
  return pairs.filter(([real, fake]) => real.length > 1 && real !== fake).sort((a, b) => b[0].length - a[0].length);
}

const PORT_HOST = /(127\.0\.0\.1|localhost|\[::1\]|::1|0\.0\.0\.0|\[::\]):(\d{2,5})\b/g;
const PID_FIELDS = new Set(['pid', 'ppid', 'target', 'childPid', 'hookPid', 'mainPid', 'servicePid']);

function walk(v: unknown, f: (key: string, value: unknown) => unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => walk(x, f));
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) o[k] = f(k, walk(o[k], f));
    return o;
  }
  return v;
}

/** Pids in the order the trace first names them: main, processes, their parents, events. */
function pidOrder(t: Trace): number[] {
  const seen: number[] = [];
  const add = (p: unknown): void => {
    if (typeof p === 'number' && p > 0 && !seen.includes(p)) seen.push(p);
  };
  add(t.meta.mainPid);
  for (const p of t.processes) add(p.pid);
  for (const p of t.processes) add(p.ppid);
  walk(JSON.parse(JSON.stringify(t.events)), (k, v) => {
    if (PID_FIELDS.has(k)) add(v);
    return v;
  });
  return seen;
}

/** Ports in the order of first appearance in the file's text. */
function portOrder(text: string): number[] {
  const seen: number[] = [];
  for (const m of text.matchAll(PORT_HOST)) {
    const p = Number(m[2]);
    if (!seen.includes(p)) seen.push(p);
  }
  return seen;
}

function dropInternalFrames(site: { frames: { file?: string }[]; user: number }): void {
  const keep = site.frames.map((f) => !(f.file ?? '').startsWith('node:internal/'));
  const user = site.user >= 0 && keep[site.user] ? keep.slice(0, site.user).filter(Boolean).length : -1;
  site.frames = site.frames.filter((_, i) => keep[i]);
  site.user = user;
}

/**
 * What the script changes after a real run (see the top of this file), given the run's paths.
 * Applied to its own output it changes nothing (paths: [] then), which the unit test checks.
 */
export function normalize(input: Trace, renames: Renames = { paths: [] }): Trace {
  const t = rename(input, renames);
  delete t.analysis;
  t.analysis = analyze(t);
  return t;
}

/** normalize() without the recomputed analysis: the run's own analysis is renamed like the rest. */
function rename(input: Trace, renames: Renames): Trace {
  const t = JSON.parse(JSON.stringify(input)) as Trace;
  const pidMap = new Map(pidOrder(t).map((p, i) => [p, 4100 + i]));
  const ports = portOrder(JSON.stringify(t));
  const portMap = new Map(ports.map((p, i) => [p, i === 0 ? 8080 : 52000 + i]));
  const text = (s: string): string => {
    for (const [real, fake] of renames.paths) s = s.split(real).join(fake);
    s = s.replace(PORT_HOST, (m, host: string, port: string) => `${host}:${portMap.get(Number(port)) ?? port}`);
    for (const [real, fake] of pidMap) if (real !== fake) s = s.replace(new RegExp(`(?<![\\w.])${real}(?![\\w]|\\.\\d)`, 'g'), String(fake));
    if (/^\s*at /m.test(s)) s = s.replace(/\n\s+at [^\n]*node:internal\/[^\n]*/g, '');
    return s;
  };
  walk(t, (k, v) => {
    if (typeof v === 'string') return text(v);
    if (typeof v === 'number' && PID_FIELDS.has(k)) return pidMap.get(v) ?? v;
    if (typeof v === 'number' && /Port$/.test(k)) return portMap.get(v) ?? v;
    if (k === 'site' && v && typeof v === 'object' && Array.isArray((v as { frames?: unknown }).frames)) dropInternalFrames(v as never);
    return v;
  });
  t.meta.createdAt = FIXTURE_CREATED_AT;
  t.meta.node = FIXTURE_NODE;
  t.meta.platform = 'linux-x64';
  for (const p of t.processes) if (p.node !== undefined) p.node = FIXTURE_NODE;
  return t;
}

/** The file's text: meta and analysis indented, one process, event or output line per line. */
export function serialize(t: Trace): string {
  const indent = (v: unknown): string => JSON.stringify(v, null, 2).replace(/\n/g, '\n  ');
  const list = (xs: unknown[]): string => (xs.length ? `[\n${xs.map((x) => `    ${JSON.stringify(x)}`).join(',\n')}\n  ]` : '[]');
  const { format, version, meta, processes, events, output, analysis } = t;
  return (
    `{\n  "format": ${JSON.stringify(format)},\n  "version": ${version},\n  "meta": ${indent(meta)},\n` +
    `  "processes": ${list(processes)},\n  "events": ${list(events)},\n  "output": ${list(output)},\n  "analysis": ${indent(analysis)}\n}\n`
  );
}

// ------------------------------------------------------------------ running

function run(spec: FixtureSpec): { trace: Trace; renames: Renames } {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `st-fixture-${spec.name}-`));
  const out = path.join(tmp, 'run.shutdown-trace.json');
  let cwd = path.join(ROOT, spec.cwd ?? '.');
  if (spec.setup) {
    cwd = path.join(tmp, 'project');
    fs.mkdirSync(cwd);
    spec.setup(cwd);
  }
  const args = [path.join(ROOT, 'dist', 'cli.js'), 'run', '--quiet', '--out', out, ...spec.options, '--', ...spec.command];
  // stdin /dev/null, as for a service started by a supervisor: with a pipe there, today's preload
  // lists process.stdin among the live handles (see active-handles.ts), which the service never read.
  const r = spawnSync(process.execPath, args, { cwd, env: { ...process.env, ...spec.env }, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${spec.name}: shutdown-trace run exited ${r.status}: ${r.stderr}`);
  const trace = parseTrace(fs.readFileSync(out, 'utf8'), out);
  const renames = { paths: machinePaths(fs.realpathSync(cwd), spec.project ?? FAKE_REPO) };
  fs.rmSync(tmp, { recursive: true, force: true });
  return { trace, renames };
}

function main(): void {
  const only = process.argv.slice(2);
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run node scripts/build.mjs first');
  for (const spec of FIXTURES) {
    const id = `${spec.dir}/${spec.name}`;
    if (only.length ? !only.includes(spec.name) && !only.includes(id) : spec.pending) continue;
    const { trace, renames } = run(spec);
    const fixed = normalize(trace, renames);
    // The run's own analysis, renamed the same way, against the one recomputed from the normalized events.
    const own = JSON.stringify(rename(trace, renames).analysis);
    if (own !== JSON.stringify(fixed.analysis)) console.warn(`${id}: the run's own analysis differs from the recomputed one:\n  own:        ${own}\n  recomputed: ${JSON.stringify(fixed.analysis)}`);
    const file = fixtureFile(spec.dir, spec.name);
    fs.writeFileSync(file, serialize(fixed));
    console.log(`${id}: ${fixed.analysis!.verdict} (${fixed.events.length} events) → ${path.relative(ROOT, file)}`);
  }
}

if (require.main === module) main();
