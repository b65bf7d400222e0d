/**
 * Real libraries on a real Redis: ioredis, node-redis, BullMQ, and a cluster of ioredis
 * workers. What users must read: the verdict, the exit, and each leak as the library object
 * they created (owner), at their line, with the call that releases it.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { useServers } from './servers';
import { trace, node, at, expectLeaks, expectExit, expectGraceful, expectVerdictNames, explain, listenerPids, proc } from './helpers';

useServers({ redis: true });

const KILLED = { code: null, signal: 'SIGKILL' };

describe('redis libraries', { concurrency: 2 }, () => {
  test('ioredis client never quit: killed at the deadline, one leak "ioredis Redis" at new Redis()', async () => {
    const r = await trace(node('app-ioredis.js'));
    expectExit(r, 'killed-at-deadline', KILLED);
    assert.equal(r.trace.analysis!.servicePid, r.trace.meta.mainPid, explain(r.trace));
    const site = at('app-ioredis.js', 'new Redis(');
    const [leak] = expectLeaks(r, [{ site, owner: /^ioredis Redis\b/, fix: /\bquit\(\)/ }]);
    assert.ok(
      leak.handles.some((h) => h.type === 'socket'),
      `the Redis connection is among its handles\n${explain(r.trace)}`,
    );
    expectVerdictNames(r.trace);
  });

  test('ioredis with quit() on SIGTERM: graceful, exit 0, no leaks', async () => {
    const r = await trace(node('app-ioredis-graceful.js'));
    expectGraceful(r);
    assert.match(r.stdout, /bye/);
  });

  test('node-redis client never closed: one leak owned by the redis client at createClient()', async () => {
    const r = await trace(node('app-redis.js'));
    expectExit(r, 'killed-at-deadline', KILLED);
    const site = [at('app-redis.js', 'createClient('), at('app-redis.js', 'client.connect()')];
    const [leak] = expectLeaks(r, [{ site, owner: /^(redis|@redis\/client) \w*Client\b/, fix: /\b(close|quit|destroy)\(\)/ }]);
    assert.ok(
      leak.handles.some((h) => h.type === 'socket'),
      explain(r.trace),
    );
    expectVerdictNames(r.trace);
  });

  test('node-redis with close() on SIGTERM: graceful, exit 0, no leaks', async () => {
    const r = await trace(node('app-redis-graceful.js'));
    expectGraceful(r);
  });

  test('Keyv on @keyv/redis never disconnected: one leak "@keyv/redis KeyvRedis" at new KeyvRedis(), holding the node-redis client it made, released with disconnect()', async () => {
    // node-redis' client is an Object.create() over the RedisClient: the store holds it by its prototype.
    const r = await trace(node('app-keyv.js'));
    expectExit(r, 'killed-at-deadline', KILLED);
    const [leak] = expectLeaks(r, [{ site: at('app-keyv.js', 'new KeyvRedis('), owner: /^@keyv\/redis KeyvRedis$/, fix: /^call disconnect\(\) on it on shutdown$/ }]);
    assert.deepEqual(
      leak.handles.map((h) => h.type),
      ['socket'],
      explain(r.trace),
    );
    expectVerdictNames(r.trace);
  });

  test('Keyv disconnected on SIGTERM: graceful, exit 0, no leaks', async () => {
    const r = await trace(node('app-keyv.js'), { env: { DISCONNECT: '1' } });
    expectGraceful(r);
  });

  // One Redis for the file: each BullMQ run has a queue of its own (bull's Queue, run alongside,
  // keeps its keys under the same 'bull:' prefix), and the two run one at a time.
  describe('bullmq, one at a time', { concurrency: 1 }, () => {
    test('BullMQ Worker never closed: one leak "bullmq Worker" at new Worker(), its connections and timers folded in', async () => {
      const r = await trace(node('app-bullmq.js'), { after: 2000, env: { QUEUE: 'bullmq-leaky' } });
      assert.match(r.stdout, /listening for jobs on emails/, 'the worker was ready before the signal');
      assert.match(r.stdout, /sending email to ada@example\.com/, 'and ran its job');
      expectExit(r, 'killed-at-deadline', KILLED);
      const site = at('app-bullmq.js', 'new Worker(');
      // The closed Queue is not a leak; the Worker's two ioredis connections are not separate
      // "ioredis Redis" leaks: they belong to the Worker.
      const [leak] = expectLeaks(r, [{ site, owner: /^bullmq Worker\b/, fix: /\bclose\(\)/ }]);
      const sockets = leak.handles.filter((h) => h.type === 'socket').length;
      assert.equal(sockets, 2, `the Worker holds its connection and its blocking connection\n${explain(r.trace)}`);
      expectVerdictNames(r.trace);
    });

    test('BullMQ Worker closed on SIGTERM: graceful, exit 0, no leaks', async () => {
      const r = await trace(node('app-bullmq-graceful.js'), { after: 2000, env: { QUEUE: 'bullmq-graceful' } });
      assert.match(r.stdout, /sending email to ada@example\.com/, 'the job ran before the signal');
      expectGraceful(r);
    });
  });

  test('bull Queue never closed: one leak "bull Queue" at new Queue(), its three ioredis clients and its timers folded in', async () => {
    // Queue inherits EventEmitter's prototype without calling its constructor: recorded at its first call.
    const r = await trace(node('app-bull.js'), { after: 1500 });
    expectExit(r, 'killed-at-deadline', KILLED);
    const [leak] = expectLeaks(r, [{ site: at('app-bull.js', 'new Queue('), owner: /^bull Queue\b/, fix: /\bclose\(\)/ }]);
    assert.ok(leak.handles.filter((h) => h.type === 'socket').length >= 2, `the queue's Redis connections are among its handles\n${explain(r.trace)}`);
    expectVerdictNames(r.trace);
  });

  test('cluster: the primary stops its 2 workers, each holds its ioredis client; one leak per worker, none in the primary', async () => {
    // Signalled once both workers are surely up (the first worker's listen would be too early).
    const r = await trace(node('app-cluster.js'), { after: 1500 });
    const t = r.trace;
    assert.match(r.stdout, /^listening\nprimary: stopping workers\n/, 'both workers listened before the signal');
    expectExit(r, 'killed-at-deadline', KILLED);
    const mainPid = t.meta.mainPid!;
    assert.equal(t.analysis!.servicePid, mainPid, `the verdict is about the primary\n${explain(t)}`);
    const workers = listenerPids(t).filter((p) => p !== mainPid);
    assert.equal(workers.length, 2, `two workers listened\n${explain(t)}`);
    for (const w of workers) assert.equal(proc(t, w)?.role ?? 'service', 'service', `a worker is not a runner\n${explain(t)}`);
    assert.equal(proc(t, mainPid)?.role ?? 'service', 'service', `the primary is not a runner\n${explain(t)}`);
    const site = at('app-cluster.js', 'new Redis(');
    // The primary waiting for its workers is not a leak of its own: no "child process" entries.
    expectLeaks(
      r,
      workers.map((pid) => ({ site, pid, owner: /^ioredis Redis\b/, fix: /\bquit\(\)/ })),
    );
    expectVerdictNames(t);
  });
});
