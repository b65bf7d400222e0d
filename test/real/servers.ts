/**
 * Throw-away PostgreSQL and Redis servers for the real-library suite: started once per test
 * file on free ports in temp directories, stopped by exactly what was started (pg_ctl on our
 * data directory, the pid in our pidfile), in after() hooks that run even when tests fail.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, after } from 'node:test';

export interface Started {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// ---- Redis

export async function startRedis(): Promise<Started> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-redis-'));
  const port = await freePort();
  const pidfile = path.join(dir, 'redis.pid');
  execFileSync(
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--daemonize', 'yes', '--pidfile', pidfile, '--dir', dir, '--logfile', path.join(dir, 'redis.log')],
    { stdio: 'ignore' },
  );
  let pid = 0;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (!pid && fs.existsSync(pidfile)) pid = Number(fs.readFileSync(pidfile, 'utf8').trim()) || 0;
    const ping = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'ping'], { encoding: 'utf8' });
    if (pid && ping.stdout?.trim() === 'PONG') break;
    if (Date.now() > deadline) {
      const log = fs.existsSync(path.join(dir, 'redis.log')) ? fs.readFileSync(path.join(dir, 'redis.log'), 'utf8') : '';
      if (pid) process.kill(pid, 'SIGKILL');
      throw new Error(`redis-server on port ${port} did not answer PING within 10 s\n${log}`);
    }
    await sleep(50);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      if (pid && alive(pid)) {
        process.kill(pid, 'SIGTERM');
        for (let i = 0; i < 100 && alive(pid); i++) await sleep(50);
        if (alive(pid)) process.kill(pid, 'SIGKILL');
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- PostgreSQL

function pgBin(): string {
  const base = '/usr/lib/postgresql';
  const versions = fs.existsSync(base)
    ? fs
        .readdirSync(base)
        .filter((v) => fs.existsSync(path.join(base, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions.length) throw new Error(`no PostgreSQL server binaries under ${base} (apt-get install postgresql)`);
  return path.join(base, versions[0], 'bin');
}

function asPostgres(bin: string, args: string[], opts: { timeout?: number } = {}) {
  const r = spawnSync('runuser', ['-u', 'postgres', '--', bin, ...args], { encoding: 'utf8', timeout: opts.timeout ?? 60_000 });
  if (r.status !== 0) throw new Error(`${path.basename(bin)} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stdout}${r.stderr}${r.error ?? ''}`);
  return r;
}

export async function startPostgres(): Promise<Started> {
  const bin = pgBin();
  const port = await freePort();
  // Owned by postgres, mode 700 (mkdtemp's default mode): PostgreSQL refuses to run as root.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-pg-'));
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  fs.chownSync(dir, uid, gid);
  fs.chmodSync(dir, 0o700);
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'postgres.log');
  let started = false;
  try {
    asPostgres(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
    const opts = `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
    asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-l', log, '-o', opts, '-w', '-t', '60', 'start']);
    started = true;
  } catch (e) {
    const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(e as Error).message}\n${text}`);
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      if (started) {
        try {
          asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']);
        } catch (e) {
          // Last resort: the postmaster's pid from our own data directory, never by name.
          const pidFile = path.join(data, 'postmaster.pid');
          const pid = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]) : 0;
          if (pid && alive(pid)) process.kill(pid, 'SIGQUIT');
          console.error(`pg_ctl stop: ${(e as Error).message}`);
        }
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts the servers a test file needs once, before its tests, and stops them after, failed
 * tests or not. Sets REDIS_URL / DATABASE_URL in process.env, which the traced services
 * inherit through the CLI.
 */
export function useServers(want: { redis?: boolean; postgres?: boolean }): { redisUrl: string; databaseUrl: string } {
  const urls = { redisUrl: '', databaseUrl: '' };
  const started: Started[] = [];
  before(async () => {
    const [redis, pg] = await Promise.allSettled([want.redis ? startRedis() : undefined, want.postgres ? startPostgres() : undefined]);
    for (const r of [redis, pg]) if (r.status === 'fulfilled' && r.value) started.push(r.value);
    for (const r of [redis, pg]) if (r.status === 'rejected') throw r.reason;
    if (redis.status === 'fulfilled' && redis.value) urls.redisUrl = process.env.REDIS_URL = redis.value.url;
    if (pg.status === 'fulfilled' && pg.value) urls.databaseUrl = process.env.DATABASE_URL = pg.value.url;
  });
  after(async () => {
    await Promise.all(started.map((s) => s.stop()));
  });
  return urls;
}
