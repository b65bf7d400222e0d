// Compare preload builds on the memory fixture (figure 5), for trying a fix:
//   node bench/tools/memory-compare.mjs dist/preload.js /tmp/preload-fixed.js [--rounds=3]
// Each preload runs bench/fixtures/many-handles.js (10k client sockets to a server here, 10k
// timers) interleaved with plain runs; prints RSS, V8 heap used and committed, per round and median.
import net from 'node:net';
import path from 'node:path';
import fs from 'node:fs';
import { buildHelpers, ROOT } from '../lib/build.mjs';
import { spawnNode, variantEnv, waitForLine, stop } from '../lib/proc.mjs';
import { median } from '../lib/stats.mjs';

const args = process.argv.slice(2);
const rounds = Number(args.find((a) => a.startsWith('--rounds='))?.slice(9) || 3);
const preloads = args.filter((a) => !a.startsWith('--')).map((p) => path.resolve(p));
if (!preloads.length) {
  console.error('usage: node bench/tools/memory-compare.mjs <preload.js>... [--rounds=N]');
  process.exit(2);
}
const h = await buildHelpers();
const collector = new h.Collector({ onHello() {}, onEvents() {}, onReject() {} });
await collector.start();
const held = new Set();
const server = net.createServer((s) => {
  held.add(s);
  s.on('error', () => {});
});
await new Promise((r) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, r));
const MB = (x) => (x / 1048576).toFixed(1);
const res = new Map();
try {
  for (let r = 0; r < rounds; r++) {
    for (const pre of ['plain', ...preloads]) {
      const env = { ...variantEnv(pre === 'plain' ? 'plain' : 'ours', collector), BENCH_SERVER_PORT: String(server.address().port) };
      if (pre !== 'plain') env.NODE_OPTIONS = `--require ${pre}`;
      const child = spawnNode(['--expose-gc', path.join(ROOT, 'bench', 'fixtures', 'many-handles.js')], { env });
      try {
        const { match } = await waitForLine(child, /^\{.*\}$/m, 60000);
        const m = JSON.parse(match[0]);
        if (!res.has(pre)) res.set(pre, []);
        res.get(pre).push(m);
        const anon = fs.readFileSync(`/proc/${child.pid}/smaps_rollup`, 'utf8').match(/Anonymous:\s+(\d+)/);
        console.log(
          `round ${r + 1} ${path.basename(pre).padEnd(22)} RSS ${MB(m.base.rss)} → ${MB(m.loaded.rss)} MB  heapUsed ${MB(m.base.heapUsed)} → ${MB(m.loaded.heapUsed)} MB  heapTotal ${MB(m.loaded.heapTotal)} MB  anon ${anon ? MB(Number(anon[1]) * 1024) : '?'} MB`,
        );
      } finally {
        await stop(child);
        for (const s of held) s.destroy();
        held.clear();
      }
    }
  }
} finally {
  server.close();
  await collector.close();
}
const plain = res.get('plain');
for (const [pre, ms] of res) {
  if (pre === 'plain') continue;
  const d = (f) => MB(median(ms.map(f)) - median(plain.map(f)));
  console.log(
    `${path.basename(pre).padEnd(22)} added: RSS ${d((m) => m.loaded.rss)} MB, heapUsed ${d((m) => m.loaded.heapUsed)} MB, heapTotal ${d((m) => m.loaded.heapTotal)} MB (medians of ${ms.length})`,
  );
}
process.exit(0);
