/**
 * The preload bundle's shape, which its start-up cost depends on: its modules are joined in
 * one scope, with no namespace object copied per module (esbuild emits those for `import * as`),
 * and the ws client stays text until the preload connects.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './helpers';

test('dist/preload.js: no namespace copies, and the ws client carried as text', () => {
  const lines = fs.readFileSync(path.join(ROOT, 'dist', 'preload.js'), 'utf8').split('\n');
  // The ws client's source is one string literal line; everything else is the preload's own code.
  const text = lines.filter((l) => /^\s*module2\.exports = "/.test(l) || /^\s*module2\.exports = '/.test(l));
  assert.equal(text.length, 1, 'the ws client source is one string');
  const code = lines.filter((l) => !text.includes(l)).join('\n');
  assert.doesNotMatch(code, /\b__export\(|\b__toESM\(|\b__reExport\(/);
  assert.doesNotMatch(code, /WebSocket\.prototype|function initAsClient/, 'no ws code outside the text');
  for (const f of fs.readdirSync(path.join(ROOT, 'src', 'preload'))) {
    assert.doesNotMatch(fs.readFileSync(path.join(ROOT, 'src', 'preload', f), 'utf8'), /^import \* as /m, `src/preload/${f}: \`import x = require()\`, not \`import * as\``);
  }
});
