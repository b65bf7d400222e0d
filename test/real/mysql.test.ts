/**
 * mysql2 on a real MariaDB: a pool never ended, a connection never closed, and a pool ended
 * right. mysql2 opens its socket inside the user's call, and its pool keeps idle connections
 * until end() (no idle timeout by default), so the process stays up until killed.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { useServers } from './servers';
import { trace, node, at, expectLeaks, expectExit, expectGraceful, expectVerdictNames, explain } from './helpers';

useServers({ mysql: true });

const KILLED = { code: null, signal: 'SIGKILL' };

describe('mysql2', { concurrency: 2 }, () => {
  test('mysql2 pool never ended: one leak "mysql2 Pool" at createPool(), its connection folded in, released with end()', async () => {
    const r = await trace(node('app-mysql2-pool.js'));
    expectExit(r, 'killed-at-deadline', KILLED);
    assert.equal(r.trace.analysis!.servicePid, r.trace.meta.mainPid, explain(r.trace));
    const [leak] = expectLeaks(r, [{ site: at('app-mysql2-pool.js', 'mysql.createPool('), owner: /^mysql2 Pool\b/, fix: /\bend\(\)/ }]);
    assert.deepEqual(
      leak.handles.map((h) => h.type),
      ['socket'],
      `the pool's one connection, to the server\n${explain(r.trace)}`,
    );
    assert.match(leak.title, new RegExp(`^mysql2 Pool \\(connected to 127\\.0\\.0\\.1:${new URL(process.env.MYSQL_URL!).port}\\b`));
    expectVerdictNames(r.trace);
  });

  test('mysql2 pool ended after the server closed: graceful, exit 0, no leaks', async () => {
    const r = await trace(node('app-mysql2-pool-graceful.js'));
    expectGraceful(r);
  });

  test('mysql2 connection (callback API) never closed: one leak "mysql2 Connection" at createConnection()', async () => {
    const r = await trace(node('app-mysql2-connection.js'));
    expectExit(r, 'killed-at-deadline', KILLED);
    expectLeaks(r, [{ site: at('app-mysql2-connection.js', 'mysql.createConnection('), owner: /^mysql2 Connection\b/, fix: /\b(end|close|destroy)\(\)/ }]);
    expectVerdictNames(r.trace);
  });
});
