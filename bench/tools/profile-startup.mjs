// CPU profile of start-up (spawn → "listening") under the preload, to find what the preload costs
// before a service is ready: node bench/tools/profile-startup.mjs hello|real [--runs=5] [--preload=dist/preload.js]
// Prints the preload's share of the sampled time and its functions by inclusive time (median over runs).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildHelpers, ROOT } from '../lib/build.mjs';
import { spawnNode, variantEnv, waitForLine, waitExit, killAll } from '../lib/proc.mjs';
import { ensureServers, stopServers, realEnv } from '../lib/servers.mjs';
import { median } from '../lib/stats.mjs';

const args = process.argv.slice(2);
const kind = args.find((a) => !a.startsWith('--')) || 'hello';
const runs = Number(args.find((a) => a.startsWith('--runs='))?.slice(7) || 5);
const preload = path.resolve(args.find((a) => a.startsWith('--preload='))?.slice(10) || path.join(ROOT, 'dist', 'preload.js'));
const fixture = kind === 'hello' ? path.join(ROOT, 'bench', 'fixtures', 'hello.js') : path.join(ROOT, 'bench', 'fixtures', 'real', 'startup.js');
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-prof-start-'));
const h = await buildHelpers();
const collector = new h.Collector({ onHello() {}, onEvents() {}, onReject() {} });
await collector.start();
const totals = new Map();
const shares = [];
try {
  const urls = kind === 'hello' ? null : await ensureServers(h, console.error);
  for (let r = 0; r < runs; r++) {
    const env = variantEnv('ours', collector);
    env.NODE_OPTIONS = `--require ${preload}`;
    const dir = path.join(outDir, String(r));
    const cmd = [process.execPath, '--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=50', '--require', path.join(ROOT, 'bench', 'tools', 'exit-on-sigterm.cjs'), fixture];
    const child = spawnNode(null, { env: urls ? realEnv(env, urls) : env, shell: 'exec ' + cmd.map((a) => `'${a}'`).join(' ') });
    const { at } = await waitForLine(child, /listening \d+/, 20000);
    const listenUs = at;
    process.kill(child.pid, 'SIGTERM');
    await waitExit(child, 10000);
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    const prof = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    const byId = new Map(prof.nodes.map((n) => [n.id, n]));
    const parent = new Map();
    for (const n of prof.nodes) for (const c of n.children || []) parent.set(c, n.id);
    // only samples up to the first 'listening' write are start-up; approximate by the first 85 % of wall time
    let t = prof.startTime;
    const per = new Map();
    let total = 0;
    let pre = 0;
    for (let i = 0; i < prof.samples.length; i++) {
      t += prof.timeDeltas[i];
      const d = (prof.timeDeltas[i] || 0) / 1000;
      total += d;
      const seen = new Set();
      let inPre = false;
      for (let cur = prof.samples[i]; cur !== undefined; cur = parent.get(cur)) {
        const c = byId.get(cur);
        const u = c.callFrame.url || '';
        if (!(u === preload || u.endsWith('/' + path.basename(preload)) || u.startsWith('file://' + preload))) continue;
        inPre = true;
        const k = `${c.callFrame.functionName || '(anon)'}:${c.callFrame.lineNumber + 1}`;
        if (seen.has(k)) continue;
        seen.add(k);
        per.set(k, (per.get(k) || 0) + d);
      }
      if (inPre) pre += d;
    }
    shares.push([pre, total]);
    for (const [k, v] of per) (totals.get(k) || totals.set(k, []).get(k)).push(v);
  }
} finally {
  killAll();
  await collector.close();
  await stopServers();
}
console.log(`${kind}: preload inclusive ms per run: ${shares.map(([p, t]) => `${p.toFixed(1)}/${t.toFixed(0)}`).join(' ')} (median ${median(shares.map((s) => s[0])).toFixed(1)} ms)`);
for (const [k, v] of [...totals].sort((a, b) => median(b[1]) - median(a[1])).slice(0, 30))
  console.log(
    `  ${k.padEnd(48)} ${median(v.concat(Array(runs - v.length).fill(0)))
      .toFixed(2)
      .padStart(7)} ms`,
  );
