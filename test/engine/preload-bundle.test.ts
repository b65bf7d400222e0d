/**
 * The preload bundle's shape, which its start-up cost depends on: a small loader that carries the
 * body as text (compiled with V8's code cache); in the body, modules joined in one scope, with no
 * namespace object copied per module (esbuild emits those for `import * as`), and the ws client
 * still text until the preload connects.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './helpers';

/** Splits code into its one-line string literals assigned to module.exports (esbuild's text modules) and the rest. */
function textModules(code: string): { texts: string[]; rest: string } {
  const lines = code.split('\n');
  const literal = /^\s*module\d*\.exports = (["'`].*["'`]);$/;
  const texts = lines.filter((l) => literal.test(l)).map((l) => new Function(`return ${literal.exec(l)![1]}`)() as string);
  return { texts, rest: lines.filter((l) => !literal.test(l)).join('\n') };
}

test('dist/preload.js: a small loader with the body as text; in the body, no namespace copies and the ws client as text', () => {
  const loader = textModules(fs.readFileSync(path.join(ROOT, 'dist', 'preload.js'), 'utf8'));
  assert.equal(loader.texts.length, 1, 'the body is one string');
  assert.ok(loader.rest.length < 6000, `the loader is small: ${loader.rest.length} characters`);
  assert.match(loader.rest, /new vm\.Script\(/);

  const body = textModules(loader.texts[0]);
  assert.equal(body.texts.length, 1, 'the ws client source is one string');
  assert.match(body.texts[0], /function initAsClient/);
  assert.doesNotMatch(body.rest, /\b__export\(|\b__toESM\(|\b__reExport\(|\b__toCommonJS\(/);
  assert.doesNotMatch(body.rest, /WebSocket\.prototype|function initAsClient/, 'no ws code outside the text');
  for (const f of fs.readdirSync(path.join(ROOT, 'src', 'preload'))) {
    assert.doesNotMatch(fs.readFileSync(path.join(ROOT, 'src', 'preload', f), 'utf8'), /^import \* as /m, `src/preload/${f}: \`import x = require()\`, not \`import * as\``);
  }
});
