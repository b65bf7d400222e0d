// Server CPU per request of a throughput fixture under several preload builds, interleaved, to
// find what a part of the preload costs or to try a fix:
//   node bench/tools/cpu-compare.mjs redis|postgres|hello plain dist/preload.js /tmp/variant.js … [--rounds=4] [--slices=6]
// 'plain' (or 'plain2', …) is the service without a preload. Every variant runs side by side, pinned
// to CPU 1 (this process, autocannon and the Redis/PostgreSQL servers on CPU 0); each is driven in
// 1 s slices, A/B/C…, order rotated. Prints per-round and median CPU ms per 1000 requests and req/s,
// and each variant's CPU ratio to the first variant.
import path from 'node:path';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { buildHelpers, ROOT } from '../lib/build.mjs';
import { spawnNode, variantEnv, waitForLine, stop, killAll, cpuMs, sleep } from '../lib/proc.mjs';
import { ensureServers, stopServers, realEnv } from '../lib/servers.mjs';
import { median } from '../lib/stats.mjs';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');
const args = process.argv.slice(2);
const opt = (k, d) => Number(args.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3) || d);
const [kind, ...names] = args.filter((a) => !a.startsWith('--'));
const rounds = opt('rounds', 4);
const slices = opt('slices', 6);
if (!kind || names.length < 2) {
  console.error('usage: node bench/tools/cpu-compare.mjs redis|postgres|hello plain dist/preload.js [more preloads…] [--rounds=4] [--slices=6]');
  process.exit(2);
}
const fixture = kind === 'hello' ? path.join(ROOT, 'bench', 'fixtures', 'hello.js') : path.join(ROOT, 'bench', 'fixtures', 'real', `${kind}.js`);
const cannon = (port) => new Promise((resolve, reject) => autocannon({ url: `http://127.0.0.1:${port}/`, connections: 20, duration: 1 }, (e, r) => (e ? reject(e) : resolve(r))));

const h = await buildHelpers();
const hellos = new Set();
const collector = new h.Collector({ onHello: (x) => hellos.add(x.pid), onEvents() {}, onReject() {} });
await collector.start();
const stats = names.map(() => ({ cpu: [], rps: [] }));
try {
  const urls = kind === 'hello' ? null : await ensureServers(h, console.error);
  execFileSync('taskset', ['-acp', '0', String(process.pid)], { stdio: 'ignore' });
  for (let r = 0; r < rounds; r++) {
    const inst = [];
    try {
      for (const name of names) {
        const isPlain = /^plain\d*$/.test(name);
        const env = variantEnv(isPlain ? 'plain' : 'ours', collector);
        if (!isPlain) env.NODE_OPTIONS = `--require ${path.resolve(name)}`;
        const cmd = ['taskset', '-c', '1', process.execPath, fixture];
        const child = spawnNode(null, { env: urls ? realEnv(env, urls) : env, shell: 'exec ' + cmd.map((a) => `'${a}'`).join(' ') });
        const { match } = await waitForLine(child, /listening (\d+)/, 20000);
        inst.push({ child, port: Number(match[1]), ms: 0, cpu: 0, req: 0 });
      }
      for (let i = 0; i < 200 && !inst.every((x, k) => /^plain\d*$/.test(names[k]) || hellos.has(x.child.pid)); i++) await sleep(10);
      for (const x of inst) await cannon(x.port);
      for (let k = 0; k < slices; k++) {
        for (let j = 0; j < inst.length; j++) {
          const x = inst[(j + k + r) % inst.length];
          const t = performance.now();
          const c0 = cpuMs(x.child.pid);
          const res = await cannon(x.port);
          x.cpu += cpuMs(x.child.pid) - c0;
          x.ms += performance.now() - t;
          x.req += res.requests.total;
        }
      }
      inst.forEach((x, k) => {
        stats[k].cpu.push((x.cpu / x.req) * 1000);
        stats[k].rps.push(x.req / (x.ms / 1000));
      });
      console.log(`round ${r + 1}/${rounds}: ` + names.map((n, k) => `${path.basename(n)} ${stats[k].cpu.at(-1).toFixed(1)} ms/1k (${stats[k].rps.at(-1).toFixed(0)} req/s)`).join(', '));
    } finally {
      for (const x of inst) await stop(x.child);
    }
  }
} finally {
  killAll();
  await collector.close();
  await stopServers();
}
const base = stats[0].cpu;
console.log('\nmedian CPU ms per 1000 requests (ratio to the first per round, median):');
names.forEach((n, k) =>
  console.log(`  ${n.padEnd(36)} ${median(stats[k].cpu).toFixed(1).padStart(7)}  ×${median(stats[k].cpu.map((c, i) => c / base[i])).toFixed(3)}  ${median(stats[k].rps).toFixed(0).padStart(7)} req/s`),
);
