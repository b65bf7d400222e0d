// Start-up (spawn → "listening") of a fixture under several preload builds, interleaved, to find
// what a part of the preload costs at start-up or to try a fix:
//   node bench/tools/startup-compare.mjs hello|real plain dist/preload.js /tmp/variant.js … [--spawns=20]
// 'real' is bench/fixtures/real/startup.js (ioredis, bullmq, knex, pg, grpc-js, socket.io) against
// the throw-away Redis/PostgreSQL. Every preload reports to a Collector here. Prints medians and
// each variant's median of per-round differences to the first variant.
import path from 'node:path';
import { buildHelpers, ROOT } from '../lib/build.mjs';
import { spawnNode, variantEnv, waitForLine, stop, killAll, nowMs, cpuMs } from '../lib/proc.mjs';
import { ensureServers, stopServers, realEnv } from '../lib/servers.mjs';
import { median } from '../lib/stats.mjs';

const args = process.argv.slice(2);
const spawns = Number(args.find((a) => a.startsWith('--spawns='))?.slice(9) || 20);
const [kind, ...names] = args.filter((a) => !a.startsWith('--'));
if (!kind || names.length < 2) {
  console.error('usage: node bench/tools/startup-compare.mjs hello|real plain dist/preload.js [more preloads…] [--spawns=20]');
  process.exit(2);
}
const fixture = kind === 'hello' ? path.join(ROOT, 'bench', 'fixtures', 'hello.js') : path.join(ROOT, 'bench', 'fixtures', 'real', 'startup.js');
const h = await buildHelpers();
const collector = new h.Collector({ onHello() {}, onEvents() {}, onReject() {} });
await collector.start();
const ms = names.map(() => []);
// CPU time of the process (user + sys of all its threads, /proc, 10 ms ticks: compared by means)
// when "listening" is seen: less sensitive than wall time to other work on the machine.
const cpu = names.map(() => []);
try {
  const urls = kind === 'hello' ? null : await ensureServers(h, console.error);
  for (let k = -1; k < spawns; k++) {
    const order = names.map((_, i) => i);
    if (k % 2) order.reverse();
    for (const i of order) {
      const isPlain = /^plain\d*$/.test(names[i]);
      const env = variantEnv(isPlain ? 'plain' : 'ours', collector);
      if (!isPlain) env.NODE_OPTIONS = `--require ${path.resolve(names[i])}`;
      const t0 = nowMs();
      const child = spawnNode([fixture], { env: urls ? realEnv(env, urls) : env });
      try {
        const { at } = await waitForLine(child, /listening \d+/, 20000);
        const c = cpuMs(child.pid);
        if (k >= 0) {
          ms[i].push(at - t0);
          cpu[i].push(c);
        }
      } finally {
        await stop(child);
      }
    }
  }
} finally {
  killAll();
  await collector.close();
  await stopServers();
}
console.log(`spawn → listening, ${spawns} interleaved spawns each (median; median of per-round differences to ${names[0]}):`);
const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
names.forEach((n, i) =>
  console.log(
    `  ${n.padEnd(36)} CPU at listening, mean ${mean(cpu[i]).toFixed(1).padStart(7)} ms  ${i ? `${mean(cpu[i]) - mean(cpu[0]) >= 0 ? '+' : ''}${(mean(cpu[i]) - mean(cpu[0])).toFixed(1)} ms` : ''}`,
  ),
);
names.forEach((n, i) =>
  console.log(
    `  ${n.padEnd(36)} ${median(ms[i]).toFixed(1).padStart(7)} ms  ${i ? `${median(ms[i].map((x, k) => x - ms[0][k])) >= 0 ? '+' : ''}${median(ms[i].map((x, k) => x - ms[0][k])).toFixed(1)} ms` : ''}`,
  ),
);
