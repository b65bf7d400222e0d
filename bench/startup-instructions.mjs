// Figure 2c: start-up cost as work done, not time. The fixture runs under valgrind's callgrind up
// to its "listening" line, plain and traced, and the instructions executed (every thread) and the
// bytes allocated are compared. With V8 single-threaded (--predictable), fixed seeds, no address
// randomisation and a heap large enough that no GC runs before "listening", the same build gives
// the same count to within about 0.05 %, whatever else the machine is doing: it resolves a few
// milliseconds where wall time on a shared two-core machine varies by tens. It leaves out what
// the GC would spend on the extra bytes, which is why they are reported beside it.
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { ROOT } from './lib/build.mjs';
import { variantEnv, warmCodeCache } from './lib/proc.mjs';
import { median, round } from './lib/stats.mjs';

const V8_FLAGS = ['--predictable', '--hash-seed=1', '--random-seed=1', '--min-semi-space-size=128', '--max-semi-space-size=128', '--initial-old-space-size=1024'];
const EXIT_AT_LISTENING = path.join(ROOT, 'bench', 'tools', 'exit-at-listening.cjs');

export function haveCallgrind() {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
    execFileSync('setarch', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** One run under callgrind: { instructions, heapUsed }. */
function countRun(fixture, env) {
  const args = ['-R', 'valgrind', '--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, ...V8_FLAGS, '--require', EXIT_AT_LISTENING, fixture];
  const r = spawnSync('setarch', args, { cwd: ROOT, env, encoding: 'utf8', timeout: 300000 });
  const ir = /Collected : (\d+)/.exec(r.stderr ?? '');
  const heap = /heap-used (\d+)/.exec(r.stderr ?? '');
  if (!ir || !heap) throw new Error(`callgrind run failed (${r.status ?? r.signal}): ${(r.stderr ?? '').slice(-1500)}`);
  return { instructions: Number(ir[1]), heapUsed: Number(heap[1]) };
}

/**
 * bench/fixtures/real/startup.js, plain and ours (with its code cache, made first with the same V8 flags, as a code cache only
 * holds for the flags it was made under), `runs` each, interleaved.
 */
export async function runStartupInstructions(helpers, { urls, realEnv, runs = 2, log = () => {} }) {
  if (!haveCallgrind()) return { skipped: 'valgrind or setarch is not installed (Debian packages valgrind, util-linux)' };
  const fixture = path.join(ROOT, 'bench', 'fixtures', 'real', 'startup.js');
  const envOf = (env) => realEnv(env, urls);
  // Gives the preload a port and token; it connects after "listening", when the run has ended.
  const collector = new helpers.Collector({ onHello() {}, onEvents() {}, onReject() {} });
  await collector.start();
  try {
    return await count(fixture, envOf, collector, runs, log);
  } finally {
    await collector.close();
  }
}

async function count(fixture, envOf, collector, runs, log) {
  const oursEnv = envOf(variantEnv('ours', collector));
  if (!(await warmCodeCache(fixture, oursEnv, V8_FLAGS))) throw new Error('the preload wrote no code cache');
  const plainEnv = envOf(variantEnv('plain', collector));
  const res = { plain: [], ours: [] };
  for (let i = 0; i < runs; i++) {
    res.plain.push(countRun(fixture, plainEnv));
    res.ours.push(countRun(fixture, oursEnv));
    log(`  callgrind run ${i + 1}/${runs}: plain ${res.plain[i].instructions}, ours ${res.ours[i].instructions}`);
  }
  const m = (xs, k) => median(xs.map((x) => x[k]));
  const plainIr = m(res.plain, 'instructions');
  const oursIr = m(res.ours, 'instructions');
  const spread = (xs) => (Math.max(...xs.map((x) => x.instructions)) - Math.min(...xs.map((x) => x.instructions))) / median(xs.map((x) => x.instructions));
  return {
    fixture: path.relative(ROOT, fixture),
    v8Flags: V8_FLAGS.join(' '),
    runs,
    plainInstructions: plainIr,
    oursInstructions: oursIr,
    addedInstructions: oursIr - plainIr,
    addedRatio: round((oursIr - plainIr) / plainIr, 4),
    runSpread: round(Math.max(spread(res.plain), spread(res.ours)), 5),
    plainHeapBytes: m(res.plain, 'heapUsed'),
    oursHeapBytes: m(res.ours, 'heapUsed'),
  };
}
