/**
 * The preload's V8 code cache (src/preload/loader.ts, src/core/launcher/code-cache.ts), through
 * the launcher with real runs: the first run writes it for the user alone, later runs use it
 * unchanged, and a cache file that is foreign or corrupt never changes what the service does.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FIXTURES, node } from './helpers';
import { startRun } from '../../src/core/launcher';
import { prepareCodeCacheDir } from '../../src/core/launcher/code-cache';
import type { Trace } from '../../src/shared/trace';

const CACHE_NAME = new RegExp(`^preload-[0-9a-f]{16}-[0-9a-f]{8}-${process.version.replace(/\./g, '\\.')}-${process.arch}\\.v8cache$`);

async function tracedRun(codeCacheDir: string): Promise<Trace> {
  const run = await startRun({
    command: node('graceful-http.js'),
    cwd: FIXTURES,
    codeCacheDir,
    plan: { signal: 'SIGTERM', when: { mode: 'listening', delayMs: 50, timeoutMs: 5000 }, graceMs: 3000, delivery: 'main' },
  });
  return run.done;
}

function assertGraceful(trace: Trace): void {
  const main = trace.processes.find((p) => p.isMain)!;
  assert.ok(main.traced, 'the preload reported');
  assert.equal(trace.analysis!.exitReason, 'graceful', trace.analysis!.verdict);
  assert.equal(main.exit?.code, 0);
  assert.deepEqual(trace.analysis!.leaks, []);
  assert.equal(trace.meta.counters.malformedFrames, 0);
}

/** A new cache directory after one traced run: the cache file it wrote, and its bytes. */
async function firstRun(): Promise<{ dir: string; name: string; file: string; valid: Buffer }> {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'st-code-cache-')), 'cache');
  assertGraceful(await tracedRun(dir));
  const name = cacheFiles(dir)[0];
  const file = path.join(dir, name);
  return { dir, name, file, valid: fs.readFileSync(file) };
}

function cacheFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.v8cache') || f.endsWith('.tmp'));
}

describe("the preload's code cache", () => {
  test('the first run writes it, for the user alone; the next run uses it as it is', async () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'st-code-cache-')), 'cache');
    assertGraceful(await tracedRun(dir));
    const files = cacheFiles(dir);
    assert.equal(files.length, 1, `one cache file: ${files}`);
    assert.match(files[0], CACHE_NAME);
    const file = path.join(dir, files[0]);
    const first = fs.statSync(file);
    assert.equal(first.mode & 0o777, 0o600);
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    assert.ok(first.size > 10_000, `holds the compiled preload: ${first.size} bytes`);

    assertGraceful(await tracedRun(dir));
    // Rewritten only when V8 rejected it (or it was missing): the same inode and time say it was used.
    const second = fs.statSync(file);
    assert.deepEqual([second.ino, second.mtimeMs], [first.ino, first.mtimeMs]);
    assert.deepEqual(cacheFiles(dir), files);
  });

  test("a cache file others could write, or another user's, is not run: the service is traced as without one, and the file is replaced", async () => {
    const { dir, name, file, valid } = await firstRun();
    const foreign: [string, (f: string) => void][] = [
      ['group- and world-writable', (f) => fs.chmodSync(f, 0o666)],
      ['group-writable', (f) => fs.chmodSync(f, 0o620)],
    ];
    // Only root can give a file to another user.
    if (process.getuid?.() === 0) foreign.push(["another user's", (f) => fs.chownSync(f, 65534, 65534)]);
    for (const [what, make] of foreign) {
      fs.rmSync(file);
      fs.writeFileSync(file, valid, { mode: 0o600 });
      make(file);
      const before = fs.statSync(file).ino;
      assertGraceful(await tracedRun(dir));
      const st = fs.statSync(file);
      // A cache V8 would have accepted, left alone only if it had been used.
      assert.notEqual(st.ino, before, `${what}: not used, so written anew`);
      assert.deepEqual([st.mode & 0o777, st.uid], [0o600, process.getuid?.()], `${what}: the user's own file now`);
      assert.deepEqual(cacheFiles(dir), [name]);
    }
  });

  test('a corrupt cache file is rejected and replaced, and the service is traced as without one', async () => {
    const { dir, name, file, valid } = await firstRun();
    for (const [what, bytes] of [
      ['garbage', Buffer.alloc(4096, 0x5a)],
      ['truncated', valid.subarray(0, valid.length >> 1)],
      ['empty', Buffer.alloc(0)],
    ] as const) {
      fs.writeFileSync(file, bytes);
      assertGraceful(await tracedRun(dir));
      const now = fs.readFileSync(file);
      assert.ok(now.length > 10_000 && !now.equals(bytes), `${what}: replaced by a whole cache (${now.length} bytes)`);
      assert.deepEqual(cacheFiles(dir), [name]);
    }
  });

  test("two copies of one build (the CLI's and the extension's) keep a cache each: the second's stack frames never carry the first's path", async () => {
    // V8 keeps the script name a cache was made under: a shared file would name the other copy
    // in every frame, and the preload would take its own frames for the user's.
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'st-code-cache-copies-'));
    const dir = path.join(base, 'cache');
    const copies = ['a', 'b'].map((c) => {
      fs.mkdirSync(path.join(base, c));
      const p = path.join(base, c, 'preload.js');
      fs.copyFileSync(path.join(__dirname, '..', '..', 'dist', 'preload.js'), p);
      return p;
    });
    for (const preloadPath of [...copies, ...copies]) {
      const run = await startRun({
        command: node('exit-over-leak.js'),
        cwd: FIXTURES,
        codeCacheDir: dir,
        preloadPath,
        plan: { signal: 'SIGTERM', when: { mode: 'listening', delayMs: 50, timeoutMs: 5000 }, graceMs: 3000, delivery: 'main' },
      });
      const trace = await run.done;
      assert.equal(trace.analysis!.exitReason, 'forced-exit', trace.analysis!.verdict);
      const sites = (trace.analysis!.leaks ?? []).map((l) => (l.site ? `${path.basename(l.site.file)}:${l.site.line}` : '?'));
      assert.deepEqual(sites, ['exit-over-leak.js:5'], `${preloadPath}: ${trace.analysis!.verdict}`);
    }
    assert.equal(cacheFiles(dir).length, 2, `one cache file per copy: ${cacheFiles(dir)}`);
  });

  test('only a directory of the user alone holds it', () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'st-code-cache-'));
    const mine = path.join(base, 'a', 'b');
    assert.equal(prepareCodeCacheDir(mine), mine);
    assert.equal(fs.statSync(mine).mode & 0o777, 0o700);
    assert.equal(prepareCodeCacheDir('relative/dir'), undefined);
    const shared = path.join(base, 'shared');
    fs.mkdirSync(shared);
    fs.chmodSync(shared, 0o777);
    assert.equal(prepareCodeCacheDir(shared), undefined);
    const file = path.join(base, 'file');
    fs.writeFileSync(file, '');
    assert.equal(prepareCodeCacheDir(file), undefined);
  });
});
