/**
 * A service compiled by tsc (with .map files) and run as `node dist/server.js`, through the real
 * CLI: the leak is reported at its line in src/cache.ts whether or not node ran with
 * --enable-source-maps, and the compiled position that ran is kept beside it.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTraced, eventsOf, node, ROOT, FIXTURES, type TracedOutcome } from './helpers';
import { leakFrame, formatFrame } from '../../src/shared/frames';
import type { HandleInfo } from '../../src/shared/wire';

const SRC = path.join(FIXTURES, 'sourcemapped', 'src');
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const LEAK_LINE =
  fs
    .readFileSync(path.join(SRC, 'cache.ts'), 'utf8')
    .split('\n')
    .findIndex((l) => l.includes('// LEAK')) + 1;

let dir: string;

before(async () => {
  // A project as users have it: src/ beside the tsc output in dist/.
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-sourcemapped-'));
  fs.cpSync(SRC, path.join(dir, 'src'), { recursive: true });
  await promisify(execFile)(
    process.execPath,
    [
      TSC,
      '--outDir',
      'dist',
      '--rootDir',
      'src',
      '--sourceMap',
      '--target',
      'es2022',
      '--module',
      'commonjs',
      '--strict',
      '--skipLibCheck',
      '--types',
      'node',
      '--typeRoots',
      path.join(ROOT, 'node_modules', '@types'),
      'src/server.ts',
    ],
    { cwd: dir },
  );
});

after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The leaked interval, as the analysis reports it. */
function leakedInterval(r: TracedOutcome): HandleInfo {
  const handles = (r.trace.analysis?.findings ?? []).flatMap((f) => f.handles ?? []);
  const h = handles.find((x) => x.type === 'interval');
  assert.ok(h, `a leaked interval among ${handles.map((x) => x.label).join(', ')}`);
  return h;
}

describe('compiled TypeScript with .map files', { concurrency: 2 }, () => {
  test('node dist/server.js: the leak at src/cache.ts, mapped by the launcher, the compiled line kept', async () => {
    const compiled =
      fs
        .readFileSync(path.join(dir, 'dist', 'cache.js'), 'utf8')
        .split('\n')
        .findIndex((l) => l.includes('// LEAK')) + 1;
    assert.notEqual(compiled, LEAK_LINE, 'tsc moved the line, so mapping is needed');
    const r = await runTraced(node('dist/server.js'), { cwd: dir });
    assert.equal(r.trace.analysis!.exitReason, 'killed-at-deadline');
    const frame = leakFrame(leakedInterval(r))!;
    assert.equal(formatFrame(frame, dir), `src/cache.ts:${LEAK_LINE}:5`);
    assert.equal(frame.generated?.file, path.join(dir, 'dist', 'cache.js'));
    assert.equal(frame.generated?.line, compiled);
    // The listener's site too, so the phase is named after the .ts line.
    const phases = r.trace.analysis!.phases.map((p) => p.name);
    assert.ok(
      phases.some((n) => /^SIGTERM listener \(src\/server\.ts:12:\d+\)$/.test(n)),
      `listener phase at its .ts line: ${phases}`,
    );
    const listen = eventsOf(r.trace, 'listen')[0];
    assert.equal(formatFrame(listen.site!.frames[listen.site!.user], dir).replace(/:\d+$/, ''), 'src/server.ts:10');
    // The verdict names the .ts line as well.
    assert.match(r.trace.analysis!.verdict, new RegExp(`src/cache\\.ts:${LEAK_LINE}:5`));
  });

  test('node --enable-source-maps dist/server.js: node mapped it already; the same line, nothing mapped twice', async () => {
    const r = await runTraced(node('--enable-source-maps', 'dist/server.js'), { cwd: dir });
    assert.equal(r.trace.analysis!.exitReason, 'killed-at-deadline');
    const frame = leakFrame(leakedInterval(r))!;
    assert.equal(formatFrame(frame, dir), `src/cache.ts:${LEAK_LINE}:5`);
    assert.equal(frame.generated, undefined, 'already original in the stack: left as node reported it');
    assert.match(r.trace.analysis!.verdict, new RegExp(`src/cache\\.ts:${LEAK_LINE}:5`));
  });
});
