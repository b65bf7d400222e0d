/**
 * Source maps applied after the run: a tiny TypeScript file compiled for real by
 * tsc and esbuild (external and inline maps), run in a real child process for real stack
 * positions, then mapped by the launcher's mapper. Node's own --enable-source-maps is the
 * reference for every position.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { SourceMapper, mapTraceSourcePositions, userIndex, MAX_SOURCEMAP_BYTES } from '../../src/core/sourcemap';
import { parseStack } from '../../src/preload/site';
import type { Frame, Site } from '../../src/shared/frames';
import type { Trace } from '../../src/shared/trace';

const ROOT = path.resolve(__dirname, '..', '..');
const execFileAsync = promisify(execFile);
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const TSX_LOADER = pathToFileURL(path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

// Types and interfaces tsc strips, so compiled lines differ from the original ones.
const CACHE_TS = `// A cache whose stack is taken at a known line.
export interface Entry {
  value: string;
  at: number;
}

type Key = string;

export class Cache {
  private entries = new Map<Key, Entry>();

  where(): string {
    return new Error('here').stack!; // WHERE
  }
}

export function lookup(): string {
  const c: Cache = new Cache();
  return c.where(); // LOOKUP
}
`;
const MAIN_TS = `import { lookup } from './cache';
process.stdout.write(lookup()); // MAIN
`;

let dir: string;
const lineOf = (src: string, marker: string) => src.split('\n').findIndex((l) => l.includes(marker)) + 1;

function stackOf(file: string, flags: string[] = []): string {
  return execFileSync(process.execPath, [...flags, file], { encoding: 'utf8' });
}

/** The real preload parser, as it builds a Site from a stack. */
function siteOf(stack: string): Site {
  return parseStack(stack, '/nonexistent/preload.js');
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v));
}

const pos = (f: Frame) => `${f.file}:${f.line}:${f.col}`;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-sourcemap-'));
  fs.mkdirSync(path.join(dir, 'src'));
  fs.writeFileSync(path.join(dir, 'src', 'cache.ts'), CACHE_TS);
  fs.writeFileSync(path.join(dir, 'src', 'main.ts'), MAIN_TS);
  const tsc = (out: string, mapFlag: string) =>
    execFileAsync(
      process.execPath,
      [
        TSC,
        '--outDir',
        out,
        '--rootDir',
        'src',
        mapFlag,
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
        'src/main.ts',
      ],
      { cwd: dir },
    );
  await Promise.all([tsc('tsc-ext', '--sourceMap'), tsc('tsc-inline', '--inlineSourceMap')]);
  const bundle = (outfile: string, sourcemap: 'linked' | 'external' | 'inline', format: 'cjs' | 'esm') =>
    esbuild.buildSync({ entryPoints: [path.join(dir, 'src', 'main.ts')], bundle: true, platform: 'node', format, sourcemap, outfile: path.join(dir, outfile), logLevel: 'silent' });
  bundle('esb-ext/main.js', 'linked', 'cjs');
  // A .map file but no comment pointing at it: node would not use it either.
  bundle('esb-nocomment/main.js', 'external', 'cjs');
  bundle('esb-inline/main.mjs', 'inline', 'esm');
});

after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('source maps from compiled output', () => {
  const cases = [
    { name: 'tsc, external .map files', main: 'tsc-ext/main.js', cacheJs: 'tsc-ext/cache.js' },
    { name: 'tsc, inline data: maps', main: 'tsc-inline/main.js', cacheJs: 'tsc-inline/cache.js' },
    { name: 'esbuild bundle, external map', main: 'esb-ext/main.js', cacheJs: 'esb-ext/main.js' },
    { name: 'esbuild ESM bundle, inline map (file:// stack frames)', main: 'esb-inline/main.mjs', cacheJs: 'esb-inline/main.mjs' },
  ];
  for (const c of cases) {
    test(`${c.name}: exact original lines, the compiled position kept`, () => {
      const main = path.join(dir, c.main);
      const stack = stackOf(main);
      const site = siteOf(stack);
      const before = clone(site);
      assert.equal(before.frames[0].file, path.join(dir, c.cacheJs), 'the stack really is in compiled code');

      const mapper = new SourceMapper();
      assert.equal(mapper.mapSite(site), true);
      const cacheTs = path.join(dir, 'src', 'cache.ts');
      const mainTs = path.join(dir, 'src', 'main.ts');
      // The three user frames: where() → lookup() → main.
      assert.equal(site.frames[0].file, cacheTs);
      assert.equal(site.frames[0].line, lineOf(CACHE_TS, '// WHERE'));
      assert.equal(site.frames[1].file, cacheTs);
      assert.equal(site.frames[1].line, lineOf(CACHE_TS, '// LOOKUP'));
      assert.equal(site.frames[2].file, mainTs);
      assert.equal(site.frames[2].line, lineOf(MAIN_TS, '// MAIN'));
      for (let i = 0; i < 3; i++) {
        const b = before.frames[i];
        assert.deepEqual(site.frames[i].generated, { file: b.file, line: b.line, col: b.col }, `frame ${i} keeps its compiled position`);
        assert.equal(site.frames[i].fn, b.fn, 'function names are left as V8 reported them');
      }
      // Node internals are left alone.
      for (let i = 3; i < site.frames.length; i++) assert.deepEqual(site.frames[i], before.frames[i]);
      assert.equal(site.user, 0);

      // Exactly what node itself reports with --enable-source-maps, column included.
      const reference = siteOf(stackOf(main, ['--enable-source-maps']));
      assert.deepEqual(site.frames.slice(0, 3).map(pos), reference.frames.slice(0, 3).map(pos));

      // Error stack text is mapped the same way.
      const text = new SourceMapper().mapStack(stack);
      assert.deepEqual(siteOf(text).frames.slice(0, 3).map(pos), reference.frames.slice(0, 3).map(pos));
    });
  }

  test('frames already original are never mapped twice: --enable-source-maps output, a .ts run under tsx, a frame mapped before', () => {
    const mapped = siteOf(stackOf(path.join(dir, 'tsc-ext/main.js'), ['--enable-source-maps']));
    assert.equal(mapped.frames[0].file, path.join(dir, 'src', 'cache.ts'));
    const before = clone(mapped);
    const mapper = new SourceMapper();
    assert.equal(mapper.mapSite(mapped), false);
    assert.deepEqual(mapped, before);

    const tsx = siteOf(execFileSync(process.execPath, ['--import', TSX_LOADER, 'src/main.ts'], { cwd: dir, encoding: 'utf8' }));
    assert.equal(tsx.frames[0].file, path.join(dir, 'src', 'cache.ts'));
    const tsxBefore = clone(tsx);
    assert.equal(mapper.mapSite(tsx), false);
    assert.deepEqual(tsx, tsxBefore);

    // Mapping the same site again (or a trace twice) changes nothing more.
    const site = siteOf(stackOf(path.join(dir, 'tsc-ext/main.js')));
    assert.equal(mapper.mapSite(site), true);
    const once = clone(site);
    assert.equal(mapper.mapSite(site), false);
    assert.deepEqual(site, once);
  });

  test('a frame in a file without a map (or without the comment naming one) is unchanged', () => {
    const plain = path.join(dir, 'plain.js');
    fs.writeFileSync(plain, 'process.stdout.write(new Error("x").stack);\n');
    for (const file of [plain, path.join(dir, 'esb-nocomment', 'main.js')]) {
      assert.ok(!fs.readFileSync(file, 'utf8').includes('sourceMappingURL'));
      const site = siteOf(stackOf(file));
      const before = clone(site);
      assert.equal(new SourceMapper().mapSite(site), false, file);
      assert.deepEqual(site, before);
    }
    assert.ok(fs.existsSync(path.join(dir, 'esb-nocomment', 'main.js.map')));
  });

  test('broken, missing, oversized and foreign maps are ignored without throwing', () => {
    const bad = path.join(dir, 'bad');
    fs.mkdirSync(bad);
    const compiled = (name: string, comment: string) => {
      const f = path.join(bad, name);
      fs.writeFileSync(f, `"use strict";\nexports.x = 1;\n${comment}\n`);
      return f;
    };
    const files = [
      compiled('not-json.js', '//# sourceMappingURL=not-json.js.map'),
      compiled('no-mappings.js', '//# sourceMappingURL=no-mappings.js.map'),
      compiled('garbage-mappings.js', '//# sourceMappingURL=garbage-mappings.js.map'),
      compiled('missing.js', '//# sourceMappingURL=missing.js.map'),
      compiled('huge.js', '//# sourceMappingURL=huge.js.map'),
      compiled('http.js', '//# sourceMappingURL=https://example.invalid/x.js.map'),
      compiled('bad-data.js', '//# sourceMappingURL=data:application/json;base64,!!!not-base64-json'),
      compiled('webpack.js', '//# sourceMappingURL=webpack.js.map'),
    ];
    fs.writeFileSync(path.join(bad, 'not-json.js.map'), '{"version":3, "sources": [');
    fs.writeFileSync(path.join(bad, 'no-mappings.js.map'), '{"version":3}');
    fs.writeFileSync(path.join(bad, 'garbage-mappings.js.map'), JSON.stringify({ version: 3, sources: ['a.ts'], names: [], mappings: '!!!;;;' }));
    // Over the size limit: never read (a sparse file, so the test stays cheap).
    const huge = path.join(bad, 'huge.js.map');
    fs.writeFileSync(huge, JSON.stringify({ version: 3, sources: ['a.ts'], names: [], mappings: 'AAAA;AACA' }));
    fs.truncateSync(huge, MAX_SOURCEMAP_BYTES + 1);
    // Sources that are not files: left as they ran.
    fs.writeFileSync(path.join(bad, 'webpack.js.map'), JSON.stringify({ version: 3, sources: ['webpack://app/./src/a.ts'], names: [], mappings: 'AAAA;AACA' }));
    const site: Site = { frames: files.map((file) => ({ fn: 'f', file, line: 2, col: 1 })), user: 0 };
    const before = clone(site);
    const mapper = new SourceMapper();
    assert.doesNotThrow(() => mapper.mapSite(site));
    assert.deepEqual(site, before);
    assert.equal(mapper.stats.mapped, 0);
  });

  test("node_modules frames stay library frames; the user frame is still the user's first frame", () => {
    // A library compiled with its map: mapped inside its own package, or left alone when its map
    // points out of node_modules (the author's paths), which would pass it off as user code.
    const pkg = path.join(dir, 'node_modules', 'lib');
    fs.mkdirSync(path.join(pkg, 'dist'), { recursive: true });
    fs.writeFileSync(path.join(pkg, 'dist', 'inside.js'), '"use strict";\nexports.x = 1;\n//# sourceMappingURL=inside.js.map\n');
    fs.writeFileSync(path.join(pkg, 'dist', 'inside.js.map'), JSON.stringify({ version: 3, sources: ['../src/inside.ts'], names: [], mappings: 'AAAA;AAEA' }));
    fs.writeFileSync(path.join(pkg, 'dist', 'escape.js'), '"use strict";\nexports.x = 1;\n//# sourceMappingURL=escape.js.map\n');
    fs.writeFileSync(path.join(pkg, 'dist', 'escape.js.map'), JSON.stringify({ version: 3, sources: ['../../../../author/src/escape.ts'], names: [], mappings: 'AAAA;AAEA' }));
    const user = siteOf(stackOf(path.join(dir, 'tsc-ext/main.js')));
    const site: Site = {
      frames: [
        { fn: 'internal', file: 'node:internal/timers', line: 1, col: 1 },
        { fn: 'inside', file: path.join(pkg, 'dist', 'inside.js'), line: 2, col: 1 },
        { fn: 'escape', file: path.join(pkg, 'dist', 'escape.js'), line: 2, col: 1 },
        ...user.frames,
      ],
      user: 3,
    };
    new SourceMapper().mapSite(site);
    assert.equal(site.frames[1].file, path.join(pkg, 'src', 'inside.ts'));
    assert.equal(site.frames[1].line, 3);
    assert.equal(site.frames[2].file, path.join(pkg, 'dist', 'escape.js'), 'not mapped out of node_modules');
    assert.equal(site.frames[2].generated, undefined);
    assert.equal(site.user, 3);
    assert.equal(site.frames[3].file, path.join(dir, 'src', 'cache.ts'));

    // The preload's rule, over original files.
    assert.equal(
      userIndex([
        { file: 'node:x', line: 1, col: 1 },
        { file: '/a/node_modules/b/src/c.ts', line: 1, col: 1 },
      ]),
      1,
    );
    assert.equal(
      userIndex([
        { file: '/a/node_modules/b/src/c.ts', line: 1, col: 1 },
        { file: '/a/src/d.ts', line: 1, col: 1 },
      ]),
      1,
    );
    assert.equal(userIndex([{ file: 'node:x', line: 1, col: 1 }]), -1);
  });

  test('large compiled files: the comment found in the tail, or across an inline map bigger than the tail', () => {
    const ext = path.join(dir, 'tsc-ext');
    const js = fs.readFileSync(path.join(ext, 'cache.js'), 'utf8').replace(/\/\/# sourceMappingURL=.*$/m, '');
    const map = JSON.parse(fs.readFileSync(path.join(ext, 'cache.js.map'), 'utf8'));
    const original = siteOf(stackOf(path.join(ext, 'main.js')));
    new SourceMapper().mapSite(original);
    // 200 kB of code after the mapped lines, then a comment naming the external map.
    const tail = path.join(ext, 'cache-big.js');
    fs.writeFileSync(tail, `${js}// ${'x'.repeat(200_000)}\n//# sourceMappingURL=cache.js.map\n`);
    // An inline map of 300 kB (its sourcesContent): the comment starts well before the last 64 kB.
    const inline = path.join(ext, 'cache-big-inline.js');
    const big = { ...map, sources: ['../src/cache.ts'], sourcesContent: ['y'.repeat(300_000)] };
    fs.writeFileSync(inline, `${js}//# sourceMappingURL=data:application/json;charset=utf-8;base64,${Buffer.from(JSON.stringify(big)).toString('base64')}\n`);
    for (const file of [tail, inline]) {
      const frame: Frame = { file, ...pick(original.frames[0].generated!) };
      assert.equal(new SourceMapper().mapFrame(frame), true, file);
      assert.equal(pos(frame), pos(original.frames[0]));
      assert.equal(frame.generated?.file, file);
    }
  });

  test('sourceRoot and file:// sources resolve to the same original file', () => {
    const ext = path.join(dir, 'tsc-ext');
    const map = JSON.parse(fs.readFileSync(path.join(ext, 'cache.js.map'), 'utf8'));
    // Each map sits in maps/ below the compiled file: relative sources resolve against the map's own location.
    const variants: Record<string, object> = {
      'root-relative': { ...map, sourceRoot: '../../src', sources: ['cache.ts'] },
      'root-slash': { ...map, sourceRoot: '../../src/', sources: ['cache.ts'] },
      'file-url': { ...map, sourceRoot: '', sources: [pathToFileURL(path.join(dir, 'src', 'cache.ts')).href] },
      'root-file-url': { ...map, sourceRoot: pathToFileURL(path.join(dir, 'src')).href, sources: ['cache.ts'] },
      'absolute-path': { ...map, sourceRoot: '', sources: [path.join(dir, 'src', 'cache.ts')] },
    };
    const js = fs.readFileSync(path.join(ext, 'cache.js'), 'utf8').replace(/\/\/# sourceMappingURL=.*$/m, '');
    const original = siteOf(stackOf(path.join(ext, 'main.js')));
    new SourceMapper().mapSite(original);
    for (const [name, m] of Object.entries(variants)) {
      const out = path.join(dir, `variant-${name}`);
      fs.mkdirSync(path.join(out, 'maps'), { recursive: true });
      const file = path.join(out, 'cache.js');
      fs.writeFileSync(file, `${js}//# sourceMappingURL=maps/cache.js.map\n`);
      fs.writeFileSync(path.join(out, 'maps', 'cache.js.map'), JSON.stringify(m));
      const frame: Frame = { file, ...pick(original.frames[0].generated!) };
      assert.equal(new SourceMapper().mapFrame(frame), true, name);
      assert.equal(pos(frame), pos(original.frames[0]), name);
    }
  });

  test('a whole trace: every site wherever it sits (events, handles, owners, snapshots, unknown kinds) and error stacks', () => {
    const stack = stackOf(path.join(dir, 'tsc-ext/main.js'));
    const s = () => siteOf(stack);
    const handle = (id: string) => ({ id, type: 'interval', label: 'setInterval', ref: true, site: s(), owner: { id: 'o1', name: 'lib Thing', via: 'reachable', site: s() } });
    const trace = {
      events: [
        { kind: 'listener-start', t: 1, pid: 1, id: 'l1', signal: 'SIGTERM', site: s() },
        { kind: 'listen', t: 1, pid: 1, server: 's1', proto: 'http', address: '127.0.0.1:1', site: s() },
        { kind: 'server-close', t: 1, pid: 1, server: 's1', site: s(), connections: 0, active: 0, inFlight: 0 },
        { kind: 'exit-call', t: 1, pid: 1, code: 0, site: s() },
        { kind: 'spawn', t: 1, pid: 1, childPid: 2, command: 'x', site: s() },
        { kind: 'error', t: 1, pid: 1, origin: 'uncaughtException', message: 'here', stack, site: s() },
        { kind: 'handle-open', t: 1, pid: 1, handle: handle('h1') },
        { kind: 'snapshot', t: 1, pid: 1, reason: 'stalled', handles: [handle('h1'), handle('h2')], unidentified: [] },
        { kind: 'some-future-kind', t: 1, pid: 1, deep: { nested: [{ site: s() }] } },
        { kind: 'note', t: 1, pid: 0, text: 'no sites here' },
      ],
    } as unknown as Trace;
    const stats = mapTraceSourcePositions(trace);
    const sites: Site[] = [];
    const collect = (v: any): void => {
      if (!v || typeof v !== 'object') return;
      if (Array.isArray(v.frames)) sites.push(v);
      else for (const k in v) collect(v[k]);
    };
    collect(trace.events);
    assert.equal(sites.length, 6 + 2 + 4 + 1);
    const cacheTs = path.join(dir, 'src', 'cache.ts');
    for (const site of sites) {
      assert.equal(site.frames[site.user].file, cacheTs);
      assert.equal(site.frames[site.user].line, lineOf(CACHE_TS, '// WHERE'));
      assert.equal(site.frames[site.user].generated?.file, path.join(dir, 'tsc-ext', 'cache.js'));
    }
    const err = trace.events[5] as any;
    assert.match(err.stack, new RegExp(`at Cache\\.where \\(${escape(cacheTs)}:${lineOf(CACHE_TS, '// WHERE')}:\\d+\\)`));
    assert.equal(stats.mapped, sites.length * 3);
    assert.equal(stats.maps, 2, 'cache.js and main.js, each map read once');
    assert.equal(stats.stacks, 1);
  });

  test('cost: a trace of many sites over a few compiled files', (t) => {
    const site = siteOf(stackOf(path.join(dir, 'tsc-ext/main.js')));
    const N = 5000;
    const events = Array.from({ length: N }, (_, i) => ({ kind: 'handle-open', t: i, pid: 1, handle: { id: `h${i}`, type: 'timeout', label: 't', ref: true, site: clone(site) } }));
    const trace = { events } as unknown as Trace;
    const stats = mapTraceSourcePositions(trace);
    assert.equal(stats.frames, N * site.frames.length);
    assert.equal(stats.mapped, N * 3);
    t.diagnostic(`${stats.frames} frames (${stats.mapped} mapped, ${stats.maps} maps) in ${stats.ms.toFixed(1)} ms`);
    assert.ok(stats.ms < 5000, `${stats.ms} ms`);
  });
});

function pick(g: { line: number; col: number }): { line: number; col: number } {
  return { line: g.line, col: g.col };
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
