// Figure 2: start-up cost. spawn() → the service's "listening" line on stdout, interleaved
// plain / ours / why-is-node-running spawns; ours reports to a real Collector in this process,
// with the preload's code cache made by one traced run first, as a user's first run makes it.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './lib/build.mjs';
import { spawnNode, variantEnv, waitForLine, stop, nowMs, sleep, warmCodeCache, STANDALONE_DIR } from './lib/proc.mjs';
import { median, summary, round } from './lib/stats.mjs';

const HELLO = path.join(ROOT, 'bench', 'fixtures', 'hello.js');

export async function runStartup(helpers, { spawns = 20, log = () => {} } = {}) {
  return measureStartup(helpers, { fixture: HELLO, variants: ['plain', 'ours', 'why'], spawns, log });
}

/** The preload without the launcher (SHUTDOWN_TRACE_DIR, a spool file) beside the launcher's, on the same fixture. */
export async function runStartupStandalone(helpers, { spawns = 20, log = () => {} } = {}) {
  fs.rmSync(STANDALONE_DIR, { recursive: true, force: true });
  try {
    return await measureStartup(helpers, { fixture: HELLO, variants: ['plain', 'ours', 'standalone'], spawns, log });
  } finally {
    fs.rmSync(STANDALONE_DIR, { recursive: true, force: true });
  }
}

/**
 * Start-up with real libraries loaded (bench/fixtures/real/startup.js: ioredis, bullmq, knex, pg,
 * @grpc/grpc-js, socket.io, one object of each, against the bench's Redis and PostgreSQL):
 * plain vs ours, interleaved the same way.
 */
export async function runStartupReal(helpers, { urls, realEnv, spawns = 20, log = () => {} } = {}) {
  const fixture = path.join(ROOT, 'bench', 'fixtures', 'real', 'startup.js');
  // plain2 is a second plain spawn in every round: the A/A control, how far two identical start-ups
  // differ on this machine (these start-ups are ~0.5 s of loading, and their spread is tens of ms;
  // hence 40 rounds in a full run).
  // ours-cold: a traced process with no code cache yet, as on a user's very first run.
  const res = await measureStartup(helpers, { fixture, envOf: (env) => realEnv(env, urls), variants: ['plain', 'ours', 'ours-cold', 'plain2'], spawns, log });
  return { fixture: path.relative(ROOT, fixture), ...res };
}

async function measureStartup(helpers, { fixture, envOf = (e) => e, variants, spawns, log }) {
  const hellos = new Map();
  const collector = new helpers.Collector({
    onHello: (h) => hellos.set(h.pid, nowMs()),
    onEvents: () => {},
    onReject: (kind, reason) => log(`  collector rejected ${kind}: ${reason}`),
  });
  await collector.start();
  const ms = Object.fromEntries(variants.map((v) => [v, []]));
  const helloMs = [];
  let notConnected = 0;
  let codeCacheWritten;
  try {
    if (variants.includes('ours')) codeCacheWritten = await warmCodeCache(fixture, envOf(variantEnv('ours', collector)));
    // one unmeasured spawn of each first: the file cache and the collector warm up
    for (let k = -1; k < spawns; k++) {
      // Rotated, so that each variant starts first, in the middle and last equally often: with
      // three variants, reversing alternate rounds kept the second one always in the middle.
      const r = ((k % variants.length) + variants.length) % variants.length;
      const order = [...variants.slice(r), ...variants.slice(0, r)];
      for (const v of order) {
        const t0 = nowMs();
        const child = spawnNode([fixture], { env: envOf(variantEnv(v, collector)) });
        try {
          const { at } = await waitForLine(child, /listening \d+/, 20000);
          if (k >= 0) ms[v].push(at - t0);
          if (v === 'ours' && k >= 0) {
            // the hello normally lands before "listening"; give it a moment if not
            for (let i = 0; i < 100 && !hellos.has(child.pid); i++) await sleep(5);
            if (hellos.has(child.pid)) helloMs.push(hellos.get(child.pid) - t0);
            else notConnected++;
          }
        } finally {
          await stop(child);
        }
      }
    }
  } finally {
    await collector.close();
  }
  const mp = median(ms.plain);
  const mo = median(ms.ours);
  const mw = ms.why ? median(ms.why) : NaN;
  log(`  spawn→listening median: plain ${mp.toFixed(1)} ms, ours ${mo.toFixed(1)} ms${ms.why ? `, why ${mw.toFixed(1)} ms` : ''} (ours ${mo - mp >= 0 ? '+' : ''}${(mo - mp).toFixed(1)} ms)`);
  const out = {
    spawns,
    plainMs: summary(ms.plain, 1),
    oursMs: summary(ms.ours, 1),
    oursAddedMs: round(mo - mp, 1),
    oursRatio: round(mo / mp),
    oursSpawnToHelloMs: summary(helloMs, 1),
    oursNotConnected: notConnected,
    codeCacheWritten,
  };
  if (ms['ours-cold']) {
    const mc = median(ms['ours-cold']);
    log(`  ours without a code cache (a first run) ${mc.toFixed(1)} ms (${mc - mp >= 0 ? '+' : ''}${(mc - mp).toFixed(1)} ms)`);
    const n = Math.min(ms.plain.length, ms['ours-cold'].length);
    Object.assign(out, {
      oursColdMs: summary(ms['ours-cold'], 1),
      oursColdAddedMs: round(mc - mp, 1),
      oursColdAddedMsPerPair: summary(
        Array.from({ length: n }, (_, k) => ms['ours-cold'][k] - ms.plain[k]),
        1,
      ),
    });
  }
  if (ms.why) Object.assign(out, { whyMs: summary(ms.why, 1), whyAddedMs: round(mw - mp, 1), whyRatio: round(mw / mp) });
  if (ms.standalone) {
    const msa = median(ms.standalone);
    log(`  standalone (spool file, no launcher) ${msa.toFixed(1)} ms (${msa - mp >= 0 ? '+' : ''}${(msa - mp).toFixed(1)} ms)`);
    Object.assign(out, { standaloneMs: summary(ms.standalone, 1), standaloneAddedMs: round(msa - mp, 1), standaloneRatio: round(msa / mp) });
  }
  if (ms.plain2) {
    const ma = median(ms.plain2);
    log(`  A/A: plain2 ${ma.toFixed(1)} ms (${ma - mp >= 0 ? '+' : ''}${(ma - mp).toFixed(1)} ms)`);
    Object.assign(out, { plain2Ms: summary(ms.plain2, 1), aaAddedMs: round(ma - mp, 1) });
  }
  // added ms per interleaved pair (same round): a spread for the median above
  const n = Math.min(ms.plain.length, ms.ours.length);
  const deltas = Array.from({ length: n }, (_, k) => ms.ours[k] - ms.plain[k]);
  out.oursAddedMsPerPair = summary(deltas, 1);
  out.samples = Object.fromEntries(Object.entries(ms).map(([v, xs]) => [v, xs.map((x) => round(x, 1))]));
  return out;
}
