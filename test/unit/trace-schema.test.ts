/**
 * The published JSON Schema of the trace file (schema/shutdown-trace.schema.json) against the
 * reader's own validator (validateTrace): the committed file is what the checkers generate, a
 * real draft 2020-12 validator (ajv) accepts every trace the repository holds and every trace a
 * real run writes, and the two agree on deliberately broken traces, both hand-picked and made
 * by breaking every field of every fixture in turn.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import type { ValidateFunction } from 'ajv';
import { parseTrace, validateTrace, TraceFormatError } from '../../src/shared/trace-file';
import { TRACE_VERSION } from '../../src/shared/trace';
import { TRACE_SCHEMA_PATH, traceJsonSchema, traceJsonSchemaText } from '../../src/core/trace-schema';
import { TRACE_EVENT_KINDS } from '../../src/shared/validate-trace';
import { jsonSchemaOf, obj, str, type Checker } from '../../src/shared/schema';
import { TOOL_VERSION } from '../../src/core/version';

const ROOT = path.resolve(__dirname, '..', '..');
const SCHEMA_FILE = path.join(ROOT, TRACE_SCHEMA_PATH);
const CLI = path.join(ROOT, 'dist', 'cli.js');

const schemaText = fs.readFileSync(SCHEMA_FILE, 'utf8');
// strict: an unknown keyword or a type mix-up in the schema fails here, not in a user's validator.
const ajv = new Ajv2020({ strict: true, allErrors: false });
const schemaValidate: ValidateFunction = ajv.compile(JSON.parse(schemaText));

const bySchema = (data: unknown): boolean => schemaValidate(data) as boolean;
function byReader(data: unknown): boolean {
  try {
    validateTrace(data);
    return true;
  } catch (e) {
    if (e instanceof TraceFormatError) return false;
    throw e;
  }
}
function readerError(data: unknown): string | undefined {
  try {
    validateTrace(data);
    return undefined;
  } catch (e) {
    if (e instanceof TraceFormatError) return e.message;
    throw e;
  }
}
/** The reader's rules JSON Schema cannot state (listed in the schema's description and the README). */
const BEYOND_SCHEMA = /is not an index into events|is not -1 or an index into frames|is nested more than \d+ levels deep/;
function reasons(data: unknown): string {
  bySchema(data);
  let reader = 'accepted';
  try {
    validateTrace(data);
  } catch (e) {
    reader = (e as Error).message;
  }
  return `schema: ${schemaValidate.errors ? ajv.errorsText(schemaValidate.errors) : 'accepted'}; reader: ${reader}`;
}

/** Every *.shutdown-trace.json under test/, outside node_modules. */
function fixtureFiles(dir = path.join(ROOT, 'test')): string[] {
  const out: string[] = [];
  for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
    if (d.name === 'node_modules') continue;
    const p = path.join(dir, d.name);
    if (d.isDirectory()) out.push(...fixtureFiles(p));
    else if (d.name.endsWith('.shutdown-trace.json')) out.push(p);
  }
  return out.sort();
}
const FIXTURES = fixtureFiles();
// Kept broken on purpose, cut off mid-JSON (the extension's test opens it to show the error).
const BROKEN = new Set(['test/electron/workspace/broken.shutdown-trace.json']);
const rel = (p: string) => path.relative(ROOT, p).split(path.sep).join('/');
const readJson = (p: string): any => JSON.parse(fs.readFileSync(p, 'utf8').replace(/^\uFEFF/, ''));

describe('the schema file', () => {
  test('is what the validators generate (npm run schema after changing a trace type or checker)', () => {
    assert.ok(schemaText === traceJsonSchemaText(), `${TRACE_SCHEMA_PATH} is stale: run npm run schema and commit it`);
  });

  test('is a draft 2020-12 schema for this format version, with a definition for every event kind', () => {
    const s = traceJsonSchema() as any;
    assert.equal(s.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(s.properties.version.const, TRACE_VERSION);
    assert.equal(s.properties.format.const, 'shutdown-trace');
    const branches: any[] = s.$defs.event.allOf;
    assert.deepEqual(branches.map((b) => b.if.properties.kind.const).sort(), [...TRACE_EVENT_KINDS].sort());
    for (const k of TRACE_EVENT_KINDS) assert.ok(s.$defs[`event-${k}`], `no $defs entry for ${k}`);
    // The analysis fields every consumer reads, and the process role.
    for (const k of ['leaks', 'servicePid', 'serviceExit', 'naturalExitAfterMs', 'platform', 'requests', 'k8s']) assert.ok(s.$defs.analysis.properties[k], `analysis.${k}`);
    assert.deepEqual(s.$defs.process.properties.role, { enum: ['service', 'runner', null] });
    assert.deepEqual(s.$defs['event-prestop-start'].properties.hookPid, { anyOf: [{ type: 'integer' }, { type: 'null' }] });
  });

  test('is shipped in the .vsix', () => {
    const ignore = fs
      .readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    assert.ok(ignore.includes(`!${TRACE_SCHEMA_PATH}`), `.vscodeignore does not keep ${TRACE_SCHEMA_PATH}`);
  });

  test('a hand-written checker without a schema cannot be published silently', () => {
    const bare: Checker<string> = (v) => v as string;
    assert.throws(() => jsonSchemaOf(obj<{ a: string; b: string }>({ a: str, b: bare })), /has no JSON Schema/);
  });
});

describe('the tool version has one source, package.json', () => {
  const pkg = readJson(path.join(ROOT, 'package.json'));
  test('TOOL_VERSION is its version, and the CLI prints it', () => {
    assert.equal(TOOL_VERSION, pkg.version);
    const r = spawnSync(process.execPath, [CLI, '--version'], { encoding: 'utf8' });
    assert.equal(r.stdout, `${pkg.version}\n`);
  });
  test('no source file writes the version out itself', () => {
    const literal = new RegExp(`['"\`]${pkg.version.replace(/\./g, '\\.')}['"\`]`);
    const offenders: string[] = [];
    const scan = (dir: string) => {
      for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, d.name);
        if (d.isDirectory()) scan(p);
        else if (/\.(ts|js|mjs)$/.test(d.name) && literal.test(fs.readFileSync(p, 'utf8'))) offenders.push(rel(p));
      }
    };
    for (const dir of ['src', 'webview/src', 'scripts']) scan(path.join(ROOT, dir));
    assert.deepEqual(offenders, []);
  });
  test('the preload bundle carries it without the rest of package.json', () => {
    const preload = fs.readFileSync(path.join(ROOT, 'dist', 'preload.js'), 'utf8');
    assert.ok(preload.includes(JSON.stringify(pkg.version)));
    assert.ok(!preload.includes('walkthroughs'), 'the whole package.json was bundled');
  });
});

describe("the README's example of validating a trace with ajv", () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const example = /Validating a trace with the schema alone[^\n]*\n\n```js\n([\s\S]*?)```/.exec(readme)?.[1];
  const runExample = (trace: unknown) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-schema-example-'));
    fs.copyFileSync(SCHEMA_FILE, path.join(dir, 'shutdown-trace.schema.json'));
    fs.writeFileSync(path.join(dir, 'run.shutdown-trace.json'), JSON.stringify(trace));
    fs.writeFileSync(path.join(dir, 'example.js'), example!);
    return spawnSync(process.execPath, ['example.js'], { cwd: dir, encoding: 'utf8', env: { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules') } });
  };
  test('is five lines, accepts a trace silently and throws on a broken one', () => {
    assert.ok(example, 'no js block after "Validating a trace with the schema alone"');
    assert.equal(example.trim().split('\n').length, 5);
    const t = readJson(path.join(ROOT, 'test/unit/traces/k8s-prestop-sleep.shutdown-trace.json'));
    const ok = runExample(t);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stderr, '', 'ajv warned while compiling the schema');
    t.analysis.exitReason = 'vanished';
    const bad = runExample(t);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /data\/analysis\/exitReason must be equal to one of the allowed values/);
  });
});

describe('every trace fixture in the repository', () => {
  test('is found', () => assert.ok(FIXTURES.length >= 10, `only ${FIXTURES.length}`));
  for (const file of FIXTURES) {
    test(rel(file), () => {
      const text = fs.readFileSync(file, 'utf8');
      if (BROKEN.has(rel(file))) {
        assert.throws(() => parseTrace(text), TraceFormatError);
        let data: unknown;
        try {
          data = JSON.parse(text);
        } catch {
          return; // not JSON: nothing for a schema to accept
        }
        assert.equal(bySchema(data), false, reasons(data));
        return;
      }
      const data = readJson(file);
      assert.ok(bySchema(data), reasons(data));
      assert.ok(byReader(data), reasons(data));
    });
  }
});

/** Runs the real CLI on a fixture service and returns the trace it wrote. */
function runCli(args: string[], command: string[]): Promise<any> {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'st-schema-')), 'run.shutdown-trace.json');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'run', ...args, '--out', out, '--', ...command], { cwd: path.join(ROOT, 'test', 'fixtures'), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (!fs.existsSync(out)) return reject(new Error(`no trace written (exit ${code}): ${stderr}`));
      resolve(readJson(out));
    });
  });
}

const RUNS: [string, string[], string[]][] = [
  ['a leaked interval, killed at the deadline', ['--grace', '1s'], ['node', 'leaked-interval.js']],
  ['a graceful HTTP server', ['--grace', '1s'], ['node', 'graceful-http.js']],
  ['a cluster with workers', ['--grace', '2s'], ['node', 'cluster.js']],
  ['Kubernetes with preStop and traffic', ['--k8s', '--termination-grace', '3', '--prestop-sleep', '1s', '--load', '--rate', '20'], ['node', 'k8s-app.js']],
  ['requests dropped under load', ['--grace', '2s', '--load', '--rate', '50', '--listen-delay', '600'], ['node', 'load-drop.js']],
  ['process.exit() over a leak', ['--grace', '1s'], ['node', 'exit-over-leak.js']],
  ['a listener that throws', ['--grace', '1s'], ['node', 'throw-in-shutdown.js']],
  ['an orphaned child', ['--grace', '1s'], ['node', 'orphan-child.js']],
];
const runTraces = new Map<string, any>();

describe('every trace a real run writes', () => {
  before(async () => {
    if (!fs.existsSync(CLI)) throw new Error('dist/ is not built: run node scripts/build.mjs');
    // Two at a time: the machine has two cores and the runs' timings matter to their verdicts.
    const queue = [...RUNS];
    const worker = async () => {
      for (let r = queue.shift(); r; r = queue.shift()) runTraces.set(r[0], await runCli(r[1], r[2]));
    };
    await Promise.all([worker(), worker()]);
  });
  for (const [what] of RUNS) {
    test(what, () => {
      const t = runTraces.get(what);
      assert.ok(t, 'the run wrote no trace');
      assert.ok(bySchema(t), reasons(t));
      assert.ok(byReader(t), reasons(t));
      assert.equal(t.meta.toolVersion, TOOL_VERSION);
    });
  }
  test('together they hold the launcher, Kubernetes and load kinds', () => {
    const kinds = new Set([...runTraces.values()].flatMap((t) => t.events.map((e: any) => e.kind)));
    for (const k of ['spawned', 'signal-sent', 'process-exit', 'snapshot', 'listen', 'termination-start', 'prestop-start', 'prestop-end', 'load-request', 'load-summary']) {
      assert.ok(kinds.has(k), `no ${k} event in the runs' traces`);
    }
  });
});

describe('the schema and the reader agree', () => {
  const leaky = () => readJson(path.join(ROOT, 'test/unit/traces/leaked-interval.shutdown-trace.json'));
  const k8s = () => readJson(path.join(ROOT, 'test/unit/traces/k8s-prestop-overrun.shutdown-trace.json'));
  const ev = (t: any, kind: string) => t.events.find((e: any) => e.kind === kind);

  // [what, the trace to break, how]: both must refuse it.
  const broken: [string, () => any, (t: any) => void][] = [
    ['not the format', leaky, (t) => (t.format = 'chrome')],
    ['a newer version', leaky, (t) => (t.version = TRACE_VERSION + 1)],
    ['a fractional version', leaky, (t) => (t.version = 1.5)],
    ['meta missing', leaky, (t) => delete t.meta],
    ['events not a list', leaky, (t) => (t.events = {})],
    ['an event that is null', leaky, (t) => (t.events[3] = null)],
    ['an event without a kind', leaky, (t) => delete t.events[0].kind],
    ['an unknown kind without t', leaky, (t) => t.events.push({ kind: 'from-the-future', pid: 0 })],
    ['an event without a pid', leaky, (t) => delete t.events[0].pid],
    ['a negative pid', leaky, (t) => (t.events[0].pid = -4)],
    ['a signal nth as a string', leaky, (t) => (ev(t, 'signal').nth = '1')],
    ['snapshot handles not a list', leaky, (t) => (ev(t, 'snapshot').handles = 5)],
    ['a handle type not known', leaky, (t) => (ev(t, 'handle-open').handle.type = 'wormhole')],
    ['a frame line not a whole number', leaky, (t) => (ev(t, 'handle-open').handle.site.frames[0].line = 5.5)],
    ['a site user below -1', leaky, (t) => (ev(t, 'handle-open').handle.site.user = -2)],
    ['a detail that is an object', leaky, (t) => (ev(t, 'handle-open').handle.details = { delayMs: { n: 1 } })],
    ['a handle owner via not known', leaky, (t) => (ev(t, 'handle-open').handle.owner = { id: 'o1', name: 'ioredis Redis', via: 'guessed' })],
    ['a listen address missing', leaky, (t) => delete ev(t, 'listen').address],
    ['a process-exit code as a string', leaky, (t) => (ev(t, 'process-exit').code = 'x')],
    ['a signal-sent delivery not known', leaky, (t) => (ev(t, 'signal-sent').delivery = 'everyone')],
    ['a preStop hookPid as a string', k8s, (t) => (ev(t, 'prestop-start').hookPid = '12')],
    ['a preStop action not known', k8s, (t) => (ev(t, 'prestop-start').action = 'pray')],
    ['a load-summary status count as text', () => readJson(path.join(ROOT, 'test/unit/traces/load-drop.shutdown-trace.json')), (t) => (ev(t, 'load-summary').statuses['200'] = 'many')],
    ['a platform event with a what not known', leaky, (t) => t.events.push({ kind: 'platform', t: 1, pid: 0, what: 'meteor', text: 'x' })],
    ['a finding severity not known', leaky, (t) => (t.analysis.findings[0].severity = 'fatal')],
    ['an exit reason not known', leaky, (t) => (t.analysis.exitReason = 'vanished')],
    ['leaks not a list', leaky, (t) => (t.analysis.leaks = { count: 1 })],
    ['a leak without its handles', leaky, (t) => (t.analysis.leaks = [{ pid: 1, title: 'x', inUserCode: true, count: 1 }])],
    ['a servicePid as a string', leaky, (t) => (t.analysis.servicePid = '31337')],
    ['a serviceExit signal as a number', leaky, (t) => (t.analysis.serviceExit = { code: null, signal: 9 })],
    ['naturalExitAfterMs as text', leaky, (t) => (t.analysis.naturalExitAfterMs = '12ms')],
    ['a platform analysis zombie count negative', leaky, (t) => (t.analysis.platform = { zombies: -1 })],
    ['a k8s fate not known', k8s, (t) => (t.analysis.k8s.fate = 'evicted')],
    ['a process role not known', leaky, (t) => (t.processes[0].role = 'bystander')],
    ['a process pid as a string', leaky, (t) => (t.processes[0].pid = 'x')],
    ['an output stream not known', leaky, (t) => (t.output[0].stream = 'stdin')],
    ['an output line without text', leaky, (t) => delete t.output[0].text],
    ['counters missing', leaky, (t) => delete t.meta.counters],
    ['a plan with an unknown mode', leaky, (t) => (t.meta.plan.when = { mode: 'sometimes' })],
    ['a plan without its delay', leaky, (t) => (t.meta.plan.when = { mode: 'after' })],
    ['a load config rate as a string', leaky, (t) => (t.meta.load = { target: 'auto', rate: 'fast', keepAlive: false })],
    ['a pid1 mode not known', leaky, (t) => (t.meta.platformMode = { pid1: { mode: 'vm', command: 'x' } })],
  ];
  for (const [what, base, breakIt] of broken) {
    test(`both refuse: ${what}`, () => {
      const whole = base();
      assert.ok(bySchema(whole) && byReader(whole), `the base trace is not valid: ${reasons(whole)}`);
      // A fresh copy: the reader remembers the objects it has already checked.
      const t = base();
      breakIt(t);
      assert.equal(bySchema(t), false, `the schema accepts it: ${reasons(t)}`);
      assert.equal(byReader(t), false, `the reader accepts it: ${reasons(t)}`);
    });
  }

  // What a newer writer of the same version may add: both must accept it.
  const tolerated: [string, (t: any) => void][] = [
    [
      'unknown fields at every level',
      (t) => {
        t.future = 1;
        t.meta.future = { a: [1, { b: 2 }] };
        t.events[0].future = 'x';
        t.processes[0].future = true;
        t.analysis.future = null;
        t.output[0].future = [];
      },
    ],
    ['an unknown event kind with its own fields', (t) => t.events.push({ kind: 'some-future-kind', t: 1e9, pid: 0, payload: { deep: [[1]] } })],
    ['an unknown finding code', (t) => t.analysis.findings.push({ code: 'some-future-code', severity: 'info', title: 'later', detail: 'd', evidence: [] })],
    [
      'null for an optional field (JSON has no undefined)',
      (t) => {
        t.meta.mainPid = null;
        t.analysis.signalToExitMs = null;
        t.processes[0].role = null;
      },
    ],
    ['no analysis', (t) => delete t.analysis],
    ['a handle owner with every field', (t) => (ev(t, 'handle-open').handle.owner = { id: 'o1', name: 'ioredis Redis', package: 'ioredis', via: 'reachable', path: 'stream', release: ['quit'] })],
  ];
  for (const [what, change] of tolerated) {
    test(`both accept: ${what}`, () => {
      const t = leaky();
      change(t);
      assert.ok(bySchema(t), reasons(t));
      assert.ok(byReader(t), reasons(t));
    });
  }

  // Stated in the schema's description and the README, checked only by the reader.
  const beyondSchema: [string, (t: any) => void][] = [
    ['evidence that points past the events', (t) => (t.analysis.findings[0].evidence = [t.events.length])],
    ['a site user past its frames', (t) => (ev(t, 'handle-open').handle.site.user = 99)],
    ['unknown fields nested 40 deep', (t) => (t.meta.deep = JSON.parse('['.repeat(40) + ']'.repeat(40)))],
  ];
  for (const [what, breakIt] of beyondSchema) {
    test(`only the reader refuses (beyond JSON Schema, documented): ${what}`, () => {
      const t = leaky();
      breakIt(t);
      assert.equal(bySchema(t), true, reasons(t));
      assert.equal(byReader(t), false, reasons(t));
    });
  }

  test('on every field of every fixture, deleted or replaced by a value of each other type', () => {
    // Each field's place in the shape once (array positions folded, events told apart by kind),
    // taken from the first trace that has it; every value a field could wrongly hold.
    const wrong: [string, (parent: any, key: string | number) => void][] = [
      ['deleted', (p, k) => (Array.isArray(p) ? p.splice(k as number, 1) : delete p[k])],
      ['null', (p, k) => (p[k] = null)],
      ['a string', (p, k) => (p[k] = 'x')],
      ['a fraction', (p, k) => (p[k] = 1.5)],
      ['-1', (p, k) => (p[k] = -1)],
      ['true', (p, k) => (p[k] = true)],
      ['a list', (p, k) => (p[k] = [])],
      ['an object', (p, k) => (p[k] = {})],
    ];
    const seen = new Set<string>();
    let compared = 0;
    const sources = [...FIXTURES.filter((f) => !BROKEN.has(rel(f))).map((f) => ({ name: rel(f), text: fs.readFileSync(f, 'utf8') }))];
    for (const { name, text } of sources) {
      const walk = (v: any, route: (string | number)[], shape: string) => {
        if (typeof v !== 'object' || v === null) return;
        for (const key of Object.keys(v)) {
          const child = v[key];
          const k: string | number = Array.isArray(v) ? Number(key) : key;
          const place = Array.isArray(v) ? `${shape}[${route.length === 1 && route[0] === 'events' ? `kind=${child?.kind}` : ''}]` : `${shape}.${key}`;
          if (!seen.has(place)) {
            seen.add(place);
            for (const [how, apply] of wrong) {
              const t = JSON.parse(text);
              let parent = t;
              for (const step of route) parent = parent[step];
              apply(parent, k);
              const s = bySchema(t);
              const err = readerError(t);
              compared++;
              // Removing events can leave evidence pointing past them: a rule only the reader checks.
              if (s && err !== undefined && BEYOND_SCHEMA.test(err)) continue;
              assert.equal(s, err === undefined, `${name}: ${place} ${how}: ${reasons(t)}`);
            }
          }
          walk(child, [...route, k], place);
        }
      };
      walk(JSON.parse(text), [], '');
    }
    assert.ok(seen.size > 300, `only ${seen.size} places`);
    assert.ok(compared > 2400, `only ${compared} comparisons`);
  });
});
