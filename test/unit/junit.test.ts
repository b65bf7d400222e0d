/**
 * The JUnit XML writer: escaping, well-formedness (checked by expat), and the structure CI
 * reporters read (testsuites > testsuite > testcase with failure/skipped).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { junitXml, escapeAttr, escapeText, type JUnitSuite } from '../../src/core/junit';
import { assertWellFormed, parseXml, assertJUnitShape } from './xml-check';

describe('escaping', () => {
  test('markup characters', () => {
    assert.equal(escapeText('a < b && c > d'), 'a &lt; b &amp;&amp; c &gt; d');
    assert.equal(escapeText(']]>'), ']]&gt;');
    assert.equal(escapeAttr(`"q" 'a' <x>`), '&quot;q&quot; &apos;a&apos; &lt;x&gt;');
  });

  test('line breaks and tabs survive in attributes', () => {
    assert.equal(escapeAttr('a\nb\r\tc'), 'a&#10;b&#13;&#9;c');
    assert.equal(escapeText('a\nb\tc'), 'a\nb\tc');
  });

  test('characters XML 1.0 cannot carry are dropped; ANSI colours removed', () => {
    assert.equal(escapeText('a\u0000b\u0007c\u001bd\uFFFEe'), 'abcde');
    assert.equal(escapeText('\x1b[31mred\x1b[0m plain'), 'red plain');
    assert.equal(escapeText('lone \uD800 high, lone \uDC00 low, pair \uD83D\uDE00'), 'lone  high, lone  low, pair \uD83D\uDE00');
  });
});

describe('junitXml', () => {
  const nasty = 'leak <setInterval> at "app.js":5 & \'more\'\n\tsecond line \x1b[31mred\x1b[0m \u0001';
  const suite: JUnitSuite = {
    name: 'shutdown-trace check: node "server.js" <prod>',
    timestamp: '2026-11-21T06:00:00.000Z',
    timeMs: 3210,
    hostname: 'ci-runner',
    properties: { command: 'node server.js --token=<redacted>', lostRequests: 3, ok: false },
    cases: [
      {
        name: 'graceful exit within the 30 s grace period',
        classname: 'shutdown-trace.graceful-exit',
        timeMs: 0,
        failure: { message: nasty, type: 'graceful-exit', body: `${nasty}\nverdict: killed` },
      },
      { name: 'no leaked handles', classname: 'shutdown-trace.leaked-handles', systemOut: 'none' },
      { name: 'no requests lost during shutdown', classname: 'shutdown-trace.lost-requests', skipped: 'no load (use --load)' },
    ],
    systemOut: 'verdict & findings <here>',
  };

  test('the conformance check itself rejects what XML forbids', () => {
    for (const bad of ['<a>\u0001</a>', '<a b="<"/>', '<a x="1" x="2"/>', '<a><b></a>']) assert.throws(() => assertWellFormed(bad), /not well-formed/, JSON.stringify(bad));
    assertWellFormed('<a b="&lt;">&amp;</a>');
  });

  test('well-formed, with the JUnit structure and counts', () => {
    const xml = junitXml([suite]);
    assertWellFormed(xml);
    assert.ok(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites '));
    const root = parseXml(xml);
    assertJUnitShape(root);
    const s = root.children[0];
    assert.equal(s.attributes.tests, '3');
    assert.equal(s.attributes.failures, '1');
    assert.equal(s.attributes.skipped, '1');
    assert.equal(s.attributes.errors, '0');
    assert.equal(s.attributes.time, '3.210');
    assert.equal(s.attributes.timestamp, '2026-11-21T06:00:00.000Z');
  });

  test('text round-trips through a parser (minus what XML cannot carry)', () => {
    const root = parseXml(junitXml([suite]));
    const s = root.children[0];
    assert.equal(s.attributes.name, suite.name);
    const failure = s.children[1].children.find((c) => c.name === 'failure')!;
    const expected = 'leak <setInterval> at "app.js":5 & \'more\'\n\tsecond line red ';
    assert.equal(failure.attributes.message, expected);
    assert.equal(failure.attributes.type, 'graceful-exit');
    assert.equal(failure.text, `${expected}\nverdict: killed`);
    const props = s.children[0];
    assert.equal(props.name, 'properties');
    assert.deepEqual(
      props.children.map((p) => [p.attributes.name, p.attributes.value]),
      [
        ['command', 'node server.js --token=<redacted>'],
        ['lostRequests', '3'],
        ['ok', 'false'],
      ],
    );
    const skipped = s.children[3].children[0];
    assert.deepEqual([skipped.name, skipped.attributes.message], ['skipped', 'no load (use --load)']);
    assert.equal(s.children.find((c) => c.name === 'system-out')!.text, 'verdict & findings <here>');
  });

  test('an empty suite list is still a valid document', () => {
    assertWellFormed(junitXml([]));
    const root = parseXml(junitXml([]));
    assert.equal(root.name, 'testsuites');
    assert.equal(root.attributes.tests, '0');
  });
});
