/** XML checks shared by the JUnit unit tests and the check command's engine tests. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

/**
 * Conformance: Python's expat (python3 is on every machine of this project) rejects what
 * XML 1.0 forbids — control characters, "<" in attributes, duplicate attributes — which the
 * lenient sax parser below lets through.
 */
export function assertWellFormed(xml: string): void {
  const r = spawnSync(
    'python3',
    ['-c', 'import sys, xml.parsers.expat as e\np = e.ParserCreate()\ntry:\n  p.Parse(sys.stdin.buffer.read(), True)\nexcept e.ExpatError as x:\n  print(x); sys.exit(1)'],
    { input: xml },
  );
  if (r.error) throw new Error(`python3 is needed to check XML conformance: ${r.error.message}`);
  assert.equal(r.status, 0, `not well-formed XML (expat): ${r.stdout}${r.stderr}`);
}

// sax (in the tree through @vscode/vsce's xml2js) builds the tree to walk; its strict mode also
// catches unbalanced tags and unknown entities.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sax = require('sax') as { parser(strict: boolean): SaxParser };
interface SaxParser {
  onerror: (e: Error) => void;
  onopentag: (n: { name: string; attributes: Record<string, string> }) => void;
  onclosetag: (name: string) => void;
  ontext: (t: string) => void;
  write(s: string): SaxParser;
  close(): void;
}

export interface XmlNode {
  name: string;
  attributes: Record<string, string>;
  children: XmlNode[];
  text: string;
}

/** Parses strictly; throws on any well-formedness error. */
export function parseXml(xml: string): XmlNode {
  const p = sax.parser(true);
  const root: XmlNode = { name: '#document', attributes: {}, children: [], text: '' };
  const stack = [root];
  p.onerror = (e) => {
    throw e;
  };
  p.onopentag = (n) => {
    const node = { name: n.name, attributes: n.attributes, children: [], text: '' };
    stack[stack.length - 1].children.push(node);
    stack.push(node);
  };
  p.onclosetag = () => void stack.pop();
  p.ontext = (t) => (stack[stack.length - 1].text += t);
  p.write(xml).close();
  assert.equal(root.children.length, 1, 'one root element');
  return root.children[0];
}

/** The JUnit structure CI reporters rely on, with consistent counts. */
export function assertJUnitShape(root: XmlNode): void {
  assert.equal(root.name, 'testsuites');
  let tests = 0;
  let failures = 0;
  for (const s of root.children.filter((c) => c.name === 'testsuite')) {
    for (const a of ['name', 'tests', 'failures', 'errors', 'skipped', 'time']) assert.ok(a in s.attributes, `testsuite has ${a}`);
    const cases = s.children.filter((c) => c.name === 'testcase');
    assert.equal(Number(s.attributes.tests), cases.length);
    const f = cases.filter((c) => c.children.some((x) => x.name === 'failure')).length;
    assert.equal(Number(s.attributes.failures), f);
    assert.equal(Number(s.attributes.skipped), cases.filter((c) => c.children.some((x) => x.name === 'skipped')).length);
    for (const c of cases) {
      for (const a of ['name', 'classname', 'time']) assert.ok(a in c.attributes, `testcase has ${a}`);
      assert.ok(Number.isFinite(Number(c.attributes.time)));
      for (const fl of c.children.filter((x) => x.name === 'failure')) assert.ok('message' in fl.attributes && 'type' in fl.attributes);
    }
    tests += cases.length;
    failures += f;
  }
  assert.equal(Number(root.attributes.tests), tests);
  assert.equal(Number(root.attributes.failures), failures);
}
