// Figure 5: memory the preload adds with many live handles. The same fixture
// (bench/fixtures/many-handles.js: 10k live client sockets to a server in this bench process, and
// 10k live timers) runs plain and with our preload connected to a real Collector, interleaved,
// 3 rounds; RSS after a full GC, with minus without. (The server is here rather than in the fixture
// because this machine's hard limit is 20000 fds: 10k pairs in one process would not fit.)
import net from 'node:net';
import path from 'node:path';
import { ROOT } from './lib/build.mjs';
import { spawnNode, variantEnv, waitForLine, stop, rssBytes } from './lib/proc.mjs';
import { median, round } from './lib/stats.mjs';

const FIXTURE = path.join(ROOT, 'bench', 'fixtures', 'many-handles.js');
const MB = 1024 * 1024;

export async function runMemory(helpers, { rounds = 3, sockets = 10000, timers = 10000, log = () => {} } = {}) {
  const collector = new helpers.Collector({ onHello: () => {}, onEvents: () => {}, onReject: (k, r) => log(`  collector rejected ${k}: ${r}`) });
  await collector.start();
  const held = new Set();
  const server = net.createServer((s) => {
    held.add(s);
    s.on('error', () => {});
    s.on('close', () => held.delete(s));
  });
  await new Promise((r) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, r));
  const res = { plain: [], ours: [] };
  try {
    for (let r = 0; r < rounds; r++) {
      for (const v of r % 2 === 0 ? ['plain', 'ours'] : ['ours', 'plain']) {
        const env = { ...variantEnv(v, collector), BENCH_SOCKETS: String(sockets), BENCH_TIMERS: String(timers), BENCH_SERVER_PORT: String(server.address().port) };
        // fds: one per socket plus slack; raise the limit for this shell only, where allowed
        const child = spawnNode(null, { env, shell: `ulimit -n 65536 2>/dev/null || ulimit -n $(ulimit -Hn); exec "${process.execPath}" --expose-gc "${FIXTURE}"` });
        try {
          const { match } = await waitForLine(child, /^\{.*\}$/m, 60000);
          const m = JSON.parse(match[0]);
          m.rssOutside = rssBytes(child.pid);
          res[v].push(m);
          log(
            `  round ${r + 1}/${rounds} ${v.padEnd(5)} RSS ${(m.loaded.rss / MB).toFixed(1)} MB (base ${(m.base.rss / MB).toFixed(1)} MB), heap ${(m.loaded.heapUsed / MB).toFixed(1)} MB; ${m.clients} client sockets, ${m.timers} timers, ${m.failed} failed`,
          );
        } finally {
          await stop(child);
          for (const s of held) s.destroy();
        }
      }
    }
  } finally {
    for (const s of held) s.destroy();
    await new Promise((r) => server.close(() => r()));
    await collector.close();
  }
  const med = (v, f) => median(res[v].map(f));
  const rss = (v) => med(v, (m) => m.loaded.rss);
  const heap = (v) => med(v, (m) => m.loaded.heapUsed);
  const baseRss = (v) => med(v, (m) => m.base.rss);
  const baseHeap = (v) => med(v, (m) => m.base.heapUsed);
  return {
    rounds,
    clientSockets: sockets,
    timers,
    opened: { plain: res.plain.map((m) => `${m.clients}+${m.timers}`), ours: res.ours.map((m) => `${m.clients}+${m.timers}`) },
    plainRssMB: round(rss('plain') / MB, 1),
    oursRssMB: round(rss('ours') / MB, 1),
    addedRssMB: round((rss('ours') - rss('plain')) / MB, 1),
    addedRssMBPerRound: res.ours.map((m, k) => round((m.loaded.rss - res.plain[k].loaded.rss) / MB, 1)),
    addedHeapMB: round((heap('ours') - heap('plain')) / MB, 1),
    idleAddedRssMB: round((baseRss('ours') - baseRss('plain')) / MB, 1),
    idleAddedHeapMB: round((baseHeap('ours') - baseHeap('plain')) / MB, 1),
    perHandleBytes: round((heap('ours') - baseHeap('ours') - (heap('plain') - baseHeap('plain'))) / (sockets + timers), 0),
    failedConnects: res.plain.concat(res.ours).reduce((a, m) => a + m.failed, 0),
  };
}
