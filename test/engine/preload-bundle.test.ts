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

/** Splits code into the string literals assigned to module.exports (esbuild's text modules) and the rest. */
function textModules(code: string): { texts: string[]; rest: string } {
  const texts: string[] = [];
  let rest = '';
  const start = /module\d*\.exports\s*=\s*(["'`])/g;
  let from = 0;
  for (let m = start.exec(code); m; m = start.exec(code)) {
    // The literal runs to the first unescaped closing quote.
    const open = m.index + m[0].length - 1;
    let i = open + 1;
    while (i < code.length && code[i] !== m[1]) i += code[i] === '\\' ? 2 : 1;
    texts.push(new Function(`return ${code.slice(open, i + 1)}`)() as string);
    rest += code.slice(from, open);
    from = start.lastIndex = i + 1;
  }
  return { texts, rest: rest + code.slice(from) };
}

test('dist/preload.js: a small loader with the body as text; in the body, no namespace copies and the ws client as text', () => {
  const loader = textModules(fs.readFileSync(path.join(ROOT, 'dist', 'preload.js'), 'utf8'));
  assert.equal(loader.texts.length, 1, 'the body is one string');
  assert.ok(loader.rest.length < 6000, `the loader is small: ${loader.rest.length} characters`);
  assert.match(loader.rest, /new vm\.Script\(/);

  // Scanned as a string literal on every traced start-up: carried without indentation or comments.
  assert.doesNotMatch(loader.texts[0], /\n[ \t]{2,}\S|\/\*\*/, 'the body is carried compact');
  const body = textModules(loader.texts[0]);
  assert.equal(body.texts.length, 1, 'the ws client source is one string');
  assert.doesNotMatch(body.texts[0], /\n[ \t]{2,}\S|\/\*\*/, 'the ws client is carried compact');
  assert.match(body.texts[0], /function initAsClient/);
  assert.doesNotMatch(body.rest, /\b__export\(|\b__toESM\(|\b__reExport\(|\b__toCommonJS\(/);
  assert.doesNotMatch(body.rest, /WebSocket\.prototype|function initAsClient/, 'no ws code outside the text');
  for (const f of fs.readdirSync(path.join(ROOT, 'src', 'preload'))) {
    assert.doesNotMatch(fs.readFileSync(path.join(ROOT, 'src', 'preload', f), 'utf8'), /^import \* as /m, `src/preload/${f}: \`import x = require()\`, not \`import * as\``);
  }
});
