/**
 * Throw-away PostgreSQL, Redis, MariaDB, RabbitMQ and NATS servers for the real-library suite: started once per test
 * file on free ports in temp directories, stopped by exactly what was started (pg_ctl on our
 * data directory, the pid in our pidfile), in after() hooks that run even when tests fail.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
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

/** A Debian daemon's binary: by its path under /usr/sbin, which a CI shell's PATH may lack. */
function sbin(name: string): string {
  const p = path.join('/usr/sbin', name);
  return fs.existsSync(p) ? p : name;
}

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

// ---- MariaDB (for mysql2)

export async function startMariadb(): Promise<Started> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-mariadb-'));
  const port = await freePort();
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'error.log');
  const pidfile = path.join(dir, 'mariadbd.pid');
  const readLog = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '');
  const init = spawnSync('mariadb-install-db', ['--user=root', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db'], { encoding: 'utf8', timeout: 120_000 });
  if (init.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`mariadb-install-db failed (${init.status ?? init.signal}): ${init.stdout}${init.stderr}${init.error ?? ''}`);
  }
  // No grant tables: any user connects without a password, as a throw-away test server may.
  const child = spawn(
    sbin('mariadbd'),
    [
      '--no-defaults',
      '--user=root',
      `--datadir=${data}`,
      '--bind-address=127.0.0.1',
      `--port=${port}`,
      `--socket=${path.join(dir, 'sock')}`,
      `--pid-file=${pidfile}`,
      `--log-error=${log}`,
      '--skip-grant-tables',
      '--skip-log-bin',
      '--innodb-buffer-pool-size=16M',
    ],
    { stdio: 'ignore' },
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      for (let i = 0; i < 200 && child.exitCode === null && child.signalCode === null; i++) await sleep(50);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ping = spawnSync('mariadb-admin', ['--no-defaults', '-h', '127.0.0.1', '-P', String(port), '-u', 'root', 'ping'], { encoding: 'utf8' });
    if (ping.status === 0) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      const text = readLog();
      await stop();
      throw new Error(`mariadbd on port ${port} did not answer ping within 60 s\n${text}`);
    }
    await sleep(100);
  }
  const create = spawnSync('mariadb', ['--no-defaults', '-h', '127.0.0.1', '-P', String(port), '-u', 'root', '-e', 'CREATE DATABASE app'], { encoding: 'utf8' });
  if (create.status !== 0) {
    await stop();
    throw new Error(`CREATE DATABASE failed: ${create.stderr}`);
  }
  return { url: `mysql://root@127.0.0.1:${port}/app`, port, stop };
}

// ---- RabbitMQ (for amqplib)

export async function startRabbitmq(): Promise<Started> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-rabbitmq-'));
  const [port, distPort, epmdPort] = [await freePort(), await freePort(), await freePort()];
  fs.writeFileSync(path.join(dir, 'enabled_plugins'), '[].');
  // Our own epmd, on its own port and in the foreground: the broker finds it running and starts
  // none of its own (which would outlive the test as a daemon), and we stop it by its pid.
  const epmd = spawn('epmd', ['-address', '127.0.0.1', '-port', String(epmdPort)], { stdio: 'ignore' });
  const env = {
    ...process.env,
    HOME: dir,
    ERL_EPMD_PORT: String(epmdPort),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    RABBITMQ_NODENAME: `st${port}@localhost`,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: path.join(dir, 'rabbitmq.pid'),
    RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq'),
  };
  let output = '';
  const broker = spawn('/usr/lib/rabbitmq/bin/rabbitmq-server', [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  broker.stdout!.on('data', (d) => (output += d));
  broker.stderr!.on('data', (d) => (output += d));
  const running = (c: import('node:child_process').ChildProcess) => c.exitCode === null && c.signalCode === null;
  const stop = async () => {
    // The broker's pid file names the Erlang VM (the script may run it as a child): SIGTERM stops it cleanly.
    const pidFile = path.join(dir, 'rabbitmq.pid');
    const vm = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8').trim()) || 0 : 0;
    for (const pid of [vm, broker.pid ?? 0]) if (pid && alive(pid)) process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 200 && ((vm && alive(vm)) || running(broker)); i++) await sleep(50);
    for (const pid of [vm, broker.pid ?? 0]) if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
    if (running(epmd)) epmd.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (/Starting broker\.\.\. completed/.test(output)) break;
    if (!running(broker) || Date.now() > deadline) {
      await stop();
      throw new Error(`rabbitmq-server on port ${port} did not start within 90 s\n${output}`);
    }
    await sleep(100);
  }
  return { url: `amqp://guest:guest@127.0.0.1:${port}`, port, stop };
}

// ---- NATS (for nats)

export async function startNats(): Promise<Started> {
  const port = await freePort();
  let output = '';
  const child = spawn(sbin('nats-server'), ['-a', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = async () => {
    if (running()) {
      child.kill('SIGTERM');
      for (let i = 0; i < 100 && running(); i++) await sleep(50);
      if (running()) child.kill('SIGKILL');
    }
  };
  const deadline = Date.now() + 20_000;
  while (!/Server is ready/.test(output)) {
    if (!running() || Date.now() > deadline) {
      await stop();
      throw new Error(`nats-server on port ${port} did not start within 20 s\n${output}`);
    }
    await sleep(50);
  }
  return { url: `nats://127.0.0.1:${port}`, port, stop };
}

/**
 * Starts the servers a test file needs once, before its tests, and stops them after, failed
 * tests or not. Sets REDIS_URL / DATABASE_URL / MYSQL_URL / AMQP_URL / NATS_URL in process.env, which the traced services
 * inherit through the CLI.
 */
export function useServers(want: { redis?: boolean; postgres?: boolean; mysql?: boolean; rabbitmq?: boolean; nats?: boolean }): {
  redisUrl: string;
  databaseUrl: string;
  mysqlUrl: string;
  amqpUrl: string;
  natsUrl: string;
} {
  const urls = { redisUrl: '', databaseUrl: '', mysqlUrl: '', amqpUrl: '', natsUrl: '' };
  const kinds = [
    { on: want.redis, start: startRedis, env: 'REDIS_URL', key: 'redisUrl' },
    { on: want.postgres, start: startPostgres, env: 'DATABASE_URL', key: 'databaseUrl' },
    { on: want.mysql, start: startMariadb, env: 'MYSQL_URL', key: 'mysqlUrl' },
    { on: want.rabbitmq, start: startRabbitmq, env: 'AMQP_URL', key: 'amqpUrl' },
    { on: want.nats, start: startNats, env: 'NATS_URL', key: 'natsUrl' },
  ] as const;
  const started: Started[] = [];
  before(
    async () => {
      const results = await Promise.allSettled(kinds.map((k) => (k.on ? k.start() : undefined)));
      for (const r of results) if (r.status === 'fulfilled' && r.value) started.push(r.value);
      for (const r of results) if (r.status === 'rejected') throw r.reason;
      results.forEach((r, i) => {
        if (r.status === 'fulfilled' && r.value) urls[kinds[i].key] = process.env[kinds[i].env] = r.value.url;
      });
    },
    { timeout: 180_000 },
  );
  after(async () => {
    await Promise.all(started.map((s) => s.stop()));
  });
  return urls;
}
