/**
 * Services started through runners: tsx (NestJS), nodemon, sh -c, npx tsx, npm run, node --watch. The verdict, the
 * exit and the leaks are about the node process running the user's service; the runners are
 * marked as such and their own handles, exits and phases are never the user's leaks.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Trace } from '../../src/shared/trace';
import { useServers } from './servers';
import { trace, at, expectLeaks, expectExit, expectGraceful, expectService, expectVerdictNames, explain, listenerPids, proc } from './helpers';
import { finding } from '../engine/helpers';

useServers({ redis: true });

/** The one process that listened on TCP: the user's service, found from the preload's events. */
function servicePidOf(t: Trace): number {
  const pids = listenerPids(t);
  assert.equal(pids.length, 1, `one process listened on TCP: ${pids}\n${explain(t)}`);
  return pids[0];
}

/** The processes between the main process and the service (both ends included, service excluded). */
function runnersAbove(t: Trace, service: number): number[] {
  const out: number[] = [];
  let p = proc(t, proc(t, service)?.ppid);
  while (p) {
    out.push(p.pid);
    if (p.pid === t.meta.mainPid) break;
    p = proc(t, p.ppid);
  }
  assert.ok(out.includes(t.meta.mainPid!), `the service descends from the main process\n${explain(t)}`);
  return out;
}

describe('runners', { concurrency: 2 }, () => {
  test('NestJS under tsx: a provider leaks setInterval in onModuleInit; app.close() on SIGTERM is not enough', async () => {
    const r = await trace(['node_modules/.bin/tsx', 'nest/main.ts']);
    const t = r.trace;
    assert.match(r.stdout, /listening[\s\S]*closed/, 'Nest closed the app on SIGTERM');
    const svc = servicePidOf(t);
    assert.notEqual(svc, t.meta.mainPid, 'tsx runs the service in a child process');
    expectService(t, svc, [t.meta.mainPid!]);
    expectExit(r, 'killed-at-deadline', { code: null, signal: 'SIGKILL' }, svc);
    // The user's own timer: no library owner, the .ts line of the setInterval call.
    expectLeaks(r, [{ site: at('nest/metrics.service.ts', 'setInterval('), owner: null, fix: /\bclearInterval\(\)/ }]);
    expectVerdictNames(t);
  });

  test('nodemon: the service shuts down cleanly (exit 0) and that is the verdict, whatever nodemon exits with', async () => {
    const r = await trace(['node_modules/.bin/nodemon', 'service.js']);
    const t = r.trace;
    const svc = servicePidOf(t);
    expectService(t, svc, [t.meta.mainPid!]);
    expectGraceful(r, svc);
    assert.equal(r.code, 143, 'nodemon itself exits 128+SIGTERM after its child');
    // nodemon, on SIGTERM, sends its child SIGINT (through its kill helper) and SIGTERM: the service handles whichever comes first.
    assert.match(r.stdout, /SIG(TERM|INT): shutting down/);
  });

  test('sh -c "node service.js", signal to the group (Ctrl+C-like): the service exits 0, the verdict is about it', async () => {
    const r = await trace(['sh', '-c', 'node service.js'], { delivery: 'group' });
    const t = r.trace;
    const svc = servicePidOf(t);
    assert.notEqual(svc, t.meta.mainPid, 'sh runs node as its child');
    expectService(t, svc, [t.meta.mainPid!]);
    expectGraceful(r, svc);
  });

  test('sh -c "node service.js", signal to the main process only: it never reached the service; no leaks are blamed on the service', async () => {
    const r = await trace(['sh', '-c', 'node service.js']);
    const t = r.trace;
    const svc = servicePidOf(t);
    expectService(t, svc, [t.meta.mainPid!]);
    assert.ok(finding(t, 'signal-not-delivered'), `signal-not-delivered finding\n${explain(t)}`);
    assert.match(t.analysis!.verdict, new RegExp(`never reached the service[\\s\\S]*node service\\.js \\(pid ${svc}\\)`), explain(t));
    // The service was never asked to stop: its server and Redis client were in use, not leaked.
    assert.deepEqual(t.analysis!.leaks ?? [], [], `no leaks for a service that never got the signal\n${explain(t)}`);
    // The SIGTERM its listener then got was the tool's cleanup of the orphan: said so, in order,
    // with what a container or systemd would have done instead.
    const orphan = t.events.find((e) => e.kind === 'orphan' && e.pid === svc)!;
    const arrival = t.events.find((e) => e.kind === 'signal' && e.pid === svc)!;
    assert.ok(orphan && arrival && orphan.t <= arrival.t, `the tool's cleanup comes before the SIGTERM it caused\n${explain(t)}`);
    const outlived = finding(t, 'orphans')!;
    assert.match(
      outlived.detail,
      new RegExp(`pid ${svc} \\(node service\\.js\\)[^]*Shutdown Trace sent it SIGTERM at [\\d.]+ m?s, which ran its SIGTERM listener; it ended [\\d.]+ m?s later \\(exit code 0\\)`),
      outlived.detail,
    );
    assert.match(outlived.detail, /the kernel SIGKILLs every process left in the PID namespace when PID 1 exits \(pid_namespaces\(7\)\)[^]*KillMode=control-group[^]*\(systemd\.kill\(5\)\)/);
    const slowest = finding(t, 'slowest-phase');
    if (slowest) assert.match(slowest.detail, new RegExp(`in pid ${svc}, set off by the tool's cleanup SIGTERM to that orphan`), slowest.detail);
  });

  test("npx tsx service.ts, signal to the group: the service (tsx's child) exits 0; npx, sh and tsx are runners", async () => {
    const r = await trace(['npx', 'tsx', 'service.ts'], { delivery: 'group' });
    const t = r.trace;
    const svc = servicePidOf(t);
    assert.match(proc(t, svc)!.command, /service\.ts/, explain(t));
    const runners = runnersAbove(t, svc);
    assert.ok(runners.length >= 2, `npx and tsx at least: ${runners}\n${explain(t)}`);
    expectService(t, svc, runners);
    expectGraceful(r, svc);
  });

  test('npm run (through sh -c), signal to the group: npm and sh die of it at once; the service, hanging on its Redis client, is killed at the deadline, not cleaned up as an orphan', async () => {
    const r = await trace(['npm', 'run', '--silent', 'start:leaky'], { delivery: 'group' });
    const t = r.trace;
    const svc = servicePidOf(t);
    assert.match(proc(t, svc)!.command, /service-leaky\.js/, explain(t));
    const runners = runnersAbove(t, svc);
    expectService(t, svc, runners);
    assert.ok(
      runners.every((pid) => {
        const p = proc(t, pid)!;
        return p.end !== undefined && p.end < t.events.find((e) => e.kind === 'deadline')!.t;
      }),
      `the runners were gone before the deadline\n${explain(t)}`,
    );
    assert.match(r.stdout, /SIGTERM: closing the server/);
    // The run went on for the service after its runners were gone, as systemd's control-group stop does.
    expectExit(r, 'killed-at-deadline', { code: null, signal: 'SIGKILL' }, svc);
    expectLeaks(r, [{ site: at('service-leaky.js', 'new Redis('), owner: /^ioredis Redis\b/, fix: /\bquit\(\)/ }]);
    expectVerdictNames(t);
    assert.equal(finding(t, 'orphans'), undefined, `not an orphan: the stop under test ended it\n${explain(t)}`);
    assert.equal(finding(t, 'repeated-signal'), undefined, `one SIGTERM reached the service\n${explain(t)}`);
    assert.equal(t.events.filter((e) => e.kind === 'signal' && e.pid === svc).length, 1, explain(t));
  });

  test('node --watch, signal to the group: the service gets SIGTERM twice (from the group, and relayed by watch mode), said so; it exits 0', async () => {
    const r = await trace(['node', '--watch', 'service.js'], { delivery: 'group' });
    const t = r.trace;
    const svc = servicePidOf(t);
    assert.equal(proc(t, svc)?.ppid, t.meta.mainPid, explain(t));
    expectService(t, svc, [t.meta.mainPid!]);
    expectGraceful(r, svc);
    const f = finding(t, 'repeated-signal');
    assert.ok(f, explain(t));
    assert.equal(f.title, `2 signals arrived at pid ${svc} (SIGTERM, SIGTERM)`);
    assert.match(f.detail, new RegExp(`the runner node --watch service\\.js \\(pid ${t.meta.mainPid}\\) got it too and passes it on to its child`), f.detail);
  });

  for (const init of [['tini', '--'], ['dumb-init']]) {
    test(`${init[0]} (a container's init) runs node service.js: the service is seen listening, exits 0, ${init[0]} is a runner`, async () => {
      const r = await trace([...init, 'node', 'service.js']);
      const t = r.trace;
      const svc = servicePidOf(t);
      assert.equal(proc(t, svc)?.ppid, t.meta.mainPid, explain(t));
      expectService(t, svc, [t.meta.mainPid!]);
      expectGraceful(r, svc);
      // The signal plan ran on the service's listen, not on the 10 s listen timeout.
      assert.equal(finding(t, 'never-listened'), undefined, explain(t));
      assert.equal(t.meta.counters.rejectedConnections, 0, `the service's preload was let in: ${JSON.stringify(t.meta.counters)}`);
    });
  }
});
