// Figure 2: start-up cost. spawn() → the service's "listening" line on stdout, interleaved
// plain / ours / why-is-node-running spawns; ours reports to a real Collector in this process.
import path from 'node:path';
import { ROOT } from './lib/build.mjs';
import { spawnNode, variantEnv, waitForLine, stop, nowMs, sleep } from './lib/proc.mjs';
import { median, summary, round } from './lib/stats.mjs';

const HELLO = path.join(ROOT, 'bench', 'fixtures', 'hello.js');

export async function runStartup(helpers, { spawns = 20, log = () => {} } = {}) {
  const hellos = new Map();
  const collector = new helpers.Collector({
    onHello: (h) => hellos.set(h.pid, nowMs()),
    onEvents: () => {},
    onReject: (kind, reason) => log(`  collector rejected ${kind}: ${reason}`),
  });
  await collector.start();
  const variants = ['plain', 'ours', 'why'];
  const ms = { plain: [], ours: [], why: [] };
  const helloMs = [];
  let notConnected = 0;
  try {
    // one unmeasured spawn of each first: the file cache and the collector warm up
    for (let k = -1; k < spawns; k++) {
      const order = k % 2 === 0 ? variants : [...variants].reverse();
      for (const v of order) {
        const t0 = nowMs();
        const child = spawnNode([HELLO], { env: variantEnv(v, collector) });
        try {
          const { at } = await waitForLine(child, /listening \d+/, 10000);
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
  const mw = median(ms.why);
  log(`  spawn→listening median: plain ${mp.toFixed(1)} ms, ours ${mo.toFixed(1)} ms, why ${mw.toFixed(1)} ms`);
  return {
    spawns,
    plainMs: summary(ms.plain, 1),
    oursMs: summary(ms.ours, 1),
    whyMs: summary(ms.why, 1),
    oursAddedMs: round(mo - mp, 1),
    oursRatio: round(mo / mp),
    whyAddedMs: round(mw - mp, 1),
    whyRatio: round(mw / mp),
    oursSpawnToHelloMs: summary(helloMs, 1),
    oursNotConnected: notConnected,
  };
}
