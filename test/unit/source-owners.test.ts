/**
 * Owners read from the user's source for handles that a package made with no user line on
 * their stack: the one call of that package in the user's files, or nothing.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { attributeFromSource } from '../../src/core/source-owners';
import type { Trace } from '../../src/shared/trace';
import type { HandleInfo } from '../../src/shared/wire';

function project(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-src-owners-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

/** A trace whose main file shows in one event's site, and one snapshot of `handles`. */
function traceOf(dir: string, main: string, handles: HandleInfo[]): Trace {
  const site = { frames: [{ fn: 'Object.<anonymous>', file: path.join(dir, main), line: 1, col: 1 }], user: 0 };
  return {
    events: [
      { kind: 'signal-listener-added', t: 1, pid: 1, signal: 'SIGTERM', site },
      { kind: 'snapshot', t: 2, pid: 1, reason: 'deadline', handles, unidentified: [] },
    ],
  } as unknown as Trace;
}

function libSocket(dir: string, pkg: string): HandleInfo {
  return {
    id: `s-${pkg}`,
    type: 'socket',
    label: 'socket 127.0.0.1:1 → 127.0.0.1:5432',
    ref: true,
    site: { frames: [{ fn: 'connect', file: path.join(dir, 'node_modules', pkg, 'src', 'connection.js'), line: 354, col: 12 }], user: 0 },
  };
}

describe('owners from the source', () => {
  test("an ES module's one call of the package, through an import the entry file makes: the owner at that call, named by it", () => {
    const dir = project({
      'server.mjs': "import { sql } from './db.js';\n",
      'db.ts':
        "import postgres from 'postgres';\nimport type { Sql } from 'postgres';\n/* postgres() in a comment */ const s = 'postgres(' + `postgres(`;\nexport const sql: Sql = postgres(process.env.DATABASE_URL);\n",
    });
    const h = libSocket(dir, 'postgres');
    attributeFromSource(traceOf(dir, 'server.mjs', [h]));
    assert.equal(h.owner?.via, 'source');
    assert.equal(h.owner?.name, 'postgres()');
    assert.deepEqual(h.owner?.site?.frames[0], { fn: 'postgres', file: path.join(dir, 'db.ts'), line: 4, col: 25 });
  });

  test('new of a named import, and a namespace member call of a require, are calls of the package', () => {
    const dir = project({
      'a.js': "const { Cron: Job } = require('croner');\nconst grpc = require('@grpc/grpc-js');\nconst job = new Job('* * * * *');\nconst s = new grpc.Server();\n",
    });
    const cron = libSocket(dir, 'croner');
    const grpc = libSocket(dir, '@grpc/grpc-js');
    attributeFromSource(traceOf(dir, 'a.js', [cron, grpc]));
    assert.equal(cron.owner?.name, 'croner Job');
    assert.equal(cron.owner?.site?.frames[0].line, 3);
    assert.equal(grpc.owner?.name, '@grpc/grpc-js grpc.Server');
    assert.equal(grpc.owner?.site?.frames[0].line, 4);
  });

  test('two calls of the package: no owner (the tool does not guess)', () => {
    const dir = project({ 'a.mjs': "import postgres from 'postgres';\nconst a = postgres('x');\nconst b = postgres(`y ${postgres}`);\n" });
    const h = libSocket(dir, 'postgres');
    attributeFromSource(traceOf(dir, 'a.mjs', [h]));
    assert.equal(h.owner, undefined);
  });

  test('a handle with a user frame, one already owned, or an unref one is left as it is', () => {
    const dir = project({ 'a.mjs': "import postgres from 'postgres';\nconst sql = postgres('x');\n" });
    const withUser = libSocket(dir, 'postgres');
    withUser.site!.frames.push({ fn: 'main', file: path.join(dir, 'a.mjs'), line: 2, col: 13 });
    const owned = { ...libSocket(dir, 'postgres'), owner: { id: 'own1', name: 'x', via: 'reachable' as const } };
    const unref = { ...libSocket(dir, 'postgres'), ref: false };
    attributeFromSource(traceOf(dir, 'a.mjs', [withUser, owned, unref]));
    assert.equal(withUser.owner, undefined);
    assert.equal(owned.owner.id, 'own1');
    assert.equal(unref.owner, undefined);
  });

  test('files that do not exist, or a package the source never names: no owner, no throw', () => {
    const dir = project({ 'a.mjs': "import pg from 'pg';\n" });
    const h = libSocket(dir, 'postgres');
    attributeFromSource(traceOf(path.join(dir, 'gone'), 'a.mjs', [h]));
    attributeFromSource(traceOf(dir, 'a.mjs', [h]));
    assert.equal(h.owner, undefined);
  });
});
