import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseTrace, validateTrace, TraceFormatError } from '../../src/shared/trace-file';
import { TRACE_VERSION } from '../../src/shared/trace';
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
  assert.match(err.message, /^run\.shutdown-trace\.json[ :]/, `message names the file: ${err.message}`);
  assert.ok(!err.message.includes('\n'), `one line: ${err.message}`);
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
    assert.equal(loadFixture('graceful-two-processes').processes.length, 2, 'the server and its worker');
  });
  test('Windows line endings and a UTF-8 byte-order mark', () => {
    const text = fixtureText('leaked-interval');
    const { mainPid } = JSON.parse(text).meta;
    assert.ok(mainPid > 0);
    assert.equal(parseTrace(text.replace(/\n/g, '\r\n')).meta.mainPid, mainPid);
    assert.equal(parseTrace('\uFEFF' + text).meta.mainPid, mainPid);
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
      text.indexOf('"server.js"') + 5, // inside a string value
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

  test('a damaged event names its index and the field', () => {
    const cases: [unknown, number, RegExp][] = [
      [null, 3, /events\[3\] is not an object \(null\)/],
      [{ t: 5, pid: 4100 }, 0, /events\[0\]\.kind is missing/],
      [{ kind: 'signal', t: '263', pid: 4100 }, 7, /events\[7\]\.t is not a number \(string\)/],
      [{ kind: 'signal', t: 263, signal: 'SIGTERM', nth: 1, listeners: 1 }, 36, /events\[36\]\.pid is missing/],
      ['phase-start', 12, /events\[12\] is not an object \(string\)/],
    ];
    for (const [bad, index, re] of cases) {
      const t = good();
      (t.events as unknown[])[index] = bad;
      rejects(JSON.stringify(t), re);
    }
  });

  test('validateTrace gives the same errors for already-parsed data, with the default source name', () => {
    assert.throws(
      () => validateTrace({ traceEvents: [] }),
      (e: unknown) => e instanceof TraceFormatError && /^trace is a Chrome Trace Event file/.test(e.message),
    );
    assert.throws(
      () => parseTrace(''),
      (e: unknown) => e instanceof TraceFormatError && e.message === 'trace is empty: not a Shutdown Trace file.',
    );
  });
});

describe('parseTrace checks every field against the trace types', () => {
  const leaky = () => JSON.parse(fixtureText('leaked-interval')) as any;
  // Where the fixture's events of each kind are (the messages name the index).
  const at = (kind: string): number => {
    const i = (leaky().events as { kind: string }[]).findIndex((e) => e.kind === kind);
    assert.ok(i >= 0, `the fixture has a ${kind} event`);
    return i;
  };
  const SNAP = at('snapshot');
  const OPEN = at('handle-open');
  const SIG = at('signal');
  const LISTEN = at('listen');
  const EXIT = at('process-exit');
  const SENT = at('signal-sent');
  const DEADLINE = at('deadline');
  const N = leaky().events.length;
  // [what to break, the first bad field as the message names it]
  const cases: [string, (t: any) => void, string][] = [
    ['snapshot handles not a list', (t) => (t.events[SNAP].handles = 5), `events[${SNAP}].handles is not a list (number)`],
    ['a handle that is null', (t) => (t.events[SNAP].handles = [null, 5]), `events[${SNAP}].handles[0] is not an object (null)`],
    ['a handle label not a string', (t) => (t.events[SNAP].handles[0].label = ['x']), `events[${SNAP}].handles[0].label is not a string (a list)`],
    ['a frame line not a number', (t) => (t.events[OPEN].handle.site.frames[0].line = '5'), `events[${OPEN}].handle.site.frames[0].line is not a number (string)`],
    ['a site index outside its frames', (t) => (t.events[OPEN].handle.site.user = 99), `events[${OPEN}].handle.site.user is not -1 or an index into frames`],
    ['a handle type not known', (t) => (t.events[OPEN].handle.type = 'wormhole'), `events[${OPEN}].handle.type is not one of`],
    ['a detail that is an object', (t) => (t.events[OPEN].handle.details = { delayMs: { n: 1 } }), `events[${OPEN}].handle.details.delayMs is not a string, number or boolean`],
    ['a signal nth as a string', (t) => (t.events[SIG].nth = '1'), `events[${SIG}].nth is not a number (string)`],
    ['a listen address missing', (t) => delete t.events[LISTEN].address, `events[${LISTEN}].address is missing`],
    ['a process-exit code as a string', (t) => (t.events[EXIT].code = 'x'), `events[${EXIT}].code is not a number (string)`],
    ['a signal-sent delivery not known', (t) => (t.events[SENT].delivery = 'everyone'), `events[${SENT}].delivery is not one of main, group`],
    ['phases not a list', (t) => (t.analysis.phases = {}), 'analysis.phases is not a list (an object)'],
    ['findings not a list', (t) => (t.analysis.findings = 'none'), 'analysis.findings is not a list (string)'],
    ['a finding title not a string', (t) => (t.analysis.findings[0].title = 7), 'analysis.findings[0].title is not a string (number)'],
    ['a finding severity not known', (t) => (t.analysis.findings[0].severity = 'fatal'), 'analysis.findings[0].severity is not one of error, warning, info'],
    ['evidence outside the events', (t) => (t.analysis.findings[1].evidence = [3, 9999]), `analysis.findings[1].evidence[1] is not an index into events (${N})`],
    ['a verdict not a string', (t) => (t.analysis.verdict = null), 'analysis.verdict is not a string (null)'],
    ['an exit reason not known', (t) => (t.analysis.exitReason = 'vanished'), 'analysis.exitReason is not one of'],
    ['a leaked count as a string', (t) => (t.analysis.leakedHandleCount = '1'), 'analysis.leakedHandleCount is not a number (string)'],
    ['analysis not an object', (t) => (t.analysis = []), 'analysis is not an object (a list)'],
    ['a counter as text', (t) => (t.meta.counters.droppedEvents = '0abc'), 'meta.counters.droppedEvents is not a number (string)'],
    ['counters missing', (t) => delete t.meta.counters, 'meta.counters is missing'],
    ['the command not a list', (t) => (t.meta.command = 'node app.js'), 'meta.command is not a list (string)'],
    ['a plan with an unknown mode', (t) => (t.meta.plan.when = { mode: 'sometimes' }), 'meta.plan.when.mode is not one of listening, after, never'],
    ['complete as a string', (t) => (t.meta.complete = 'yes'), 'meta.complete is not true or false (string)'],
    ['an incomplete reason that is an object', (t) => (t.meta.incompleteReason = { why: 1 }), 'meta.incompleteReason is not a string (an object)'],
    ['a process pid as a string', (t) => (t.processes[0].pid = 'x'), 'processes[0].pid is not a number (string)'],
    ['a process exit signal as a number', (t) => (t.processes[0].exit = { code: null, signal: 9 }), 'processes[0].exit.signal is not a string (number)'],
    ['a process that is a number', (t) => (t.processes[0] = 5), 'processes[0] is not an object (number)'],
    ['an output line text as a number', (t) => (t.output[0].text = 5), 'output[0].text is not a string (number)'],
    ['an output stream not known', (t) => (t.output[0].stream = 'stdin'), 'output[0].stream is not one of stdout, stderr'],
    ['a load config rate as a string', (t) => (t.meta.load = { target: 'auto', rate: 'fast', keepAlive: false }), 'meta.load.rate is not a number (string)'],
    ['a preStop with an unknown action', (t) => (t.meta.k8s = { graceSeconds: 30, stopSignal: 'SIGTERM', preStop: { action: 'pray' } }), 'meta.k8s.preStop.action is not one of sleep, exec, httpGet'],
  ];
  for (const [what, breakIt, message] of cases) {
    test(what, () => {
      const t = leaky();
      breakIt(t);
      const err = rejects(JSON.stringify(t));
      assert.ok(err.message.startsWith(`run.shutdown-trace.json: ${message}`), `expected "${message}", got: ${err.message}`);
    });
  }

  test('deep nesting inside meta (100,000 levels) is refused by name, without blowing the stack', () => {
    const compact = JSON.stringify(leaky());
    const text = compact.replace('"meta":{', `"meta":{"deep":${'['.repeat(100_000)}${']'.repeat(100_000)},`);
    assert.notEqual(text, compact);
    rejects(text, /^run\.shutdown-trace\.json: meta\.deep is nested more than 32 levels deep$/);
    const inEvent = compact.replace('"kind":"deadline"', `"x":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)},"kind":"deadline"`);
    rejects(inEvent, new RegExp(`events\\[${DEADLINE}\\]\\.x is nested more than 32 levels deep`));
  });

  test('unknown fields and event kinds of a newer writer are tolerated, the trace unchanged', () => {
    const t = leaky();
    t.meta.future = { a: [1, { b: 2 }] };
    t.events[SNAP].handles[0].owner = { id: 'o1', name: 'ioredis Redis', package: 'ioredis', via: 'reachable', path: 'stream', release: ['quit'] };
    t.events.push({ kind: 'some-future-kind', t: 1e9, pid: 0, payload: { deep: [[1]] } });
    t.analysis.findings.push({ code: 'some-future-code', severity: 'info', title: 'later', detail: 'd', evidence: [] });
    const text = JSON.stringify(t);
    assert.deepEqual(parseTrace(text), JSON.parse(text));
  });

  test('every stored fixture trace passes', () => {
    for (const name of ['leaked-interval', 'graceful-two-processes', 'k8s-prestop-overrun', 'k8s-prestop-sleep', 'load-drop', 'load-sse'] as const)
      assert.doesNotThrow(() => parseTrace(fixtureText(name), name));
  });
});
