// Figure 3a: signal → event in the collector. process.kill(pid, 'SIGUSR2') is timed in this
// process; the end is the collector's onEvents callback holding that `signal` event (nth).
import path from 'node:path';
import { ROOT } from './lib/build.mjs';
import { spawnNode, variantEnv, waitForLine, stop, nowMs, sleep } from './lib/proc.mjs';
import { summary } from './lib/stats.mjs';

const TARGET = path.join(ROOT, 'bench', 'fixtures', 'signal-target.js');

export async function runCollectorLatency(helpers, { signals = 100, log = () => {} } = {}) {
  const arrived = new Map(); // nth → time
  let wake = null;
  const collector = new helpers.Collector({
    onHello: () => {},
    onEvents: (pid, seq, events) => {
      const t = nowMs();
      for (const e of events) {
        if (e.kind === 'signal' && e.signal === 'SIGUSR2') {
          arrived.set(e.nth, t);
          if (wake) wake();
        }
      }
    },
    onReject: (kind, reason) => log(`  collector rejected ${kind}: ${reason}`),
  });
  await collector.start();
  const child = spawnNode([TARGET], { env: variantEnv('ours', collector) });
  const lat = [];
  let lost = 0;
  try {
    await waitForLine(child, /listening \d+/);
    for (let i = 0; i < 200 && collector.connectedPids().length === 0; i++) await sleep(10);
    if (!collector.connectedPids().includes(child.pid)) throw new Error('the preload did not connect');
    await sleep(200);
    for (let n = 1; n <= signals; n++) {
      const got = new Promise((r) => (wake = r));
      const t0 = nowMs();
      process.kill(child.pid, 'SIGUSR2');
      await Promise.race([got, sleep(1000)]);
      wake = null;
      // the event for this signal may have been in an earlier batch; look it up by nth
      for (let k = 0; k < 100 && !arrived.has(n); k++) await Promise.race([new Promise((r) => (wake = r)), sleep(10)]);
      wake = null;
      if (arrived.has(n)) lat.push(arrived.get(n) - t0);
      else lost++;
      await sleep(10 + Math.random() * 20);
    }
  } finally {
    await stop(child);
    await collector.close();
  }
  const s = summary(lat, 2);
  log(`  signal → collector: p50 ${s.p50} ms, p95 ${s.p95} ms, max ${s.max} ms over ${lat.length} signals (${lost} lost)`);
  return { signals, ms: s, lost };
}
