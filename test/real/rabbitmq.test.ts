/**
 * amqplib on a real RabbitMQ: a consumer whose connection is never closed, and one that closes
 * its channel and connection. The connection holds its socket and two heartbeat intervals.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { useServers } from './servers';
import { trace, node, at, expectLeaks, expectExit, expectGraceful, expectVerdictNames, explain } from './helpers';

useServers({ rabbitmq: true });

const KILLED = { code: null, signal: 'SIGKILL' };

describe('amqplib', { concurrency: 2 }, () => {
  test('amqplib connection never closed: one leak "amqplib Connection" at amqp.connect(), its socket and heartbeat timers folded in, released with close()', async () => {
    const r = await trace(node('app-amqplib.js'), { after: 1500 });
    assert.match(r.stdout, /listening/, 'connected and consuming before the signal');
    expectExit(r, 'killed-at-deadline', KILLED);
    const [leak] = expectLeaks(r, [{ site: at('app-amqplib.js', 'amqp.connect('), owner: /^amqplib Connection\b/, fix: /\bclose\(\)/ }]);
    assert.deepEqual(leak.handles.map((h) => h.type).sort(), ['interval', 'interval', 'socket'], `the socket and the two heartbeat intervals (send, check)\n${explain(r.trace)}`);
    expectVerdictNames(r.trace);
  });

  test('amqplib channel and connection closed on SIGTERM: graceful, exit 0, no leaks', async () => {
    const r = await trace(node('app-amqplib-graceful.js'), { after: 1500 });
    assert.match(r.stdout, /listening/);
    expectGraceful(r);
  });
});
