import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, formatOffset, parseDuration } from '../../src/shared/duration';
import { relativePath, formatFrameLine } from '../../src/shared/frames';
import { formatBytes, formatSite, userFrames, formatExit, describePlan, truncate } from '../../src/core/format';
import type { Site } from '../../src/shared/frames';
import { loadFixture } from './traces/load';

describe('formatDuration', () => {
  const cases: [number | undefined, string][] = [
    [0, '0 ms'],
    [0.42, '0.42 ms'],
    [2.5, '2.5 ms'],
    [3, '3 ms'],
    [512, '512 ms'],
    [999.4, '999 ms'],
    [999.6, '1 s'],
    [2310, '2.31 s'],
    [9994, '9.99 s'],
    [9996, '10 s'],
    [1500, '1.5 s'],
    [12_345, '12.3 s'],
    [30_000, '30 s'],
    [59_940, '59.9 s'],
    [59_960, '1 min 00 s'],
    [125_000, '2 min 05 s'],
    [3_725_000, '1 h 02 min'],
    [-250, '-250 ms'],
    [undefined, '–'],
    [NaN, '–'],
    [Infinity, '–'],
  ];
  for (const [ms, want] of cases) test(`${ms} → ${want}`, () => assert.equal(formatDuration(ms), want));
  test('two significant digits for headlines', () => {
    assert.deepEqual(
      [347, 1528, 2500, 9960, 45_200].map((ms) => formatDuration(ms, 2)),
      ['347 ms', '1.5 s', '2.5 s', '10 s', '45 s'],
    );
  });
  test('offsets carry a sign', () => {
    assert.equal(formatOffset(400), '+400 ms');
    assert.equal(formatOffset(5421), '+5.42 s');
    assert.equal(formatOffset(-3), '-3 ms');
    assert.equal(formatOffset(undefined), '–');
  });
});

describe('parseDuration: the one grammar of CLI flags and extension settings', () => {
  const cases: [string, number | undefined][] = [
    ['1500', 1500],
    ['1500ms', 1500],
    ['1.5s', 1500],
    ['45 S', 45_000],
    ['1m', 60_000],
    ['2.5m', 150_000],
    [' 250 ms ', 250],
    ['0', 0],
    ['', undefined],
    ['-5s', undefined],
    ['5h', undefined],
    ['1m30s', undefined],
    ['s', undefined],
  ];
  for (const [text, want] of cases) test(`${JSON.stringify(text)} → ${want}`, () => assert.equal(parseDuration(text), want));
});

describe('formatBytes', () => {
  const cases: [number, string][] = [
    [0, '0 B'],
    [512, '512 B'],
    [1023, '1023 B'],
    [1024, '1 KiB'],
    [1536, '1.5 KiB'],
    [20 * 1024 * 1024, '20 MiB'],
    [1024 * 1024 - 1, '1 MiB'],
    [3.25 * 1024 ** 3, '3.3 GiB'],
    [-2048, '-2 KiB'],
  ];
  for (const [n, want] of cases) test(`${n} → ${want}`, () => assert.equal(formatBytes(n), want));
});

describe('relativePath', () => {
  test('inside cwd becomes relative; outside stays as it is', () => {
    assert.equal(relativePath('/home/dev/app/src/server.ts', '/home/dev/app'), 'src/server.ts');
    assert.equal(relativePath('/home/dev/app/src/server.ts', '/home/dev/app/'), 'src/server.ts');
    assert.equal(relativePath('/home/dev/app', '/home/dev/app'), '.');
    assert.equal(relativePath('/home/dev/application/x.js', '/home/dev/app'), '/home/dev/application/x.js', 'a sibling with a common prefix is not inside');
    assert.equal(relativePath('/opt/lib/x.js', '/home/dev/app'), '/opt/lib/x.js');
    assert.equal(relativePath('node:internal/timers', '/home/dev/app'), 'node:internal/timers');
    assert.equal(relativePath('src/a.ts'), 'src/a.ts');
  });
  test('file URLs and Windows paths', () => {
    assert.equal(relativePath('file:///home/dev/app/dist/main.mjs', '/home/dev/app'), 'dist/main.mjs');
    assert.equal(relativePath('file:///home/dev/my%20app/a.mjs', '/home/dev/my app'), 'a.mjs');
    assert.equal(relativePath('C:\\Users\\dev\\app\\src\\a.ts', 'c:\\users\\dev\\app'), 'src/a.ts');
    assert.equal(relativePath('file:///C:/Users/dev/app/a.mjs', 'C:\\Users\\dev\\app'), 'a.mjs');
  });
});

describe('sites and frames', () => {
  const site: Site = {
    frames: [
      { fn: 'setInterval', file: 'node:timers', line: 235, col: 10 },
      { fn: 'startMetrics', file: '/app/src/metrics.ts', line: 12, col: 3 },
      { fn: 'wrap', file: '/app/node_modules/lib/index.js', line: 1, col: 1 },
      { file: '/app/src/main.ts', line: 40, col: 5 },
      { fn: 'Module._compile', file: 'node:internal/modules/cjs/loader', line: 1554, col: 14 },
    ],
    user: 1,
  };
  test('the site is its first user frame, relative to cwd', () => {
    assert.equal(formatSite(site, '/app'), 'src/metrics.ts:12:3');
    assert.equal(formatSite({ frames: site.frames, user: -1 }, '/app'), 'node:timers:235:10');
    assert.equal(formatSite(undefined), 'unknown site');
    assert.equal(formatSite({ frames: [], user: -1 }), 'unknown site');
  });
  test('user frames skip internals after the first user frame', () => {
    assert.deepEqual(
      userFrames(site).map((f) => formatFrameLine(f, '/app')),
      ['at startMetrics (src/metrics.ts:12:3)', 'at src/main.ts:40:5'],
    );
    assert.equal(userFrames(site, 1).length, 1);
    assert.deepEqual(
      userFrames({ frames: site.frames, user: -1 }, 2).map((f) => f.fn),
      ['setInterval', 'startMetrics'],
    );
  });
});

describe('small helpers', () => {
  test('formatExit', () => {
    assert.equal(formatExit({ code: 0, signal: null }), 'exit code 0');
    assert.equal(formatExit({ code: null, signal: 'SIGKILL' }), 'killed by SIGKILL');
    assert.equal(formatExit(undefined), 'still running');
    assert.equal(formatExit(undefined, true), 'ended (exit status not seen)');
  });
  test('describePlan', () => {
    assert.deepEqual(describePlan({ signal: 'SIGINT', when: { mode: 'after', ms: 1500 }, second: { signal: 'SIGINT', afterMs: 300 }, graceMs: 30_000, delivery: 'group' }), [
      'Signal: SIGINT, 1.5 s after spawn',
      'Second signal: SIGINT, 300 ms after the first',
      'Grace period: SIGKILL 30 s after the first signal',
      'Delivery: the whole process group (like Ctrl+C in a terminal)',
    ]);
    assert.deepEqual(describePlan({ signal: 'SIGTERM', when: { mode: 'never' }, graceMs: 5000, delivery: 'main' }), [
      'Signal: none sent by the tool',
      'Delivery: the main process only (like Kubernetes or docker stop)',
    ]);
  });
  test('truncate', () => {
    assert.equal(truncate('abcdef', 10), 'abcdef');
    assert.equal(truncate('abcdef', 4), 'abc…');
  });
});
