/**
 * Stack lines as V8 writes them, read by one parser (src/shared/frames.ts) for the preload's
 * creation sites and the launcher's source mapping alike.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFrameLine } from '../../src/shared/frames';
import { parseStack } from '../../src/preload/site';

test('an anonymous async frame (a top-level await, an async arrow) is a location, not a file named "async …"', () => {
  assert.deepEqual(parseFrameLine('    at async file:///srv/app.mjs:4:16'), { prefix: '    at async ', location: 'file:///srv/app.mjs', line: 4, col: 16, suffix: '' });
  assert.deepEqual(parseFrameLine('    at async /srv/app.cjs:5:18'), { prefix: '    at async ', location: '/srv/app.cjs', line: 5, col: 18, suffix: '' });
  assert.equal(parseFrameLine('    at async Queue.run (/srv/node_modules/q/index.js:1:2)')!.fn, 'async Queue.run');
  assert.deepEqual(parseFrameLine('    at Object.<anonymous> (/a b/(c)/d.js:7:8)'), {
    prefix: '    at Object.<anonymous> (',
    fn: 'Object.<anonymous>',
    location: '/a b/(c)/d.js',
    line: 7,
    col: 8,
    suffix: ')',
  });
  assert.equal(parseFrameLine('Error: boom'), undefined);
  assert.equal(parseFrameLine('    at Array.map (<anonymous>)'), undefined);
});

test('a leak armed after an await in the service: its site is the service file, the first user frame', () => {
  const stack = ['Error', '    at startPolling (/srv/node_modules/fakelib/index.js:3:3)', '    at async file:///srv/app.mjs:4:16'].join('\n');
  const site = parseStack(stack, '/tool/preload.js');
  assert.deepEqual(site.frames[1], { file: '/srv/app.mjs', line: 4, col: 16 });
  assert.equal(site.user, 1);
});
