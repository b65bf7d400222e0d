// CPU profile of a real-I/O fixture under load, plain and traced, to find what the preload costs
// per request: node bench/tools/profile-real.mjs redis|postgres|hello [--seconds=6] [--preload=dist/preload.js]
// Starts the throw-away Redis/PostgreSQL (lib/servers.mjs), runs the fixture with --cpu-prof
// (pinned to CPU 1 like the bench), drives it with autocannon (20 keep-alive connections), stops
// it with SIGTERM so that the profile is written, then prints the self time by script and the
// preload's functions (self and total time), per 1000 requests.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { buildHelpers, ROOT } from '../lib/build.mjs';
import { spawnNode, variantEnv, waitForLine, waitExit, killAll, cpuMs } from '../lib/proc.mjs';
import { ensureServers, stopServers, realEnv } from '../lib/servers.mjs';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');
const args = process.argv.slice(2);
const kind = args.find((a) => !a.startsWith('--')) || 'postgres';
const seconds = Number(args.find((a) => a.startsWith('--seconds='))?.slice(10) || 6);
const preload = path.resolve(args.find((a) => a.startsWith('--preload='))?.slice(10) || path.join(ROOT, 'dist', 'preload.js'));
const fixture = kind === 'hello' ? path.join(ROOT, 'bench', 'fixtures', 'hello.js') : path.join(ROOT, 'bench', 'fixtures', 'real', `${kind}.js`);
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-prof-'));

const h = await buildHelpers();
const collector = new h.Collector({ onHello() {}, onEvents() {}, onReject() {} });
await collector.start();
try {
  execFileSync('taskset', ['-acp', '0', String(process.pid)], { stdio: 'ignore' });
} catch {}
try {
  const urls = kind === 'hello' ? null : await ensureServers(h, console.error);
  for (const variant of ['plain', 'ours']) {
    const env = variantEnv(variant, collector);
    if (variant === 'ours') env.NODE_OPTIONS = `--require ${preload}`;
    const dir = path.join(outDir, variant);
    const cmd = [
      'taskset',
      '-c',
      '1',
      process.execPath,
      '--cpu-prof',
      `--cpu-prof-dir=${dir}`,
      '--cpu-prof-interval=250',
      '--require',
      path.join(ROOT, 'bench', 'tools', 'exit-on-sigterm.cjs'),
      fixture,
    ];
    const child = spawnNode(null, { env: urls ? realEnv(env, urls) : env, shell: 'exec ' + cmd.map((a) => `'${a}'`).join(' ') });
    const { match } = await waitForLine(child, /listening (\d+)/, 20000);
    const port = Number(match[1]);
    const c0 = cpuMs(child.pid);
    const res = await new Promise((resolve, reject) => autocannon({ url: `http://127.0.0.1:${port}/`, connections: 20, duration: seconds }, (e, r) => (e ? reject(e) : resolve(r))));
    const c1 = cpuMs(child.pid);
    process.kill(child.pid, 'SIGTERM');
    await waitExit(child, 10000);
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`${variant}: no profile written (${child.stderrText})`);
    report(variant, JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')), res.requests.total, c1 - c0, path.join(dir, file));
  }
} finally {
  killAll();
  await collector.close();
  await stopServers();
}

function report(variant, prof, requests, cpu, file) {
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children || []) parent.set(c, n.id);
  const dt = new Map();
  for (let i = 0; i < prof.samples.length; i++) dt.set(prof.samples[i], (dt.get(prof.samples[i]) || 0) + (prof.timeDeltas[i] || 0) / 1000);
  const total = [...dt.values()].reduce((a, b) => a + b, 0);
  const script = (n) => {
    const u = n.callFrame.url || '';
    if (u.endsWith('/dist/preload.js') || u === preload || u.endsWith(path.basename(preload))) return 'preload';
    if (!u) return n.callFrame.functionName ? `(${n.callFrame.functionName})` : '(native)';
    if (u.startsWith('node:')) return 'node core';
    const i = u.lastIndexOf('/node_modules/');
    if (i >= 0)
      return (
        'pkg ' +
        u
          .slice(i + 14)
          .split('/')
          .slice(0, u.slice(i + 14).startsWith('@') ? 2 : 1)
          .join('/')
      );
    return 'user';
  };
  const selfBy = new Map();
  const preSelf = new Map();
  const preTotal = new Map();
  for (const [id, ms] of dt) {
    const n = byId.get(id);
    const s = script(n);
    selfBy.set(s, (selfBy.get(s) || 0) + ms);
    if (s === 'preload') {
      const k = `${n.callFrame.functionName || '(anon)'}:${n.callFrame.lineNumber + 1}`;
      preSelf.set(k, (preSelf.get(k) || 0) + ms);
    }
    // total (inclusive) time of preload functions: each sample counted once per distinct function on its stack
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const c = byId.get(cur);
      if (script(c) !== 'preload') continue;
      const k = `${c.callFrame.functionName || '(anon)'}:${c.callFrame.lineNumber + 1}`;
      if (seen.has(k)) continue;
      seen.add(k);
      preTotal.set(k, (preTotal.get(k) || 0) + ms);
    }
  }
  const per1k = (ms) => ((ms / requests) * 1000).toFixed(2);
  console.log(`\n== ${variant}: ${requests} requests in ${seconds} s, server CPU ${((cpu / requests) * 1000).toFixed(1)} ms/1k req (/proc); profile ${total.toFixed(0)} ms sampled (${file})`);
  for (const [s, ms] of [...selfBy].sort((a, b) => b[1] - a[1]).slice(0, 14))
    console.log(`  ${s.padEnd(28)} self ${ms.toFixed(0).padStart(6)} ms  ${((100 * ms) / total).toFixed(2).padStart(6)} %  ${per1k(ms).padStart(7)} ms/1k req`);
  if (preTotal.size) {
    console.log('  preload functions (total incl. callees / self), ms per 1k requests:');
    for (const [k, ms] of [...preTotal].sort((a, b) => b[1] - a[1]).slice(0, 20))
      console.log(`    ${k.padEnd(40)} total ${per1k(ms).padStart(6)}  self ${per1k(preSelf.get(k) || 0).padStart(6)}  (${((100 * ms) / total).toFixed(2)} %)`);
    console.log('  preload functions by self time, ms per 1k requests:');
    for (const [k, ms] of [...preSelf].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`    ${k.padEnd(40)} self ${per1k(ms).padStart(6)}  (${((100 * ms) / total).toFixed(2)} %)`);
  }
}
