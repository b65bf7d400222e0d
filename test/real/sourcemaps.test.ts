/**
 * A tsc-compiled TypeScript service run from its output: the leak is reported at its .ts line
 * whether node maps the stack itself (--enable-source-maps) or the tool maps it afterwards,
 * and then the generated position is kept.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Frame } from '../../src/shared/frames';
import { APP, APP_BIN, trace, at, expectLeaks, expectExit, expectVerdictNames, explain } from './helpers';

const PROJECT = path.join(APP, 'tsc-app');
let out = '';

before(() => {
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'st-tsc-app-'));
  execFileSync(path.join(APP_BIN, 'tsc'), ['-p', PROJECT, '--outDir', out], { stdio: 'inherit' });
  assert.ok(fs.existsSync(path.join(out, 'cache.js.map')), 'tsc wrote source maps');
});
after(() => fs.rmSync(out, { recursive: true, force: true }));

const KILLED = { code: null, signal: 'SIGKILL' };

describe('tsc output with source maps', { concurrency: 2 }, () => {
  test('node --enable-source-maps dist/main.js: the timer leak is at src/cache.ts', async () => {
    const r = await trace([process.execPath, '--enable-source-maps', path.join(out, 'main.js')], { cwd: PROJECT });
    expectExit(r, 'killed-at-deadline', KILLED);
    expectLeaks(r, [{ site: at('src/cache.ts', 'setInterval(', PROJECT), owner: null, fix: /\bclearInterval\(\)/ }], PROJECT);
    expectVerdictNames(r.trace, undefined, PROJECT);
  });

  test('node dist/main.js (no flag): mapped after the fact to src/cache.ts, the generated position kept', async () => {
    const r = await trace([process.execPath, path.join(out, 'main.js')], { cwd: PROJECT });
    expectExit(r, 'killed-at-deadline', KILLED);
    const [leak] = expectLeaks(r, [{ site: at('src/cache.ts', 'setInterval(', PROJECT), owner: null, fix: /\bclearInterval\(\)/ }], PROJECT);
    expectVerdictNames(r.trace, undefined, PROJECT);
    const js = fs.readFileSync(path.join(out, 'cache.js'), 'utf8').split('\n');
    const line = js.findIndex((l) => l.includes('setInterval(')) + 1;
    const col = js[line - 1].indexOf('setInterval(') + 1;
    const generated = (leak.site as Frame & { generated?: { file: string; line: number; col: number } }).generated;
    assert.deepEqual(generated, { file: path.join(out, 'cache.js'), line, col }, `the generated position of the mapped frame\n${explain(r.trace, PROJECT)}`);
  });
});
