/**
 * Servers and schedulers from real libraries, no database: gRPC, socket.io, ws, koa, node-cron;
 * and two things that must NOT be called leaks: a pino transport's worker and fetch's
 * idle keep-alive connection.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { trace, node, at, expectLeaks, expectExit, expectGraceful, expectVerdictNames, explain, APP } from './helpers';

const KILLED = { code: null, signal: 'SIGKILL' };

// The upstream API app-pino-fetch.js calls: keeps idle keep-alive connections for a minute,
// so the service's fetch connection is still open when the service exits.
let upstream: http.Server;
let upstreamConnections = 0;
before(async () => {
  upstream = http.createServer((req, res) => res.end(req.url === '/price' ? '42' : 'ok'));
  upstream.keepAliveTimeout = 60_000;
  upstream.on('connection', () => upstreamConnections++);
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  process.env.UPSTREAM_URL = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
after(() => {
  upstream.closeAllConnections();
  upstream.close();
});

// Services with an in-process client are signalled at a fixed time, after the client is
// surely connected, rather than 100 ms after the server's listen.
describe('network libraries', { concurrency: 2 }, () => {
  test('gRPC server never shut down: one leak "@grpc/grpc-js Server" at new grpc.Server()', async () => {
    const r = await trace(node('app-grpc.js'));
    expectExit(r, 'killed-at-deadline', KILLED);
    assert.equal(r.trace.analysis!.servicePid, r.trace.meta.mainPid, explain(r.trace));
    const [leak] = expectLeaks(r, [
      { site: [at('app-grpc.js', 'new grpc.Server()'), at('app-grpc.js', 'server.bindAsync(')], owner: /^@grpc\/grpc-js Server\b/, fix: /\b(tryShutdown|forceShutdown)\(\)/ },
    ]);
    assert.ok(
      leak.handles.some((h) => h.type === 'server'),
      `its HTTP/2 listener\n${explain(r.trace)}`,
    );
    expectVerdictNames(r.trace);
  });

  test('gRPC server tryShutdown() on SIGTERM: graceful, exit 0, no leaks', async () => {
    const r = await trace(node('app-grpc-graceful.js'));
    expectGraceful(r);
    assert.match(r.stdout, /bye/);
  });

  test('socket.io: http server closed but not io, with a connected socket.io-client: two leaks, the io Server and the client', async () => {
    const r = await trace(node('app-socketio.js'), { after: 1500 });
    assert.match(r.stdout, /listening/, 'the client connected before the signal');
    expectExit(r, 'killed-at-deadline', KILLED);
    expectLeaks(r, [
      { site: at('app-socketio.js', 'new Server(httpServer)'), owner: /^socket\.io Server\b/, fix: /\bclose\(\)/ },
      { site: at('app-socketio.js', 'connect(`http'), owner: /^socket\.io-client (Socket|Manager)\b/, fix: /\b(close|disconnect)\(\)/ },
    ]);
    expectVerdictNames(r.trace);
  });

  test('ws: wss.close() leaves the connected client: two leaks, the WebSocketServer and the client WebSocket', async () => {
    const r = await trace(node('app-ws.js'), { after: 1500 });
    assert.match(r.stdout, /listening/, 'the client connected before the signal');
    expectExit(r, 'killed-at-deadline', KILLED);
    expectLeaks(r, [
      { site: at('app-ws.js', 'new WebSocketServer('), owner: /^ws (WebSocketServer|WebSocket)\b/, fix: /\b(close|terminate)\(\)/ },
      { site: at('app-ws.js', 'new WebSocket('), owner: /^ws WebSocket\b/, fix: /\b(close|terminate)\(\)/ },
    ]);
    expectVerdictNames(r.trace);
  });

  test('node-cron task never stopped: one leak owned by the node-cron task at cron.schedule()', async () => {
    const r = await trace(node('app-cron.js'), { after: 1500 });
    expectExit(r, 'killed-at-deadline', KILLED);
    expectLeaks(r, [{ site: at('app-cron.js', 'cron.schedule('), owner: /^node-cron \w*Task\b/, fix: /\b(stop|destroy)\(\)/ }]);
    expectVerdictNames(r.trace);
  });

  test('chokidar watcher never closed: one leak "chokidar FSWatcher" at chokidar.watch(), its fs.watch handles listed by path, released with close()', async () => {
    // The watches are made in later ticks, after chokidar's own fs calls: no user frame on their stacks.
    const r = await trace(node('app-chokidar.js'));
    expectExit(r, 'killed-at-deadline', KILLED);
    const [leak] = expectLeaks(r, [{ site: at('app-chokidar.js', 'chokidar.watch('), owner: /^chokidar FSWatcher\b/, fix: /\bclose\(\)/ }]);
    // One watch for the directory and one for each file: four, from one line of chokidar, shown as
    // one entry that names each path instead of the first one for all.
    assert.equal(leak.count, 4, explain(r.trace));
    assert.deepEqual(
      leak.handles.map((h) => h.type),
      ['fs-watcher'],
      explain(r.trace),
    );
    const label = leak.handles[0].label;
    assert.match(label, /^4 × fs\.watch /);
    const paths = label.replace(/^4 × fs\.watch /, '').split(', ');
    const dir = path.join(APP, 'config');
    const watched = [dir, ...['app.json', 'db.json', 'features.json'].map((f) => path.join(dir, f))];
    assert.equal(paths.length, 4, label);
    assert.equal(paths[3], '… (4 different)', label);
    assert.equal(new Set(paths.slice(0, 3)).size, 3, label);
    for (const p of paths.slice(0, 3)) assert.ok(watched.includes(p), `${p} is one of the watched paths: ${label}`);
    assert.equal(leak.handles[0].details?.path, undefined, 'no one path stands for all four');
    expectVerdictNames(r.trace);
  });

  test('a readline console on a held-open stdin, never closed: one leak, process.stdin at readline.createInterface(), closed with rl.close()', async () => {
    // Node makes process.stdin when it is first asked for, long after the tool loaded.
    const r = await trace(node('app-readline.js'), { stdin: 'open' });
    expectExit(r, 'killed-at-deadline', KILLED);
    const [leak] = expectLeaks(r, [
      { site: at('app-readline.js', 'readline.createInterface('), owner: null, fix: /^stop reading it on shutdown: rl\.close\(\) on the readline interface reading it, or process\.stdin\.pause\(\)$/ },
    ]);
    assert.deepEqual(
      leak.handles.map((h) => [h.type, h.label]),
      [['pipe', 'process.stdin is being read']],
      explain(r.trace),
    );
    assert.ok(!leak.handles[0].details?.predates, 'made after the tool loaded');
    expectVerdictNames(r.trace);
  });

  test('the same console closed on SIGTERM: graceful, exit 0, no leaks', async () => {
    const r = await trace(node('app-readline.js'), { stdin: 'open', env: { CLOSE_CONSOLE: '1' } });
    expectGraceful(r);
  });

  test('hapi server never stopped: one leak "@hapi/hapi.server()" at Hapi.server(), holding the server start() listened on, released with stop()', async () => {
    const r = await trace(node('app-hapi.js'));
    expectExit(r, 'killed-at-deadline', KILLED);
    const [leak] = expectLeaks(r, [{ site: at('app-hapi.js', 'Hapi.server({'), owner: /^@hapi\/hapi\.server\(\)$/, fix: /^call stop\(\) on it on shutdown$/ }]);
    assert.deepEqual(
      leak.handles.map((h) => h.type),
      ['server'],
      explain(r.trace),
    );
    expectVerdictNames(r.trace);
  });

  test('hapi server stopped on SIGTERM: graceful, exit 0, no leaks', async () => {
    const r = await trace(node('app-hapi.js'), { env: { STOP_SERVER: '1' } });
    expectGraceful(r);
  });

  test("koa server never closed: one leak, koa's Application at new Koa(), holding the server app.listen() made; the fix closes that server, since Koa has no close()", async () => {
    const r = await trace(node('app-koa.js'));
    expectExit(r, 'killed-at-deadline', KILLED);
    const [leak] = expectLeaks(r, [
      {
        site: at('app-koa.js', 'new Koa()'),
        owner: /^koa Application\b/,
        fix: /^koa Application has no close method: close the server its listen\(\) returned \(server\.close\(\)\) on shutdown$/,
      },
    ]);
    assert.deepEqual(
      leak.handles.map((h) => h.type),
      ['server'],
      explain(r.trace),
    );
    assert.equal(leak.owner!.release, undefined, 'Koa has no release method');
    expectVerdictNames(r.trace);
  });

  test('koa server closed on SIGTERM: graceful, exit 0, no leaks', async () => {
    const r = await trace(node('app-koa-graceful.js'));
    expectGraceful(r);
  });

  test('croner job never stopped: one leak "croner Cron" at new Cron(), though the bundle exports it through a getter and names the class S; released with stop()', async () => {
    const r = await trace(node('app-croner.js'), { after: 1500 });
    expectExit(r, 'killed-at-deadline', KILLED);
    const [leak] = expectLeaks(r, [{ site: at('app-croner.js', 'new Cron('), owner: /^croner Cron$/, fix: /^call stop\(\) on it on shutdown$/ }]);
    assert.deepEqual(
      leak.handles.map((h) => h.type),
      ['timeout'],
      explain(r.trace),
    );
    expectVerdictNames(r.trace);
  });

  test('croner job stopped on SIGTERM: graceful, exit 0, no leaks', async () => {
    const r = await trace(node('app-croner.js'), { after: 1500, env: { STOP_JOB: '1' } });
    expectGraceful(r);
  });

  test('node-schedule job never cancelled: one leak owned by the node-schedule Job at scheduleJob(), released with cancel()', async () => {
    // Job takes EventEmitter's prototype without calling its constructor: recorded at its first call.
    const r = await trace(node('app-schedule.js'));
    expectExit(r, 'killed-at-deadline', KILLED);
    expectLeaks(r, [{ site: at('app-schedule.js', 'schedule.scheduleJob('), owner: /^node-schedule Job\b/, fix: /\bcancel\(\)/ }]);
    expectVerdictNames(r.trace);
  });

  test('mqtt client never ended, its broker down: one leak "mqtt MqttClient" at mqtt.connect(), its reconnect timer, released with end()', async () => {
    // The client copies EventEmitter's methods in and never calls its constructor; the first call it
    // makes is a method of the TypedEventEmitter it extends, and it is still shown as the MqttClient.
    const r = await trace(node('app-mqtt.js'), { after: 1500 });
    expectExit(r, 'killed-at-deadline', KILLED);
    expectLeaks(r, [{ site: at('app-mqtt.js', 'mqtt.connect('), owner: /^mqtt MqttClient\b/, fix: /\bend\(\)/ }]);
    expectVerdictNames(r.trace);
  });

  test('fastify app never closed: one leak "fastify()" at Fastify(), holding the HTTP server it listened on in a later tick, released with close()', async () => {
    const r = await trace(node('app-fastify.js'));
    expectExit(r, 'killed-at-deadline', KILLED);
    const [leak] = expectLeaks(r, [{ site: at('app-fastify.js', 'Fastify({'), owner: /^fastify\(\)$/, fix: /^call close\(\) on it on shutdown$/ }]);
    assert.deepEqual(
      leak.handles.map((h) => h.type),
      ['server'],
      explain(r.trace),
    );
    expectVerdictNames(r.trace);
  });

  test('fastify app closed on SIGTERM: graceful, exit 0, no leaks', async () => {
    const r = await trace(node('app-fastify-graceful.js'));
    expectGraceful(r);
    assert.match(r.stdout, /closed/);
  });

  test("tarn, loaded first by knex, then required by the app: the pool it never destroys is owned by the tarn Pool at the app's line", async () => {
    const r = await trace(node('app-tarn-after-knex.js'), { after: 1000 });
    expectExit(r, 'killed-at-deadline', KILLED);
    expectLeaks(r, [{ site: at('app-tarn-after-knex.js', 'pool.acquire()'), owner: /^tarn Pool$/, fix: /\bdestroy\(\)/ }]);
    expectVerdictNames(r.trace);
  });

  test('pino transport + keep-alive fetch: graceful, exit 0, neither the logger worker nor the idle connection is a leak', async () => {
    const before = upstreamConnections;
    const r = await trace(node('app-pino-fetch.js'));
    expectGraceful(r);
    assert.ok(upstreamConnections > before, 'the service did call the upstream');
    assert.match(r.stdout, /"msg":"upstream reachable"/, 'pino wrote through its transport');
    assert.match(r.stdout, /"msg":"closed"/, 'and flushed the last line at exit');
  });
});
