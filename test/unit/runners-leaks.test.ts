/**
 * Runners told apart from the service (pure, on process lists as the launcher records them),
 * and leaks grouped by owner with the user's line and the releasing call.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { scriptOf, runsPackageCli, classifyRoles } from '../../src/core/runners';
import { groupLeaks, fixFor } from '../../src/core/leaks';
import type { ProcessInfo } from '../../src/shared/trace';
import type { HandleInfo } from '../../src/shared/wire';
import type { Site } from '../../src/shared/frames';

const proc = (pid: number, ppid: number, command: string, traced = true, start = pid): ProcessInfo => ({ pid, ppid, command, traced, isMain: false, start });

describe('runners', () => {
  test('the program of a command line: a node script after options (values skipped), else the command itself', () => {
    assert.equal(scriptOf('node --enable-source-maps dist/server.js'), 'dist/server.js');
    assert.equal(scriptOf('/usr/bin/node --require /a/node_modules/tsx/dist/preflight.cjs --import file:///a/node_modules/tsx/dist/loader.mjs app.ts'), 'app.ts');
    assert.equal(scriptOf('node_modules/.bin/tsx app.ts'), 'node_modules/.bin/tsx');
    assert.equal(scriptOf('npx tsx app.ts'), 'npx');
    // a shebang's env, as a process shows it until env has exec'd node
    assert.equal(scriptOf('/usr/bin/env node /w/node_modules/.bin/tsx app.ts'), '/w/node_modules/.bin/tsx');
    assert.equal(scriptOf('/usr/bin/env -S node --no-warnings /w/node_modules/.bin/nodemon app.js'), '/w/node_modules/.bin/nodemon');
    assert.equal(scriptOf('env -u DEBUG NODE_ENV=production node server.js'), 'server.js');
    assert.equal(scriptOf('/usr/bin/env'), '/usr/bin/env');
  });

  test('package CLIs are runners; user scripts, even with tsx loaders, are not', () => {
    assert.equal(runsPackageCli('node_modules/.bin/nodemon app.js'), true);
    assert.equal(runsPackageCli('node /w/node_modules/.bin/tsx app.ts'), true);
    assert.equal(runsPackageCli('npm exec tsx app.ts'), true);
    assert.equal(runsPackageCli('/usr/bin/node --require /w/node_modules/tsx/dist/preflight.cjs app.ts'), false);
    assert.equal(runsPackageCli('node app.js'), false);
    assert.equal(runsPackageCli('/usr/bin/env node /w/node_modules/.bin/tsx app.ts'), true);
    assert.equal(runsPackageCli('/usr/bin/env npx tsx app.ts'), true);
    assert.equal(runsPackageCli('/usr/bin/env node app.js'), false);
  });

  test('tsx: the CLI is the runner, the node child running app.ts is the service', () => {
    const ps = [proc(10, 1, 'node_modules/.bin/tsx app.ts'), proc(11, 10, '/usr/bin/node --require /w/node_modules/tsx/dist/preflight.cjs --import file:///w/node_modules/tsx/dist/loader.mjs app.ts')];
    const r = classifyRoles(ps, 10);
    assert.equal(r.servicePid, 11);
    assert.deepEqual(
      [...r.roles],
      [
        [11, 'service'],
        [10, 'runner'],
      ],
    );
  });

  test('npx → sh → tsx → service: every process on the way is a runner, also with tsx seen as its shebang before env ran node', () => {
    for (const tsx of ['node /w/node_modules/.bin/tsx app.ts', '/usr/bin/env node /w/node_modules/.bin/tsx app.ts']) {
      const ps = [
        proc(10, 1, 'npx tsx app.ts'),
        proc(11, 10, "sh -c 'tsx' app.ts", false),
        proc(12, 11, tsx),
        proc(13, 12, '/usr/bin/node --import file:///w/node_modules/tsx/dist/loader.mjs app.ts'),
      ];
      const r = classifyRoles(ps, 10);
      assert.equal(r.servicePid, 13, tsx);
      assert.deepEqual([r.roles.get(10), r.roles.get(11), r.roles.get(12), r.roles.get(13)], ['runner', 'runner', 'runner', 'service'], tsx);
    }
  });

  test('a wrapper that is not node (sh -c, tini, dumb-init) in front of the service is a runner', () => {
    for (const cmd of ['sh -c node service.js', 'tini -- node service.js', 'dumb-init node service.js']) {
      const r = classifyRoles([proc(10, 1, cmd, false), proc(11, 10, 'node service.js')], 10);
      assert.equal(r.servicePid, 11, cmd);
      assert.deepEqual(
        [...r.roles].sort(),
        [
          [10, 'runner'],
          [11, 'service'],
        ],
        cmd,
      );
    }
  });

  test('a service started directly has no runner, even when it spawns package CLIs itself', () => {
    const ps = [proc(10, 1, 'node server.js'), proc(11, 10, 'node /w/node_modules/.bin/worker-cli')];
    const r = classifyRoles(ps, 10);
    assert.equal(r.servicePid, 10);
    assert.equal(r.roles.size, 0);
  });

  test('a package CLI with no user-code child is the service itself (next start, a packaged server)', () => {
    const ps = [proc(10, 1, 'node /w/node_modules/next/dist/bin/next start'), proc(11, 10, 'node /w/node_modules/next/dist/server/worker.js')];
    assert.equal(classifyRoles(ps, 10).servicePid, 10);
  });
});

const site = (...files: string[]): Site => {
  const frames = files.map((f, i) => ({ file: f, line: 10 + i, col: 3 }));
  const user = frames.findIndex((f) => !f.file.includes('/node_modules/') && !f.file.startsWith('node:'));
  return { frames, user };
};

describe('leaks', () => {
  const owner = {
    id: 'own1',
    name: 'ioredis Redis',
    package: 'ioredis',
    site: site('/w/node_modules/ioredis/built/Redis.js', '/w/app.js'),
    via: 'reachable' as const,
    path: 'stream',
    release: ['quit', 'disconnect'],
  };
  const sock: HandleInfo = {
    id: 's1',
    type: 'socket',
    label: 'socket 127.0.0.1:5 → 127.0.0.1:6379',
    ref: true,
    createdAt: 5,
    site: site('node:net', '/w/node_modules/ioredis/built/connectors/StandaloneConnector.js'),
    details: { remote: '127.0.0.1:6379' },
    owner,
  };
  const timer: HandleInfo = {
    id: 't1',
    type: 'timeout',
    label: 'setTimeout 5000 ms',
    ref: true,
    createdAt: 6,
    site: site('/w/node_modules/ioredis/built/Redis.js'),
    owner: { ...owner, via: 'method-frame', path: undefined },
  };
  const interval: HandleInfo = { id: 't2', type: 'interval', label: 'setInterval 1000 ms', ref: true, createdAt: 9, site: site('/w/poll.js') };
  const lib: HandleInfo = { id: 't3', type: 'timeout', label: 'setTimeout 100 ms', ref: true, createdAt: 1, site: site('/w/node_modules/x/index.js') };
  const unref: HandleInfo = { id: 't4', type: 'interval', label: 'setInterval 10 ms', ref: false, createdAt: 2, site: site('/w/app.js') };

  test("an owner's handles are one leak, named by the owner, at the user's line that created it, with the releasing call", () => {
    const ls = groupLeaks(42, [lib, sock, interval, timer, unref]);
    assert.deepEqual(
      ls.map((l) => [l.title, l.site && `${l.site.file}:${l.site.line}`, l.count, l.inUserCode]),
      [
        ['ioredis Redis (connected to 127.0.0.1:6379)', '/w/app.js:11', 2, true],
        ['setInterval 1000 ms', '/w/poll.js:10', 1, true],
        ['setTimeout 100 ms', '/w/node_modules/x/index.js:10', 1, false],
      ],
    );
    assert.equal(ls[0].fix, 'call quit() (or disconnect()) on it on shutdown');
    assert.equal(ls[1].fix, 'clearInterval() it on shutdown');
    assert.ok(ls.every((l) => l.pid === 42));
  });

  test("a server's open connections are one leak; upgraded ones are WebSockets, with advice that closes them", () => {
    const conn = (id: string, upgraded: boolean): HandleInfo => ({ id, type: 'socket', label: `connection ${id}`, ref: true, details: { accepted: true, local: '127.0.0.1:3000', upgraded } });
    const [l] = groupLeaks(1, [conn('a', true), conn('b', true)]);
    assert.equal(l.title, '2 open WebSocket connections to 127.0.0.1:3000');
    assert.match(l.fix!, /terminate the WebSocket clients/);
    assert.match(fixFor(conn('c', false)), /closeIdleConnections/);
  });
});
