/**
 * nats on a real nats-server: a connection never closed, and one drained. The socket and the
 * ping timer belong to the protocol handler inside; the owner shown is the connection the user
 * holds, at the connect() that made it, with its release method.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { useServers } from './servers';
import { trace, node, at, expectLeaks, expectExit, expectGraceful, expectVerdictNames, explain } from './helpers';

useServers({ nats: true });

const KILLED = { code: null, signal: 'SIGKILL' };

describe('nats', { concurrency: 2 }, () => {
  test('nats connection never closed: one leak, the connection at connect() (not its protocol handler, not the first subscribe), released with close()', async () => {
    const r = await trace(node('app-nats.js'));
    expectExit(r, 'killed-at-deadline', KILLED);
    const [leak] = expectLeaks(r, [{ site: at('app-nats.js', 'await connect('), owner: /^nats NatsConnectionImpl\b/, fix: /\bclose\(\)/ }]);
    assert.deepEqual(leak.handles.map((h) => h.type).sort(), ['socket', 'timeout'], `its socket and ping timer\n${explain(r.trace)}`);
    assert.match(leak.title, new RegExp(`^nats NatsConnectionImpl \\(connected to 127\\.0\\.0\\.1:${new URL(process.env.NATS_URL!).port}\\)`));
    expectVerdictNames(r.trace);
  });

  test('nats connection drained after the server closed: graceful, exit 0, no leaks', async () => {
    const r = await trace(node('app-nats-graceful.js'));
    expectGraceful(r);
  });
});
