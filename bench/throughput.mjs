// Figure 1: throughput of a hello-world HTTP service under autocannon (20 connections), plain vs
// our preload vs why-is-node-running, interleaved in one run. Keep-alive clients, then a new connection per request
// (`connection: close`; the server's own connection counter is read back to prove it).
// "ours" is the preload connected to a real Collector in this process (the launcher's own work,
// e.g. its process-tree polling, is not the service's cost and is kept out of the service's figure).
// After the rounds, the leak check runs the product path end to end: startRun() → load → SIGTERM →
// the trace must name the leaked interval with its file:line.
// The server is pinned to CPU 1 and this process (autocannon, collector) to CPU 0 with taskset, so
// that the scheduler's placement of the two (same core or not) does not flip results second to second.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ROOT } from './lib/build.mjs';
import { spawnNode, variantEnv, waitForLine, stop, cpuMs, sleep, PRELOAD, STANDALONE_DIR } from './lib/proc.mjs';
import { median, round } from './lib/stats.mjs';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');
const HELLO = path.join(ROOT, 'bench', 'fixtures', 'hello.js');
const LEAK_LINE = 18;

function getJson(port, p) {
  return new Promise((resolve, reject) => {
    // agent:false → its own connection, so the server's counter moves by exactly one for it.
    const req = http.get({ host: '127.0.0.1', port, path: p, agent: false, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch (e) {
          reject(e);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('stats request timed out')));
    req.on('error', reject);
  });
}

function cannon(port, seconds, perConnection) {
  return new Promise((resolve, reject) => {
    const inst = autocannon(
      {
        url: `http://127.0.0.1:${port}/`,
        connections: 20,
        duration: seconds,
        headers: perConnection ? { connection: 'close' } : {},
        timeout: 5,
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    // hard bound in case autocannon never finishes
    const guard = setTimeout(
      () => {
        try {
          inst.stop();
        } catch {}
      },
      (seconds + 5) * 1000,
    );
    inst.once('done', () => clearTimeout(guard));
  });
}

async function measure(pid, port, seconds, perConnection) {
  const before = await getJson(port, '/__stats');
  const c0 = cpuMs(pid);
  const res = await cannon(port, seconds, perConnection);
  const c1 = cpuMs(pid);
  const after = await getJson(port, '/__stats');
  const requests = res.requests.total;
  const conns = after.connections - before.connections - 1;
  return {
    rps: requests / res.duration,
    requests,
    connections: conns,
    connsPerRequest: requests ? conns / requests : NaN,
    serverCpuMsPer1kReq: requests ? ((c1 - c0) / requests) * 1000 : NaN,
    errors: res.errors + res.timeouts + res.non2xx,
  };
}

let pinned = false;
function pin(on) {
  try {
    execFileSync('taskset', ['-acp', on ? '0' : `0-${Math.max(1, os.cpus().length - 1)}`, String(process.pid)], { stdio: 'ignore' });
    pinned = on;
    return true;
  } catch {
    return false;
  }
}
const pinCmd = () => (pinned ? ['taskset', '-c', '1'] : []);

/** Start one instance of a variant of `fixture`; returns { pid, port, close() }. */
async function startVariant(variant, collector, fixture = HELLO, envOf = (e) => e) {
  const cmd = [...pinCmd(), process.execPath, fixture];
  const child = spawnNode(null, {
    env: envOf(variantEnv(variant, collector)),
    shell: cmd
      .map((a) => `'${a}'`)
      .join(' ')
      .replace(/^/, 'exec '),
  });
  const { match } = await waitForLine(child, /listening (\d+)/, 20000);
  return { pid: child.pid, port: Number(match[1]), close: () => stop(child) };
}

/** The product path end to end: a traced run under load, then SIGTERM; the trace must name the leak. */
async function leakCheck(helpers, seconds) {
  const run = await helpers.startRun({
    command: [process.execPath, HELLO],
    cwd: ROOT,
    env: { NODE_OPTIONS: '' },
    preloadPath: PRELOAD,
    plan: { signal: 'SIGTERM', when: { mode: 'never' }, graceMs: 1500, delivery: 'main' },
  });
  try {
    const port = await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('traced hello did not print its port within 10 s')), 10000);
      const scan = () => {
        for (const l of run.trace.output) {
          const m = /listening (\d+)/.exec(l.text);
          if (m) {
            clearTimeout(t);
            unsub();
            return resolve(Number(m[1]));
          }
        }
      };
      const unsub = run.onUpdate(scan);
      scan();
    });
    const ka = await cannon(port, seconds, false);
    const pc = await cannon(port, seconds, true);
    run.sendSignal('SIGTERM', 'main');
    const trace = await Promise.race([run.done, sleep(8000).then(() => null)]);
    if (!trace) return { ok: false, why: 'the traced run did not end within 8 s of SIGTERM' };
    const a = trace.analysis || {};
    const handles = (a.findings || []).flatMap((f) => f.handles || []);
    const leak = handles.find((h) => h.type === 'interval');
    const frame = leak && helpers.userFrame(leak.site);
    const where = frame ? helpers.formatFrame(frame, ROOT) : null;
    const ok = a.exitReason === 'killed-at-deadline' && !!where && where.startsWith(`bench/fixtures/hello.js:${LEAK_LINE}:`);
    return {
      ok,
      requestsBefore: ka.requests.total + pc.requests.total,
      exitReason: a.exitReason,
      leakedHandleCount: a.leakedHandleCount,
      leak: leak ? `${leak.label} at ${where}` : null,
      verdict: a.verdict,
      droppedEvents: trace.meta.counters.droppedEvents,
    };
  } finally {
    await run.stop('bench leak check over');
  }
}

/**
 * Each round starts the variants side by side (idle ones cost nothing), then drives them in
 * short slices, A/B/C/A/B/C…, so that the machine's noise (other jobs on 2 shared cores) falls on
 * every variant alike; a variant's figure for the round is its requests over its own measured time.
 * Besides req/s, the server's own CPU time per request (from /proc) is recorded: on a shared machine
 * it is the steadier measure of what the preload costs per request.
 */
export async function runThroughput(helpers, { rounds = 3, slices = 6, sliceSeconds = 1, pcSlices = 4, warmSeconds = 1, log = () => {} } = {}) {
  const res = await runCase(helpers, {
    fixture: HELLO,
    // plain2 is a second, identical plain server: the A/A control. plain2/plain shows how far two
    // identical servers drift apart in this run, i.e. the noise any ratio here carries.
    variants: ['plain', 'ours', 'plain2', 'why'],
    modes: [
      ['ka', false, slices],
      ['pc', true, pcSlices],
    ],
    rounds,
    sliceSeconds,
    warmSeconds,
    log,
  });
  const leak = await leakCheck(helpers, 1);
  log(`  leak check (startRun, ${leak.requestsBefore} requests, then SIGTERM): ${leak.ok ? 'ok' : 'FAILED'} — ${leak.leak ?? 'no leak reported'} (${leak.exitReason})`);
  return { rounds, slices, pcSlices, sliceSeconds, pinned: res.pinned, slicePairRatios: res.slicePairRatios, keepAlive: res.ka, perConnection: res.pc, leakCheck: leak, samples: res.samples };
}

/**
 * The preload without the launcher (SHUTDOWN_TRACE_DIR: events to a spool file) beside the
 * launcher's preload and plain, on the same hello fixture, keep-alive and per connection.
 */
export async function runThroughputStandalone(helpers, { rounds = 3, slices = 6, pcSlices = 4, sliceSeconds = 1, warmSeconds = 1, log = () => {} } = {}) {
  fs.rmSync(STANDALONE_DIR, { recursive: true, force: true });
  try {
    const res = await runCase(helpers, {
      fixture: HELLO,
      variants: ['plain', 'ours', 'standalone', 'plain2'],
      modes: [
        ['ka', false, slices],
        ['pc', true, pcSlices],
      ],
      rounds,
      sliceSeconds,
      warmSeconds,
      log,
    });
    return { rounds, slices, pcSlices, sliceSeconds, pinned: res.pinned, slicePairRatios: res.slicePairRatios, keepAlive: res.ka, perConnection: res.pc, samples: res.samples };
  } finally {
    fs.rmSync(STANDALONE_DIR, { recursive: true, force: true });
  }
}

/**
 * The same method on a service that does real I/O per request: `kind` 'redis' (ioredis SET + GET,
 * bench/fixtures/real/redis.js) or 'postgres' (pg Pool, one parameterised SELECT,
 * bench/fixtures/real/postgres.js), against the bench's throw-away servers (lib/servers.mjs).
 * Keep-alive clients; plain, ours and the A/A control plain2.
 */
export async function runThroughputReal(helpers, { kind, urls, realEnv, rounds = 3, slices = 8, sliceSeconds = 1, warmSeconds = 1, log = () => {} } = {}) {
  const fixture = path.join(ROOT, 'bench', 'fixtures', 'real', `${kind}.js`);
  const res = await runCase(helpers, {
    fixture,
    envOf: (env) => realEnv(env, urls),
    variants: ['plain', 'ours', 'plain2'],
    modes: [['ka', false, slices]],
    rounds,
    sliceSeconds,
    warmSeconds,
    log,
  });
  return { kind, fixture: path.relative(ROOT, fixture), rounds, slices, sliceSeconds, pinned: res.pinned, slicePairRatios: res.slicePairRatios, keepAlive: res.ka, samples: res.samples };
}

async function runCase(helpers, { fixture, envOf, variants, modes, rounds, sliceSeconds, warmSeconds, log }) {
  const others = variants.filter((v) => v !== 'plain');
  const samples = Object.fromEntries(modes.map(([m]) => [m, Object.fromEntries(variants.map((v) => [v, []]))]));
  const pairs = Object.fromEntries(modes.map(([m]) => [m, Object.fromEntries(others.map((v) => [v, []]))]));
  const hellos = new Set();
  const collector = new helpers.Collector({ onHello: (h) => hellos.add(h.pid), onEvents: () => {}, onReject: (k, why) => log(`  collector rejected ${k}: ${why}`) });
  await collector.start();
  const didPin = pin(true);
  log(`  ${didPin ? 'pinned: server on CPU 1, bench (autocannon, collector) on CPU 0' : 'taskset unavailable: not pinned'}`);
  try {
    for (let r = 0; r < rounds; r++) {
      const inst = {};
      try {
        for (const v of variants) inst[v] = await startVariant(v, collector, fixture, envOf);
        for (let i = 0; i < 200 && !hellos.has(inst.ours.pid); i++) await sleep(10);
        if (!hellos.has(inst.ours.pid)) throw new Error('the preload never connected to the collector');
        for (const v of variants) await cannon(inst[v].port, warmSeconds, false);
        for (const [mode, perConnection, n] of modes) {
          const acc = Object.fromEntries(variants.map((v) => [v, { ms: 0, requests: 0, connections: 0, cpuMs: 0, errors: 0 }]));
          for (let k = 0; k < n; k++) {
            // rotate who goes first in each slice
            const slice = {};
            for (let j = 0; j < variants.length; j++) {
              const v = variants[(j + k + r) % variants.length];
              const t = performance.now();
              const m = await measure(inst[v].pid, inst[v].port, sliceSeconds, perConnection);
              slice[v] = m.requests / ((performance.now() - t) / 1000);
              const a = acc[v];
              a.ms += performance.now() - t;
              a.requests += m.requests;
              a.connections += m.connections;
              a.cpuMs += (m.serverCpuMsPer1kReq * m.requests) / 1000;
              a.errors += m.errors;
            }
            for (const v of others) pairs[mode][v].push(slice[v] / slice.plain);
          }
          for (const v of variants) {
            const a = acc[v];
            samples[mode][v].push({
              rps: a.requests / (a.ms / 1000),
              requests: a.requests,
              connections: a.connections,
              connsPerRequest: a.requests ? a.connections / a.requests : NaN,
              serverCpuMsPer1kReq: a.requests ? (a.cpuMs / a.requests) * 1000 : NaN,
              errors: a.errors,
            });
          }
        }
        const last = (mode, v) => samples[mode][v][samples[mode][v].length - 1];
        const line = (mode) => variants.map((v) => `${v} ${last(mode, v).rps.toFixed(0)}`).join(', ');
        const label = { ka: 'keep-alive', pc: 'per-connection' };
        const pcNote = samples.pc ? ` (ours: ${last('pc', 'ours').connections} conns / ${last('pc', 'ours').requests} reqs)` : '';
        const cpuNote = variants.map((v) => `${v} ${last(modes[0][0], v).serverCpuMsPer1kReq.toFixed(1)}`).join(', ');
        log(`  round ${r + 1}/${rounds}: ${modes.map(([m]) => `${label[m]} ${line(m)} req/s`).join('; ')}${pcNote}; ${label[modes[0][0]]} CPU ms/1k req: ${cpuNote}`);
      } finally {
        for (const v of variants) if (inst[v]) await inst[v].close();
      }
    }
  } finally {
    pin(false);
    await collector.close();
  }
  const fig = (mode) => {
    const s = samples[mode];
    const has = (v) => !!s[v];
    const med = (v, k = 'rps') => (has(v) ? median(s[v].map((x) => x[k])) : NaN);
    const ratios = (v) => (has(v) ? s[v].map((x, k) => x.rps / s.plain[k].rps) : []);
    const cpuRatios = (v) => (has(v) ? s[v].map((x, k) => s.plain[k].serverCpuMsPer1kReq / x.serverCpuMsPer1kReq) : []);
    const out = {
      plainRps: round(med('plain'), 0),
      oursRps: round(med('ours'), 0),
      // headline: median over rounds of the per-round ratio (each round's variants were interleaved)
      oursRatio: round(median(ratios('ours'))),
      // A/A control: a second plain server measured the same way
      aaRatio: round(median(ratios('plain2'))),
      aaRatioPerRound: ratios('plain2').map((x) => round(x)),
      oursRatioOfMedians: round(med('ours') / med('plain')),
      oursRatioPerRound: ratios('ours').map((x) => round(x)),
      // robust cross-check: the median over every adjacent slice pair (same second, same order rotation)
      oursRatioSlicePairsMedian: round(median(pairs[mode].ours)),
      aaRatioSlicePairsMedian: round(median(pairs[mode].plain2)),
      slicePairs: pairs[mode].ours.length,
      // plain CPU per request ÷ variant CPU per request: the throughput ratio a CPU-bound server would see
      oursCpuEfficiency: round(median(cpuRatios('ours'))),
      aaCpuEfficiency: round(median(cpuRatios('plain2'))),
      oursCpuEfficiencyPerRound: cpuRatios('ours').map((x) => round(x)),
      aaCpuEfficiencyPerRound: cpuRatios('plain2').map((x) => round(x)),
      serverCpuMsPer1kReq: Object.fromEntries(variants.map((v) => [v, round(med(v, 'serverCpuMsPer1kReq'), 1)])),
      connsPerRequest: Object.fromEntries(variants.filter((v) => v !== 'plain2').map((v) => [v, round(med(v, 'connsPerRequest'))])),
      errors: Object.fromEntries(variants.filter((v) => v !== 'plain2').map((v) => [v, s[v].reduce((a, x) => a + x.errors, 0)])),
    };
    if (has('standalone')) {
      Object.assign(out, {
        standaloneRps: round(med('standalone'), 0),
        standaloneRatio: round(median(ratios('standalone'))),
        standaloneRatioPerRound: ratios('standalone').map((x) => round(x)),
        standaloneRatioSlicePairsMedian: round(median(pairs[mode].standalone)),
        standaloneCpuEfficiency: round(median(cpuRatios('standalone'))),
      });
    }
    if (has('why')) {
      Object.assign(out, {
        whyRps: round(med('why'), 0),
        whyRatio: round(median(ratios('why'))),
        whyRatioOfMedians: round(med('why') / med('plain')),
        whyRatioSlicePairsMedian: round(median(pairs[mode].why)),
        whyRatioPerRound: ratios('why').map((x) => round(x)),
        whyCpuEfficiency: round(median(cpuRatios('why'))),
      });
    }
    return out;
  };
  const r3 = (xs) => xs.map((x) => round(x));
  const label = { ka: 'keepAlive', pc: 'perConnection' };
  const slicePairRatios = Object.fromEntries(modes.map(([m]) => [label[m], Object.fromEntries(others.map((v) => [v, r3(pairs[m][v])]))]));
  const out = { pinned: didPin, slicePairRatios, samples };
  for (const [m] of modes) out[m] = fig(m);
  return out;
}
