// The throw-away Redis and PostgreSQL for the real-I/O figures: test/real/servers.ts (the
// real-library suite's own: free ports on 127.0.0.1, temp directories, stopped by the pid in
// their pidfile / pg_ctl on their data directory), bundled into the helpers by lib/build.mjs.
// Started once, on first need, pinned to CPU 0 (the bench's side: the service under test runs
// alone on CPU 1), and stopped by stopServers(), which run.mjs calls on every way out.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { ROOT } from './build.mjs';

/** Where the fixtures' `require('ioredis')` etc. resolve: the real-library suite's install. */
export const REAL_NODE_MODULES = path.join(ROOT, 'test', 'real-app', 'node_modules');
let started = null;

function setAffinity(cpus) {
  try {
    execFileSync('taskset', ['-acp', cpus, String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** { redisUrl, databaseUrl }, starting both servers the first time. */
export async function ensureServers(helpers, log = () => {}) {
  if (started) return started.urls;
  for (const p of ['ioredis', 'pg', 'bullmq', 'knex', '@grpc/grpc-js', 'socket.io']) {
    if (!fs.existsSync(path.join(REAL_NODE_MODULES, p))) throw new Error(`${path.relative(ROOT, REAL_NODE_MODULES)}/${p} is missing: run "cd test/real-app && npm ci"`);
  }
  // Children inherit the CPU affinity: redis-server's daemon and the postmaster (with every
  // backend it forks later) stay on CPU 0 for the whole bench.
  const pinned = os.cpus().length > 1 && setAffinity('0');
  const t = performance.now();
  let res;
  try {
    res = await Promise.allSettled([helpers.startRedis(), helpers.startPostgres()]);
  } finally {
    if (pinned) setAffinity(`0-${os.cpus().length - 1}`);
  }
  const ok = res.filter((r) => r.status === 'fulfilled').map((r) => r.value);
  const failed = res.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.all(ok.map((s) => s.stop().catch(() => {})));
    throw failed.reason;
  }
  const [redis, pg] = ok;
  started = { servers: [redis, pg], urls: { redisUrl: redis.url, databaseUrl: pg.url } };
  log(`  started redis-server (${redis.url}) and PostgreSQL (${pg.url})${pinned ? ' on CPU 0' : ''} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return started.urls;
}

/** Environment for a fixture under test/real-app's packages, talking to the bench's servers. */
export function realEnv(env, urls) {
  return { ...env, NODE_PATH: REAL_NODE_MODULES, REDIS_URL: urls.redisUrl, DATABASE_URL: urls.databaseUrl };
}

/** Stops what ensureServers started (idempotent; bounded by the servers' own stop timeouts). */
export async function stopServers() {
  if (!started) return;
  const s = started;
  started = null;
  await Promise.all(s.servers.map((x) => x.stop().catch(() => {})));
}
