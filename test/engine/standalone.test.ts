/**
 * The preload without the launcher (SHUTDOWN_TRACE_DIR), as in a container: services run with
 * only the environment set, stopped by this test as a platform would (SIGTERM, SIGKILL at a
 * deadline), or crashing; their spools collected (`shutdown-trace collect`) must tell what the
 * launcher's trace of the same fixture tells, on the facts both can know; a full, read-only or
 * missing directory must not change the service's exit or output. Then the exports: OTLP
 * received over HTTP by a receiver that decodes with the official OTLP .proto files, and
 * OpenMetrics checked by promtool.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import protobuf from 'protobufjs';
import { runTraced, node, CLI, FIXTURES, ROOT, outputDrained } from './helpers';
import type { Trace } from '../../src/shared/trace';
import { SPOOL_SUFFIX, TRACE_SUFFIX, type SpoolHeader } from '../../src/core/spool-format';

const PRELOAD = path.join(ROOT, 'dist', 'preload.js');
const tmpDir = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `st-${name}-`));

/** The environment a pod's container would have: the preload, the one variable, the downward API. */
function podEnv(dir: string | undefined, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('SHUTDOWN_TRACE_') || k.startsWith('OTEL_') || /^(POD|NODE|CONTAINER)_/.test(k)) delete env[k];
  delete env.NODE_OPTIONS;
  if (dir === undefined) return env;
  return { ...env, NODE_OPTIONS: `--require ${PRELOAD}`, SHUTDOWN_TRACE_DIR: dir, ...extra };
}

interface Plain {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  pid: number;
}

/** Runs a fixture as a platform would: SIGTERM 100 ms after "listening" (or never), SIGKILL graceMs later. */
function runAsPlatform(file: string, env: NodeJS.ProcessEnv, o: { graceMs?: number; signal?: boolean } = {}): Promise<Plain> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { cwd: FIXTURES, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timers: NodeJS.Timeout[] = [];
    let signalled = false;
    child.stdout.on('data', (d) => {
      stdout += d;
      if (o.signal !== false && !signalled && /listening/.test(stdout)) {
        signalled = true;
        timers.push(
          setTimeout(() => {
            try {
              process.kill(child.pid!, 'SIGTERM');
            } catch {}
            timers.push(
              setTimeout(() => {
                try {
                  process.kill(-child.pid!, 'SIGKILL');
                } catch {}
              }, o.graceMs ?? 1500),
            );
          }, 100),
        );
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    timers.push(setTimeout(() => child.kill('SIGKILL'), 15_000));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      for (const t of timers) clearTimeout(t);
      const done = () => resolve({ code, signal, stdout, stderr, pid: child.pid! });
      if (child.stdout.readableEnded) done();
      else child.stdout.once('end', done);
    });
  });
}

function cli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: FIXTURES, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('exit', async (code) => {
      await outputDrained(child);
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The collected trace of one process (by its pid), from `collect DIR`. */
async function collect(dir: string, pid: number, extra: string[] = []): Promise<Trace> {
  const r = await cli(['collect', dir, '--json', ...extra]);
  assert.equal(r.code, 0, `collect failed: ${r.stderr}${r.stdout}`);
  const rows = JSON.parse(r.stdout).shutdowns as { file: string; pid: number }[];
  const row = rows.find((x) => x.pid === pid);
  assert.ok(row, `no collected shutdown for pid ${pid}: ${r.stdout}`);
  return JSON.parse(fs.readFileSync(row.file, 'utf8')) as Trace;
}

const norm = (s: string) => s.replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT');
/** What a launcher's trace and a collected spool can both know. */
function facts(t: Trace) {
  const a = t.analysis!;
  return {
    exitReason: a.exitReason,
    exit: a.serviceExit,
    phases: a.phases
      .filter((p) => !p.id.startsWith('shutdown-'))
      .map((p) => `${norm(p.name)}${p.error ? ` ✖ ${p.error}` : ''}${p.end === undefined ? ' (unfinished)' : ''}`)
      .sort(),
    leaks: (a.leaks ?? []).map((l) => `${l.title} at ${l.site ? `${path.basename(l.site.file)}:${l.site.line}:${l.site.col}` : '?'}`).sort(),
    findings: a.findings
      .map((f) => f.code)
      .filter((c) => c !== 'slowest-phase')
      .sort(),
  };
}

describe('the preload without the launcher', () => {
  const dir = tmpDir('standalone');

  test('stopped gracefully: the process writes its own trace at exit; collected, it matches the launcher run', async () => {
    const fixture = path.join(FIXTURES, 'graceful-http.js');
    const plain = await runAsPlatform(fixture, podEnv(undefined));
    const r = await runAsPlatform(fixture, podEnv(dir, { POD_NAME: 'api-7d9f-x2k', POD_NAMESPACE: 'shop', NODE_NAME: 'node-3', OTEL_SERVICE_NAME: 'api', SECRET_TOKEN: 'never-recorded' }));
    assert.deepEqual([r.code, r.signal, r.stdout, r.stderr], [plain.code, plain.signal, plain.stdout, plain.stderr]);
    const base = fs.readdirSync(dir).find((f) => f.includes(`-${r.pid}-`))!;
    assert.ok(base.endsWith(TRACE_SUFFIX), `a clean exit leaves the process's trace, not its spool: ${base}`);
    const own = JSON.parse(fs.readFileSync(path.join(dir, base), 'utf8'));
    const header = own.meta.standalone.headers[0] as SpoolHeader;
    assert.deepEqual(header.env, { POD_NAME: 'api-7d9f-x2k', POD_NAMESPACE: 'shop', NODE_NAME: 'node-3', OTEL_SERVICE_NAME: 'api' }, 'only the named variables are recorded');
    assert.equal(own.processes[0].exit.code, 0);
    // `show` reads the preload's own trace as it is.
    const shown = await cli(['show', path.join(dir, base)]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /Graceful: exited with code 0/);

    const collected = await collect(dir, r.pid);
    const launcher = await runTraced(node('graceful-http.js'), { graceMs: 1500 });
    assert.deepEqual(facts(collected), facts(launcher.trace));
    assert.equal(facts(collected).exitReason, 'graceful');
    assert.match(collected.analysis!.verdict, /came from outside Shutdown Trace/);
    assert.ok(
      collected.events.some((e) => e.kind === 'note' && /not known are who sent the signal/.test(e.text)),
      'the trace says what it cannot know',
    );
  });

  test("killed by SIGKILL at the deadline: the spool survives; with --grace it is the launcher's killed-at-deadline, same leak", async () => {
    const fixture = path.join(FIXTURES, 'leaked-interval.js');
    const r = await runAsPlatform(fixture, podEnv(dir), { graceMs: 1500 });
    assert.equal(r.signal, 'SIGKILL');
    const spool = fs.readdirSync(dir).find((f) => f.includes(`-${r.pid}-`))!;
    assert.ok(spool.endsWith(SPOOL_SUFFIX), `a SIGKILLed process leaves its spool: ${spool}`);
    const lines = fs
      .readFileSync(path.join(dir, spool), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines[0].type, 'spool');
    assert.deepEqual(lines[0].counters, { dropped: 0, ioErrors: 0 });
    assert.ok(!lines.some((l) => l.type === 'end'), 'no end record: it was killed');
    const kinds = lines.flatMap((l) => l.events ?? []).map((e: { kind: string }) => e.kind);
    for (const k of ['listen', 'signal', 'listener-start', 'listener-end', 'server-close', 'snapshot']) assert.ok(kinds.includes(k), `${k} in the spool: ${kinds}`);

    const withGrace = await collect(dir, r.pid, ['--grace', '1.5s']);
    const launcher = await runTraced(node('leaked-interval.js'), { graceMs: 1500 });
    assert.deepEqual(facts(withGrace), facts(launcher.trace));
    assert.deepEqual(facts(withGrace).leaks, ['setInterval 1000 ms at leaked-interval.js:5:19']);
    assert.equal(withGrace.analysis!.exitReason, 'killed-at-deadline');
    // Without the grace period the deadline is not known: a death by SIGKILL, said as such.
    const without = await collect(dir, r.pid);
    assert.equal(without.analysis!.exitReason, 'killed-by-signal');
    assert.deepEqual(facts(without).leaks, facts(launcher.trace).leaks);
    assert.ok(without.events.some((e) => e.kind === 'note' && /never wrote its exit record/.test(e.text)));
  });

  test('crashed during shutdown and at start-up: exit code 1, the error, as the launcher sees it', async () => {
    for (const name of ['throw-in-shutdown.js', 'crash-at-start.js']) {
      const fixture = path.join(FIXTURES, name);
      const plain = await runAsPlatform(fixture, podEnv(undefined));
      const r = await runAsPlatform(fixture, podEnv(dir));
      assert.deepEqual([r.code, r.signal, r.stdout, r.stderr], [plain.code, plain.signal, plain.stdout, plain.stderr], name);
      assert.equal(r.code, 1);
      const collected = await collect(dir, r.pid);
      const launcher = await runTraced(node(name), { graceMs: 1500 });
      assert.deepEqual(facts(collected), facts(launcher.trace), name);
      assert.equal(collected.analysis!.exitReason, 'crashed', name);
      assert.ok(
        collected.events.some((e) => e.kind === 'error'),
        `${name}: the error is recorded`,
      );
    }
  });

  test('a launcher run is unchanged: with the collector present the variable is ignored', async () => {
    const other = tmpDir('ignored');
    const prev = process.env.SHUTDOWN_TRACE_DIR;
    process.env.SHUTDOWN_TRACE_DIR = other;
    try {
      const launcher = await runTraced(node('graceful-http.js'), { graceMs: 1500 });
      assert.equal(launcher.trace.analysis!.exitReason, 'graceful');
      assert.deepEqual(fs.readdirSync(other), []);
    } finally {
      if (prev === undefined) delete process.env.SHUTDOWN_TRACE_DIR;
      else process.env.SHUTDOWN_TRACE_DIR = prev;
    }
  });

  test('bounded: a process that makes more events than the spool holds keeps running as it would; the overflow is counted', async () => {
    const flood = tmpDir('flood');
    // 6,000 servers opened and closed before any signal: about 9 MB of events, over the 4 MiB kept before a shutdown.
    const src = path.join(flood, 'churn.js');
    fs.writeFileSync(
      src,
      "const net = require('net');\nlet n = 0;\nfunction next() {\n  if (n++ >= 6000) return console.log('done');\n  const s = net.createServer();\n  s.listen(0, '127.0.0.1', () => s.close(next));\n}\nnext();\n",
    );
    const spools = path.join(flood, 'spools');
    const plain = await runAsPlatform(src, podEnv(undefined), { signal: false });
    const r = await runAsPlatform(src, podEnv(spools), { signal: false });
    assert.deepEqual([r.code, r.signal, r.stdout, r.stderr], [plain.code, plain.signal, plain.stdout, plain.stderr]);
    const file = fs.readdirSync(spools).find((f) => f.endsWith(SPOOL_SUFFIX))!;
    assert.ok(file, 'too big for a trace at exit: the spool stays');
    const size = fs.statSync(path.join(spools, file)).size;
    assert.ok(size <= 4 * 1024 * 1024 + 4096, `bounded: ${size} bytes`);
    const lines = fs.readFileSync(path.join(spools, file), 'utf8').trim().split('\n');
    const header = JSON.parse(lines[0]);
    assert.ok(header.counters.dropped > 1000, `overflow counted in the header: ${JSON.stringify(header.counters)}`);
    const end = JSON.parse(lines[lines.length - 1]);
    assert.equal(end.type, 'end');
    assert.equal(end.dropped, header.counters.dropped);
    const collected = await collect(spools, r.pid);
    assert.ok(collected.meta.counters.droppedEvents >= header.counters.dropped);
    assert.ok(collected.analysis!.findings.some((f) => f.code === 'dropped-events'));
  });
});

describe('a full, read-only or missing directory never changes the service', { skip: process.getuid?.() !== 0 ? 'needs root to mount a tmpfs' : false }, () => {
  const full = tmpDir('full');
  const ro = tmpDir('ro');
  let mountedFull = false;
  let mountedRo = false;
  before(() => {
    let r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', full], { encoding: 'utf8' });
    assert.equal(r.status, 0, `mount: ${r.stderr}`);
    mountedFull = true;
    r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,ro', 'tmpfs', ro], { encoding: 'utf8' });
    assert.equal(r.status, 0, `mount: ${r.stderr}`);
    mountedRo = true;
  });
  after(() => {
    if (mountedFull) spawnSync('umount', [full]);
    if (mountedRo) spawnSync('umount', [ro]);
  });

  /** Fills the disk but the last `leave` bytes (tmpfs counts whole pages). */
  function fill(leave: number): void {
    const filler = path.join(full, 'filler');
    fs.rmSync(filler, { force: true });
    for (const n of [4096, 1024, 256]) {
      try {
        for (;;) fs.appendFileSync(filler, Buffer.alloc(n));
      } catch {}
    }
    if (leave) fs.truncateSync(filler, Math.max(0, fs.statSync(filler).size - leave));
  }

  const fixtures = ['graceful-http.js', 'leaked-interval.js', 'throw-in-shutdown.js'];
  const cases: [string, () => string][] = [
    ['a full disk', () => (fill(0), full)],
    ['a disk that fills after the header', () => (fill(4096), full)],
    ['a read-only file system', () => ro],
    ['a directory that cannot be made (a file is in the way)', () => path.join(os.devNull, 'spools')],
    ['a missing directory (made)', () => path.join(tmpDir('missing'), 'a', 'b')],
  ];
  for (const [what, where] of cases) {
    test(`${what}: same exit, same output as a plain run`, async () => {
      for (const name of fixtures) {
        const fixture = path.join(FIXTURES, name);
        const plain = await runAsPlatform(fixture, podEnv(undefined));
        const d = where();
        const r = await runAsPlatform(fixture, podEnv(d));
        assert.deepEqual([r.code, r.signal, r.stdout, r.stderr], [plain.code, plain.signal, plain.stdout, plain.stderr], `${what}, ${name}`);
        if (what.startsWith('a disk that fills')) {
          // The header got in; the events that did not are counted in it.
          const file = fs.readdirSync(d).find((f) => f.includes(`-${r.pid}-`));
          assert.ok(file, `${name}: a spool with its header`);
          const header = JSON.parse(fs.readFileSync(path.join(d, file!), 'utf8').split('\n')[0]);
          assert.ok(header.counters.dropped > 0 && header.counters.ioErrors > 0, `${name}: ${JSON.stringify(header.counters)}`);
        }
        if (what.startsWith('a missing'))
          assert.ok(
            fs.readdirSync(d).some((f) => f.includes(`-${r.pid}-`)),
            `${name}: the directory was made and used`,
          );
        if (d === full) for (const f of fs.readdirSync(full)) if (f !== 'filler') fs.rmSync(path.join(full, f));
      }
    });
  }
});

describe('exports: OTLP to a receiver, OpenMetrics to promtool', () => {
  const dir = tmpDir('exports');
  let graceful: Plain;
  let killed: Plain;
  const env = { POD_NAME: 'api-7d9f-x2k', POD_NAMESPACE: 'shop', NODE_NAME: 'node-3', OTEL_SERVICE_NAME: 'api', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod,team=payments%20core' };
  before(async () => {
    graceful = await runAsPlatform(path.join(FIXTURES, 'graceful-http.js'), podEnv(dir, env));
    killed = await runAsPlatform(path.join(FIXTURES, 'leaked-interval.js'), podEnv(dir, env), { graceMs: 1500 });
  });

  // The official OTLP definitions (opentelemetry-proto, vendored) decode what the exporter sent.
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(FIXTURES, 'otlp-proto', target);
  root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto', { keepCase: false });
  const Request = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
  const Response = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');

  interface Received {
    path: string;
    contentType: string;
    headers: http.IncomingHttpHeaders;
    body: Buffer;
  }
  async function receiver(): Promise<{ url: string; got: Received[]; close(): Promise<void> }> {
    const got: Received[] = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        got.push({ path: req.url ?? '', contentType: String(req.headers['content-type']), headers: req.headers, body: Buffer.concat(chunks) });
        if (String(req.headers['content-type']).includes('json')) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{}');
        } else {
          res.writeHead(200, { 'content-type': 'application/x-protobuf' });
          res.end(Buffer.from(Response.encode(Response.create({})).finish()));
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    return { url: `http://127.0.0.1:${port}`, got, close: () => new Promise((r) => server.close(() => r())) };
  }

  type Attr = { key: string; value: Record<string, unknown> };
  const attrs = (list: Attr[] | undefined) => Object.fromEntries((list ?? []).map((a) => [a.key, Object.values(a.value)[0]]));
  interface Span {
    traceId: string;
    spanId: string;
    parentSpanId?: string;
    name: string;
    startTimeUnixNano: string;
    endTimeUnixNano: string;
    attributes: Record<string, unknown>;
    events: { name: string; timeUnixNano: string; attributes: Record<string, unknown> }[];
    status?: { code?: number | string };
  }
  /** Spans with their resource's attributes, from a decoded request as a plain object (ids hex, times as strings). */
  function spansOf(req: { resourceSpans?: { resource?: { attributes?: Attr[] }; scopeSpans?: { spans?: Record<string, unknown>[] }[] }[] }): { resource: Record<string, unknown>; span: Span }[] {
    const out: { resource: Record<string, unknown>; span: Span }[] = [];
    for (const rs of req.resourceSpans ?? []) {
      const resource = attrs(rs.resource?.attributes);
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          out.push({
            resource,
            span: {
              ...(s as unknown as Span),
              attributes: attrs(s.attributes as Attr[]),
              events: ((s.events as { name: string; timeUnixNano: string; attributes: Attr[] }[]) ?? []).map((e) => ({ ...e, attributes: attrs(e.attributes) })),
            },
          });
        }
      }
    }
    return out;
  }
  const hex = (v: unknown) => (typeof v === 'string' ? v : Buffer.from(v as Uint8Array).toString('hex'));
  const ns = (v: unknown) => BigInt(String(v));

  function checkShutdowns(spans: { resource: Record<string, unknown>; span: Span }[]): void {
    const traces = new Map<string, typeof spans>();
    for (const s of spans) {
      const id = hex(s.span.traceId);
      traces.set(id, [...(traces.get(id) ?? []), s]);
    }
    const byPid = new Map<number, typeof spans>();
    for (const list of traces.values()) {
      const roots = list.filter((s) => !s.span.parentSpanId || hex(s.span.parentSpanId) === '');
      assert.equal(roots.length, 1, 'one root span per shutdown');
      const rootSpan = roots[0].span;
      assert.equal(rootSpan.name, 'shutdown');
      const ids = new Set(list.map((s) => hex(s.span.spanId)));
      for (const s of list) {
        if (s === roots[0]) continue;
        assert.ok(ids.has(hex(s.span.parentSpanId)), `${s.span.name}: its parent is a span of the same trace`);
        assert.ok(ns(s.span.endTimeUnixNano) >= ns(s.span.startTimeUnixNano), `${s.span.name}: ends after it starts`);
        assert.ok(
          ns(s.span.startTimeUnixNano) >= ns(rootSpan.startTimeUnixNano) - 1_000_000n && ns(s.span.endTimeUnixNano) <= ns(rootSpan.endTimeUnixNano) + 1_000_000n,
          `${s.span.name} lies within the shutdown`,
        );
      }
      byPid.set(Number(rootSpan.attributes['process.pid']), list);
    }
    // The graceful one
    const g = byPid.get(graceful.pid)!;
    assert.ok(g, `a trace for pid ${graceful.pid}`);
    const gRoot = g.find((s) => s.span.name === 'shutdown')!;
    assert.equal(Number(gRoot.span.attributes['process.exit.code']), 0);
    assert.equal(gRoot.span.attributes['process.runtime.name'], 'nodejs');
    assert.equal(gRoot.span.attributes['process.runtime.version'], process.version.slice(1));
    assert.equal(gRoot.span.attributes['shutdown.exit_reason'], 'graceful');
    assert.equal(gRoot.resource['service.name'], 'api');
    assert.equal(gRoot.resource['k8s.pod.name'], 'api-7d9f-x2k');
    assert.equal(gRoot.resource['k8s.namespace.name'], 'shop');
    assert.equal(gRoot.resource['k8s.node.name'], 'node-3');
    assert.equal(gRoot.resource['team'], 'payments core');
    assert.equal(gRoot.resource['deployment.environment.name'], 'prod');
    const sig = gRoot.span.events.find((e) => e.name === 'signal')!;
    assert.equal(sig.attributes['shutdown.signal'], 'SIGTERM');
    assert.equal(ns(sig.timeUnixNano), ns(gRoot.span.startTimeUnixNano), 'the root starts at the signal');
    const durMs = Number(ns(gRoot.span.endTimeUnixNano) - ns(gRoot.span.startTimeUnixNano)) / 1e6;
    assert.ok(durMs >= 0 && durMs < 1000, `signal → exit ${durMs} ms`);
    const listener = g.find((s) => /^SIGTERM listener \(graceful-http\.js:6:9\)$/.test(s.span.name));
    assert.ok(listener, `a listener span: ${g.map((s) => s.span.name)}`);
    assert.equal(hex(listener!.span.parentSpanId), hex(gRoot.span.spanId));
    assert.ok(g.some((s) => /^close server 127\.0\.0\.1:\d+$/.test(s.span.name)));
    // The killed one: SIGKILL and the leak with its source location
    const k = byPid.get(killed.pid)!;
    const kRoot = k.find((s) => s.span.name === 'shutdown')!;
    assert.equal(kRoot.span.attributes['shutdown.exit_reason'], 'killed-at-deadline');
    assert.equal(kRoot.span.attributes['process.exit.code'], undefined, 'no exit code: a signal ended it');
    assert.equal(Number(kRoot.span.status?.code), 2, 'status ERROR');
    assert.ok(kRoot.span.events.some((e) => e.name === 'SIGKILL'));
    assert.ok(kRoot.span.events.some((e) => e.name === 'grace deadline'));
    const leak = kRoot.span.events.find((e) => e.name === 'leaked handle')!;
    assert.ok(leak, 'the leak as an event');
    assert.match(String(leak.attributes['code.file.path']), /leaked-interval\.js$/);
    assert.equal(Number(leak.attributes['code.line.number']), 5);
    assert.equal(Number(leak.attributes['code.column.number']), 19);
    assert.equal(leak.attributes['shutdown.leak.title'], 'setInterval 1000 ms');
    const killedMs = Number(ns(kRoot.span.endTimeUnixNano) - ns(kRoot.span.startTimeUnixNano)) / 1e6;
    assert.ok(killedMs >= 1400 && killedMs < 2600, `killed at the deadline: ${killedMs} ms`);
  }

  test('collect --otlp URL: protobuf over HTTP, one trace per shutdown, spans, parents, times and attributes', async () => {
    const rx = await receiver();
    try {
      const r = await cli(['collect', dir, '--grace', '1.5s', '--otlp', rx.url], podEnv(undefined));
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.equal(rx.got.length, 1);
      assert.equal(rx.got[0].path, '/v1/traces');
      assert.equal(rx.got[0].contentType, 'application/x-protobuf');
      const req = Request.toObject(Request.decode(rx.got[0].body), { longs: String, bytes: String, defaults: false });
      const spans = spansOf(req as never).map((s) => ({
        ...s,
        span: {
          ...s.span,
          traceId: Buffer.from(String(s.span.traceId), 'base64').toString('hex'),
          spanId: Buffer.from(String(s.span.spanId), 'base64').toString('hex'),
          parentSpanId: s.span.parentSpanId ? Buffer.from(String(s.span.parentSpanId), 'base64').toString('hex') : undefined,
        },
      }));
      checkShutdowns(spans);
    } finally {
      await rx.close();
    }
  });

  test('the OTEL_EXPORTER_OTLP_* variables: endpoint, headers and http/json', async () => {
    const rx = await receiver();
    try {
      const r = await cli(['collect', dir, '--grace', '1.5s', '--otlp'], {
        ...podEnv(undefined),
        OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
        OTEL_EXPORTER_OTLP_HEADERS: 'x-scope-orgid=team-a',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      });
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.equal(rx.got.length, 1);
      assert.equal(rx.got[0].path, '/v1/traces');
      assert.equal(rx.got[0].headers['x-scope-orgid'], 'team-a');
      assert.match(rx.got[0].contentType, /application\/json/);
      // OTLP/JSON: ids are hex, enums numbers; otherwise the proto3 JSON mapping of the same messages.
      const body = JSON.parse(rx.got[0].body.toString('utf8'));
      const msg = Request.fromObject(body);
      assert.ok(Request.verify(Request.toObject(msg)) === null);
      checkShutdowns(spansOf(body));
    } finally {
      await rx.close();
    }
  });

  test('export --format otlp writes the OTLP/JSON body of one trace; a wrong protocol is one clear line', async () => {
    const files = fs.readdirSync(dir).filter((f) => f.endsWith(`.collected${TRACE_SUFFIX}`));
    assert.ok(files.length >= 2, `collected traces: ${files}`);
    const file = path.join(
      dir,
      files.find((f) => f.includes(`-${killed.pid}-`))!,
    );
    const r = await cli(['export', file, '--format', 'otlp']);
    assert.equal(r.code, 0, r.stderr);
    const body = JSON.parse(r.stdout);
    const spans = spansOf(body);
    assert.equal(new Set(spans.map((s) => s.span.traceId)).size, 1);
    assert.equal(spans.filter((s) => !s.span.parentSpanId).length, 1);
    const bad = await cli(['export', file, '--format', 'otlp', '--otlp', 'http://127.0.0.1:9'], { ...process.env, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /grpc is not supported/);
  });

  test(
    'export --format openmetrics passes promtool check metrics, with the shutdown figures',
    { skip: spawnSync('promtool', ['--version']).error && !process.env.CI ? 'promtool not installed (apt-get install prometheus)' : false },
    async () => {
      const files = fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(`.collected${TRACE_SUFFIX}`))
        .map((f) => path.join(dir, f));
      for (const file of files) {
        const r = await cli(['export', file, '--format', 'openmetrics']);
        assert.equal(r.code, 0, r.stderr);
        const check = spawnSync('promtool', ['check', 'metrics'], { input: r.stdout, encoding: 'utf8' });
        assert.equal(check.error, undefined, 'promtool runs');
        assert.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}\n${r.stdout}`);
        assert.match(r.stdout, /# EOF\n$/);
        const pid = file.includes(`-${killed.pid}-`) ? killed.pid : graceful.pid;
        const labels = `service="api",host="${os.hostname()}",namespace="shop",pod="api-7d9f-x2k",pid="${pid}"`;
        if (pid === killed.pid) {
          assert.match(r.stdout, new RegExp(`^shutdown_trace_exit_reason\\{${labels},reason="killed-at-deadline"\\} 1$`, 'm'));
          assert.match(r.stdout, new RegExp(`^shutdown_trace_leaked_handles\\{${labels},kind="interval"\\} 1$`, 'm'));
          assert.match(r.stdout, new RegExp(`^shutdown_trace_duration_seconds\\{${labels}\\} 1\\.[4-9]`, 'm'));
        } else {
          assert.match(r.stdout, new RegExp(`^shutdown_trace_exit_reason\\{${labels},reason="graceful"\\} 1$`, 'm'));
          assert.match(r.stdout, new RegExp(`^shutdown_trace_exit_code\\{${labels}\\} 0$`, 'm'));
          assert.match(r.stdout, new RegExp(`^shutdown_trace_requests_lost\\{${labels},view="server"\\} 0$`, 'm'));
          assert.match(r.stdout, /^shutdown_trace_phase_duration_seconds\{.*phase="SIGTERM listener \(graceful-http\.js:6:9\)",phase_pid="\d+"\} [\d.]+$/m);
        }
      }
    },
  );
});
