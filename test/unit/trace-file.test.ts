import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseTrace, validateTrace, TraceFormatError, TRACE_VERSION } from '../../src/core/trace';
import { toChromeTrace } from '../../src/core/export-chrome';
import { fixtureText, loadFixture } from './traces/load';

/** Asserts parseTrace throws a TraceFormatError whose message matches every pattern. */
function rejects(text: string, ...patterns: RegExp[]): TraceFormatError {
  let caught: unknown;
  try {
    parseTrace(text, 'run.shutdown-trace.json');
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof TraceFormatError, `expected a TraceFormatError, got ${String(caught)}`);
  const err = caught as TraceFormatError;
  assert.equal(err.name, 'TraceFormatError');
  assert.ok(err.message.startsWith('run.shutdown-trace.json '), `message names the file: ${err.message}`);
  for (const p of patterns) assert.match(err.message, p);
  return err;
}

const good = () => JSON.parse(fixtureText('graceful-two-processes')) as Record<string, unknown>;

describe('parseTrace accepts', () => {
  test('both fixtures, unchanged', () => {
    for (const name of ['leaked-interval', 'graceful-two-processes'] as const) {
      const text = fixtureText(name);
      const t = parseTrace(text);
      assert.deepEqual(t, JSON.parse(text));
      assert.equal(t.version, TRACE_VERSION);
    }
    assert.equal(loadFixture('graceful-two-processes').events.length, 37);
  });
  test('Windows line endings and a UTF-8 byte-order mark', () => {
    const text = fixtureText('leaked-interval');
    assert.equal(parseTrace(text.replace(/\n/g, '\r\n')).meta.mainPid, 31337);
    assert.equal(parseTrace('\uFEFF' + text).meta.mainPid, 31337);
  });
  test('a trace with no events or output yet (a run that just started)', () => {
    const t = good();
    t.events = [];
    t.output = [];
    delete t.analysis;
    assert.deepEqual(parseTrace(JSON.stringify(t)).events, []);
  });
});

describe('parseTrace rejects, naming the problem', () => {
  test('an empty file', () => {
    rejects('', /is empty/, /not a Shutdown Trace file/);
    rejects('  \n\t\n', /is empty/);
    rejects('\uFEFF', /is empty/);
  });

  test('corrupt JSON', () => {
    const err = rejects('{"format": "shutdown-trace", version: 1}', /is not valid JSON/);
    assert.doesNotMatch(err.message, /truncated/);
    rejects('shutdown-trace', /is not valid JSON/);
    rejects('{"a": 1,, "b": 2}', /is not valid JSON/);
  });

  test('a file cut off mid-way, wherever the cut falls', () => {
    const text = fixtureText('graceful-two-processes');
    const cuts = [
      1, // "{"
      text.indexOf('"meta"') + 3, // inside a key
      text.indexOf('"node server.js"') + 5, // inside a string value
      text.indexOf('"events"') + 12, // just after "[" of the events
      text.indexOf('}', text.indexOf('"events"')) + 1, // right after a complete event object
      text.indexOf('},', text.indexOf('"output"')) + 2, // after an output line and its comma
      text.length - 3, // the last closing braces missing
    ];
    for (const n of cuts) {
      const err = rejects(text.slice(0, n), /is truncated/, /ends early/);
      assert.match(err.message, new RegExp(`\\(${n} bytes read\\)`));
    }
  });

  test('a Chrome Trace Event export given instead', () => {
    const chrome = JSON.stringify(toChromeTrace(loadFixture('leaked-interval')));
    rejects(chrome, /is a Chrome Trace Event file \(an export\)/, /Perfetto/);
  });

  test('a trace from a future version', () => {
    const t = good();
    t.version = TRACE_VERSION + 1;
    rejects(JSON.stringify(t), /newer Shutdown Trace/, new RegExp(`format version ${TRACE_VERSION + 1}`), new RegExp(`reads version ${TRACE_VERSION}`));
  });

  test('an impossible or missing version', () => {
    const t = good();
    t.version = 0;
    rejects(JSON.stringify(t), /unknown format version 0/);
    t.version = '1';
    rejects(JSON.stringify(t), /has no version number/);
    delete t.version;
    rejects(JSON.stringify(t), /has no version number/);
  });

  test('the wrong format', () => {
    const t = good();
    t.format = 'speedscope';
    rejects(JSON.stringify(t), /"format" is "speedscope", expected "shutdown-trace"/);
    delete t.format;
    rejects(JSON.stringify(t), /"format" is undefined/);
    rejects('{"name":"my-package","version":"1.0.0"}', /not a Shutdown Trace file/);
  });

  test('JSON that is not an object', () => {
    rejects('[]', /expected a JSON object/);
    rejects('null', /expected a JSON object/);
    rejects('42', /expected a JSON object/);
    rejects('"shutdown-trace"', /expected a JSON object/);
  });

  test('missing parts', () => {
    const t = good();
    delete t.meta;
    rejects(JSON.stringify(t), /is damaged: "meta" is missing/);
    for (const key of ['processes', 'events', 'output']) {
      const u = good();
      u[key] = { length: 0 };
      rejects(JSON.stringify(u), new RegExp(`is damaged: "${key}" is missing or not a list`));
    }
  });

  test('a damaged event names its index', () => {
    const cases: [unknown, number][] = [
      [null, 3],
      [{ t: 5, pid: 4100 }, 0], // no kind
      [{ kind: 'signal', t: '263', pid: 4100 }, 7], // time as a string
      [{ kind: 'signal', t: 263 }, 36], // no pid
      ['phase-start', 12],
    ];
    for (const [bad, index] of cases) {
      const t = good();
      (t.events as unknown[])[index] = bad;
      rejects(JSON.stringify(t), new RegExp(`is damaged: event #${index} has no kind, time or pid`));
    }
  });

  test('validateTrace gives the same errors for already-parsed data, with the default source name', () => {
    assert.throws(() => validateTrace({ traceEvents: [] }), (e: unknown) => e instanceof TraceFormatError && /^trace is a Chrome Trace Event file/.test(e.message));
    assert.throws(() => parseTrace(''), (e: unknown) => e instanceof TraceFormatError && e.message === 'trace is empty: not a Shutdown Trace file.');
  });
});
