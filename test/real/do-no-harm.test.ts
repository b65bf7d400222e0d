/**
 * Do no harm, on real libraries against real servers: each fixture ends the same way traced and
 * plain (exit code or signal, and its output), and the libraries' classes look the same to the
 * program (instanceof, class identity, subclassing, method source, name and length).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { useServers } from './servers';
import { trace, node, APP, APP_BIN, GRACE } from './helpers';
import { runPlain, type Plan } from '../engine/helpers';

useServers({ redis: true, postgres: true, mysql: true, rabbitmq: true, nats: true });

// Output that differs run to run: ports, pids, timestamps, ids.
const normalize = (s: string) =>
  s
    .replace(/\b\d{2,5}\b/g, 'N')
    .replace(/[0-9a-f]{8,}/gi, 'H')
    .split('\n')
    .sort()
    .join('\n');

// node-cron fires on wall-clock seconds: whether a tick falls inside the run is chance, traced or not.
const CRON_TICK = /^report at .*$/gm;

const cases: { file: string; plan?: Plan }[] = [
  { file: 'app-ioredis.js' },
  { file: 'app-ioredis-graceful.js' },
  { file: 'app-redis.js' },
  { file: 'app-pg-pool.js' },
  { file: 'app-pg-listen.js', plan: { after: 1500 } },
  { file: 'app-knex.js' },
  { file: 'app-knex-graceful.js' },
  { file: 'app-grpc.js' },
  { file: 'app-grpc-graceful.js' },
  { file: 'app-socketio.js', plan: { after: 1500 } },
  { file: 'app-ws.js', plan: { after: 1500 } },
  { file: 'app-cron.js', plan: { after: 1500 } },
  { file: 'app-tarn-after-knex.js', plan: { after: 1000 } },
  { file: 'app-cluster.js', plan: { after: 1500 } },
  { file: 'app-schedule.js' },
  { file: 'app-bull.js', plan: { after: 1500 } },
  { file: 'app-fastify.js' },
  { file: 'app-fastify-graceful.js' },
  { file: 'app-mqtt.js', plan: { after: 1500 } },
  { file: 'app-chokidar.js' },
  { file: 'app-mysql2-pool.js' },
  { file: 'app-mysql2-pool-graceful.js' },
  { file: 'app-mysql2-connection.js' },
  { file: 'app-amqplib.js', plan: { after: 1500 } },
  { file: 'app-amqplib-graceful.js', plan: { after: 1500 } },
  { file: 'app-sequelize.js' },
  { file: 'app-nats.js' },
  { file: 'app-nats-graceful.js' },
  { file: 'app-koa.js' },
  { file: 'app-koa-graceful.js' },
  { file: 'app-pg-boss.js', plan: { after: 2500 } },
  { file: 'app-postgresjs.js' },
  { file: 'app-postgresjs.js', plan: { env: { END_SQL: '1' } } },
  { file: 'app-hapi.js' },
  { file: 'app-hapi.js', plan: { env: { STOP_SERVER: '1' } } },
  { file: 'app-esm.mjs' },
  { file: 'app-croner.js', plan: { after: 1500 } },
  { file: 'app-croner.js', plan: { after: 1500, env: { STOP_JOB: '1' } } },
  { file: 'app-keyv.js' },
  { file: 'app-keyv.js', plan: { env: { DISCONNECT: '1' } } },
  { file: 'app-readline.js', plan: { stdin: 'open' } },
  { file: 'app-readline.js', plan: { stdin: 'open', env: { CLOSE_CONSOLE: '1' } } },
];

// Services under runners, and tsc's output (compiled before the suite, as sourcemaps.test.ts does).
let tscOut = '';
const commands: { name: string; command: () => string[]; plan?: Plan }[] = [
  { name: 'app-bullmq.js', command: () => node('app-bullmq.js'), plan: { after: 2000, env: { QUEUE: 'harm-leaky' } } },
  { name: 'app-bullmq-graceful.js', command: () => node('app-bullmq-graceful.js'), plan: { after: 2000, env: { QUEUE: 'harm-graceful' } } },
  { name: 'app-pino-fetch.js', command: () => node('app-pino-fetch.js') },
  { name: 'tsx nest/main.ts', command: () => ['node_modules/.bin/tsx', 'nest/main.ts'] },
  { name: 'nodemon service.js', command: () => ['node_modules/.bin/nodemon', 'service.js'] },
  { name: 'sh -c "node service.js"', command: () => ['sh', '-c', 'node service.js'] },
  { name: 'sh -c "node service.js", to the group', command: () => ['sh', '-c', 'node service.js'], plan: { delivery: 'group' } },
  { name: 'npx tsx service.ts, to the group', command: () => ['npx', 'tsx', 'service.ts'], plan: { delivery: 'group' } },
  { name: 'tsc output', command: () => node(path.join(tscOut, 'main.js')), plan: { cwd: path.join(APP, 'tsc-app') } },
  { name: 'tsc output, --enable-source-maps', command: () => node('--enable-source-maps', path.join(tscOut, 'main.js')), plan: { cwd: path.join(APP, 'tsc-app') } },
];

before(() => {
  tscOut = fs.mkdtempSync(path.join(os.tmpdir(), 'st-harm-tsc-'));
  execFileSync(path.join(APP_BIN, 'tsc'), ['-p', path.join(APP, 'tsc-app'), '--outDir', tscOut], { stdio: 'inherit' });
});
after(() => fs.rmSync(tscOut, { recursive: true, force: true }));

const all = [
  ...cases.map((c) => ({
    name:
      c.file +
      (c.plan?.env
        ? ` ${Object.entries(c.plan.env)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}`
        : ''),
    command: () => node(c.file),
    plan: c.plan,
  })),
  ...commands,
];

describe('do no harm: real libraries, traced and plain end the same way', { concurrency: 2 }, () => {
  for (const c of all) {
    test(c.name, async () => {
      const plan = { graceMs: GRACE, cwd: APP, ...c.plan };
      const plain = await runPlain(c.command(), plan);
      const traced = await trace(c.command(), plan);
      assert.deepEqual({ code: traced.code, signal: traced.signal }, { code: plain.code, signal: plain.signal }, 'exit code and signal');
      const out = (s: string) => normalize(s.replace(CRON_TICK, '').replace(/\n+/g, '\n'));
      assert.equal(out(traced.stdout), out(plain.stdout), 'stdout');
      assert.doesNotMatch(traced.stdout + traced.stderr, /shutdown-trace/i, 'the tool never writes into the service output');
    });
  }

  test('library classes: instanceof, identity, subclassing and method source as untraced', async () => {
    const plan = { cwd: APP, after: 5000 };
    const plain = await runPlain(node('identity.js'), plan);
    const traced = await trace(node('identity.js'), plan);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(traced.code, 0, traced.stderr);
    assert.ok(plain.stdout.split('\n').length > 150, 'the fixture printed its checks');
    assert.equal(traced.stdout, plain.stdout);
  });
});
