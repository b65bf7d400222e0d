/**
 * Real libraries on a real PostgreSQL: pg's Pool and Client, knex. pg's Pool would let the
 * process go by itself after idleTimeoutMillis (10 s); the 2 s grace is well under that.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { useServers } from './servers';
import { trace, node, at, expectLeaks, expectExit, expectGraceful, expectVerdictNames, explain } from './helpers';

useServers({ postgres: true });

const KILLED = { code: null, signal: 'SIGKILL' };

describe('postgres libraries', { concurrency: 2 }, () => {
  test('pg Pool never ended: one leak "pg Pool" at new Pool(), its idle client folded in', async () => {
    const r = await trace(node('app-pg-pool.js'));
    expectExit(r, 'killed-at-deadline', KILLED);
    assert.equal(r.trace.analysis!.servicePid, r.trace.meta.mainPid, explain(r.trace));
    const [leak] = expectLeaks(r, [{ site: [at('app-pg-pool.js', 'new Pool('), at('app-pg-pool.js', "pool.query('SELECT 1')")], owner: /^pg(-pool)? \w*Pool\b/, fix: /\bend\(\)/ }]);
    assert.ok(
      leak.handles.some((h) => h.type === 'socket'),
      `the idle client's connection is the pool's\n${explain(r.trace)}`,
    );
    expectVerdictNames(r.trace);
  });

  test('pg-boss never stopped: one leak "pg-boss PgBoss" at new PgBoss(), its internal managers and polling sleeps folded in, released with stop()', async () => {
    // The managers sit in #private fields (no walk reaches them): they are made inside PgBoss's
    // constructor. The sleeps are node:timers/promises calls in pg-boss, whose one owner is PgBoss.
    const r = await trace(node('app-pg-boss.js'), { after: 2500 });
    expectExit(r, 'killed-at-deadline', KILLED);
    const [leak] = expectLeaks(r, [{ site: at('app-pg-boss.js', 'new PgBoss('), owner: /^pg-boss PgBoss\b/, fix: /^call stop\(\) on it/ }]);
    assert.ok(
      leak.handles.some((h) => h.type === 'interval'),
      `the managers' intervals are PgBoss's\n${explain(r.trace)}`,
    );
    expectVerdictNames(r.trace);
  });

  test('pg Pool ended on SIGTERM: graceful, exit 0, no leaks', async () => {
    const r = await trace(node('app-pg-pool-graceful.js'));
    expectGraceful(r);
  });

  test('postgres.js sql never ended: one leak "postgres()" at postgres(…), its connection and its lifetime timer folded in, released with end()', async () => {
    // postgres() returns a function; its connections live in closures, opened by the first query in a later tick.
    const r = await trace(node('app-postgresjs.js'));
    expectExit(r, 'killed-at-deadline', KILLED);
    const [leak] = expectLeaks(r, [{ site: at('app-postgresjs.js', 'postgres(process.env.DATABASE_URL)'), owner: /^postgres\(\)$/, fix: /\bend\(\)/ }]);
    assert.deepEqual(leak.handles.map((h) => h.type).sort(), ['socket', 'timeout'], `the connection and its max_lifetime timer are the client's\n${explain(r.trace)}`);
    expectVerdictNames(r.trace);
  });

  test('postgres.js sql.end() after the server closed: graceful, exit 0, no leaks', async () => {
    const r = await trace(node('app-postgresjs.js'), { env: { END_SQL: '1' } });
    expectGraceful(r);
  });

  test("an ES module on postgres.js and croner: postgres() found at its one call in the source, its handles under it; the job's timer at new Cron(), made inside that call", async () => {
    // import loads the packages' ESM builds: no object is seen being made, and postgres.js
    // connects with no line of the user's on the stack.
    const r = await trace(node('app-esm.mjs'));
    expectExit(r, 'killed-at-deadline', KILLED);
    const leaks = expectLeaks(r, [
      { site: at('app-esm.mjs', 'postgres(process.env.DATABASE_URL)'), owner: /^postgres\(\)$/, fix: /^stop, close or end what this call returned on shutdown \(found in your source/ },
      { site: at('app-esm.mjs', 'new Cron('), owner: null, fix: /^croner made it inside the call at this line: stop or close what that call returned on shutdown$/ },
    ]);
    const pg = leaks.find((l) => l.owner)!;
    const cron = leaks.find((l) => !l.owner)!;
    assert.equal(pg.owner?.via, 'source', explain(r.trace));
    assert.deepEqual(pg.handles.map((h) => h.type).sort(), ['socket', 'timeout'], explain(r.trace));
    assert.deepEqual(
      cron.handles.map((h) => h.type),
      ['timeout'],
      explain(r.trace),
    );
    expectVerdictNames(r.trace);
  });

  test('pg Client doing LISTEN never ended: one leak "pg Client" at new Client()', async () => {
    const r = await trace(node('app-pg-listen.js'), { after: 1500 });
    assert.match(r.stdout, /listening for new_job/, 'LISTEN was issued before the signal');
    expectExit(r, 'killed-at-deadline', KILLED);
    expectLeaks(r, [{ site: [at('app-pg-listen.js', 'new Client('), at('app-pg-listen.js', 'client.connect()')], owner: /^pg Client\b/, fix: /\bend\(\)/ }]);
    expectVerdictNames(r.trace);
  });

  test('pg Client UNLISTEN + end() on SIGTERM: graceful, exit 0, no leaks', async () => {
    const r = await trace(node('app-pg-listen-graceful.js'), { after: 1500 });
    assert.match(r.stdout, /listening for new_job/);
    expectGraceful(r);
  });

  test('knex never destroyed after one query: one leak owned by knex at knex({...}), connection and reaping interval folded in', async () => {
    const r = await trace(node('app-knex.js'));
    expectExit(r, 'killed-at-deadline', KILLED);
    const [leak] = expectLeaks(r, [{ site: [at('app-knex.js', 'knex({'), at('app-knex.js', "db.raw('select 1')")], owner: /^knex \w+/, fix: /\bdestroy\(\)/ }]);
    assert.ok(
      leak.handles.some((h) => h.type === 'socket'),
      `the pooled pg connection belongs to knex\n${explain(r.trace)}`,
    );
    expectVerdictNames(r.trace);
  });

  test('Sequelize never closed: one leak "sequelize Sequelize" at new Sequelize(), its pooled connection folded in, released with close()', async () => {
    const r = await trace(node('app-sequelize.js'));
    expectExit(r, 'killed-at-deadline', KILLED);
    const [leak] = expectLeaks(r, [{ site: at('app-sequelize.js', 'new Sequelize('), owner: /^sequelize Sequelize\b/, fix: /\bclose\(\)/ }]);
    assert.ok(
      leak.handles.some((h) => h.type === 'socket'),
      `the pooled pg connection belongs to Sequelize\n${explain(r.trace)}`,
    );
    expectVerdictNames(r.trace);
  });

  test('knex destroyed on SIGTERM: graceful, exit 0, no leaks', async () => {
    const r = await trace(node('app-knex-graceful.js'));
    expectGraceful(r);
  });
});
