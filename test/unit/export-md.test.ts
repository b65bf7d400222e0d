// Over 500 lines on purpose: the Markdown export section by section, its escaping against hostile text, and its paths, in one suite.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { toMarkdown, mdText, mdLine, mdCode, mdFence, describeEvent, LOG_TAIL_LINES } from '../../src/core/export-md';
import type { OutputLine, TraceEvent } from '../../src/shared/trace';
import { formatDuration } from '../../src/shared/duration';
import { loadFixture } from './traces/load';

/** Text between a heading line and the next heading. */
function section(md: string, heading: string): string {
  const lines = md.split('\n');
  const start = lines.findIndex((l) => l.startsWith('### ') && l.includes(heading));
  assert.ok(start >= 0, `section "${heading}" exists`);
  const end = lines.findIndex((l, i) => i > start && /^#{2,3} /.test(l));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** Cells of a table row, split on unescaped pipes. */
function cells(row: string): string[] {
  return row
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

/** Opening and closing lines of fenced blocks; asserts every fence is closed. */
function fences(md: string): { open: number; close: number; fence: string }[] {
  const out: { open: number; close: number; fence: string }[] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*(`{3,})/.exec(lines[i]);
    if (!m) continue;
    const fence = m[1];
    const close = lines.findIndex((l, j) => j > i && new RegExp(`^\\s*${fence}\`*\\s*$`).test(l));
    assert.ok(close > i, `fence at line ${i + 1} is closed`);
    out.push({ open: i, close, fence });
    i = close;
  }
  return out;
}

describe('escaping helpers', () => {
  test('mdText escapes Markdown, HTML and line breaks', () => {
    assert.equal(mdText('a|b'), 'a\\|b');
    assert.equal(mdText('<img src=x onerror=alert(1)>'), '\\<img src=x onerror=alert(1)>');
    assert.equal(mdText('</b> <!-- x --> <?php <https://x>'), '\\</b> <\\!-- x --> \\<?php \\<https://x>');
    assert.equal(mdText('<1% of 2 > 1'), '<1% of 2 > 1', 'no HTML entities: a "<" that opens no tag stays as it is');
    assert.equal(mdText('**bold** _it_ `code` [x](y) ~~s~~ #1 !'), '\\*\\*bold\\*\\* \\_it\\_ \\`code\\` \\[x\\](y) \\~\\~s\\~\\~ \\#1 \\!');
    assert.equal(mdText('one\ntwo\r\nthree'), 'one<br>two<br>three');
    assert.equal(mdText('a & b \\ c'), 'a & b \\\\ c');
    assert.equal(mdText('&lt; &#60;'), '\\&lt; &\\#60;', 'an entity in the text is shown, not decoded');
    assert.equal(mdText('1.2.3 - ok'), '1.2.3 - ok', 'no escapes mid-line');
    assert.equal(mdText(undefined), '');
  });
  test('mdLine also escapes what would start a list, heading underline or ordered list', () => {
    assert.equal(mdLine('- item'), '\\- item');
    assert.equal(mdLine('==='), '\\===');
    assert.equal(mdLine('1. first'), '1\\. first');
    assert.equal(mdLine('plain'), 'plain');
  });
  test('mdCode picks a fence longer than any backtick run', () => {
    assert.equal(mdCode('node server.js'), '`node server.js`');
    assert.equal(mdCode('a `b` c'), '``a `b` c``');
    assert.equal(mdCode('``x``'), '``` ``x`` ```');
    assert.equal(mdCode('a|b', true), '`a\\|b`');
    assert.equal(mdCode('a\nb'), '`a b`');
    assert.equal(mdCode('<b>'), '`<b>`', 'code spans show HTML as text, so nothing to escape');
  });
  test('mdFence cannot be closed by its content', () => {
    assert.equal(mdFence('x'), '```\nx\n```');
    assert.equal(mdFence('```\nrm -rf /\n```', 'text'), '````text\n```\nrm -rf /\n```\n````');
    assert.equal(mdFence('a ````` b'), '``````\na ````` b\n``````');
  });
});

describe('toMarkdown: leaked interval killed at the deadline', () => {
  const t = loadFixture('leaked-interval');
  // The stack as the run recorded it, with node's own frames (the fixture keeps the user's only): the summary shows user frames.
  const leakSite = t.analysis!.leaks![0].handles[0].site!;
  leakSite.frames.push({ fn: 'Module._compile', file: 'node:internal/modules/cjs/loader', line: 1521, col: 14 });
  const md = toMarkdown(t);
  const lines = md.split('\n');
  const a = t.analysis!;
  const P = t.meta.mainPid!;
  const ev = <K extends TraceEvent['kind']>(kind: K) => t.events.find((e) => e.kind === kind) as Extract<TraceEvent, { kind: K }>;
  const at = (ms: number) => `+${formatDuration(ms)}`;

  test('title line with the verdict', () => {
    assert.equal(lines[0], `## 🔴 Shutdown Trace: Killed at the ${formatDuration(t.meta.plan.graceMs)} deadline: 1 leak kept it alive`, 'a short heading');
    assert.equal(lines[2], a.verdict, 'then the verdict');
    assert.match(lines[2], /^Killed at the 5 s deadline: .*setInterval 1000 ms at test\/fixtures\/leaked-interval\.js:5:19/);
  });

  test('summary table with the observability fields', () => {
    const rows = lines.filter((l) => l.startsWith('| ')).map(cells);
    const get = (k: string) => rows.find((r) => r[0] === k)?.[1];
    assert.equal(get('Command'), '`node test/fixtures/leaked-interval.js`');
    assert.equal(get('Exit reason'), '`killed-at-deadline`');
    assert.equal(get('Signal → exit'), formatDuration(ev('process-exit').t - ev('signal-sent').t));
    assert.equal(get('Grace period'), '5 s');
    assert.equal(get('Leaked handles'), '1');
    assert.equal(get(`Phase: ↳ close server ${ev('listen').address}`), formatDuration(ev('server-closed').t - ev('server-close').t));
  });

  test('signal plan', () => {
    assert.equal(
      section(md, 'Signal plan').trim(),
      ['- Signal: SIGTERM, 400 ms after spawn', '- Grace period: SIGKILL 5 s after the first signal', '- Delivery: the main process only (like Kubernetes or docker stop)'].join('\n'),
    );
  });

  test('processes table', () => {
    const rows = section(md, 'Processes').trim().split('\n');
    assert.deepEqual(cells(rows[0]), ['pid', 'role', 'command', 'exit', 'ended', 'traced']);
    assert.deepEqual(cells(rows[2]), [String(P), 'main', '`node test/fixtures/leaked-interval.js`', 'killed by SIGKILL', at(ev('process-exit').t), 'yes']);
    assert.equal(rows.length, 3);
  });

  test('findings with their evidence, in trace time', () => {
    const f = section(md, 'Findings');
    assert.ok(f.includes(`- 🔴 **${a.findings[0].title}** (\`killed-at-deadline\`)`), f);
    assert.match(a.findings[0].title, /Killed by SIGKILL at the 5 s grace deadline/);
    assert.ok(f.includes(`  ${a.findings[0].detail}`), f);
    assert.ok(f.includes(`  - \`${at(ev('signal-sent').t)}\` tool sent SIGTERM to pid ${P}`), f);
    assert.ok(f.includes(`  - \`${at(ev('deadline').t)}\` grace deadline (5 s) reached`), f);
    assert.ok(f.includes(`  - \`${at(ev('kill-sent').t)}\` tool sent SIGKILL to pid ${P}`), f);
    assert.ok(f.includes(`  - \`${at(ev('process-exit').t)}\` pid ${P} killed by SIGKILL`), f);
  });

  test('leaked handle with its relative creation site and user frames only', () => {
    const s = section(md, 'Leaked handles (1)');
    const h = a.leaks![0].handles[0];
    assert.ok(s.includes(`- **interval** \`setInterval 1000 ms\` in pid ${P}, created at \`test/fixtures/leaked-interval.js:5:19\` at ${at(h.createdAt!)}; fix: clearInterval() it on shutdown`), s);
    const [block] = fences(s);
    const body = s
      .split('\n')
      .slice(block.open + 1, block.close)
      .map((l) => l.trim());
    assert.deepEqual(body, ['at Object.<anonymous> (test/fixtures/leaked-interval.js:5:19)']);
    assert.ok(!s.includes('node:internal') && !s.includes(t.meta.cwd));
  });

  test('the output before the exit, in a fenced block', () => {
    const before = t.output.filter((l) => l.t <= ev('process-exit').t);
    assert.deepEqual(
      before.map((l) => l.text),
      ['listening', 'closing'],
    );
    const s = section(md, 'output lines before exit');
    assert.ok(lines.includes(`### Last ${before.length} output lines before exit`));
    const [block] = fences(s);
    const body = s.split('\n').slice(block.open + 1, block.close);
    assert.equal(body.length, before.length);
    before.forEach((l, i) => assert.equal(body[i], `[${at(l.t).padStart(9)}] ${l.text}`));
  });

  test('versions, no counters, no incomplete note', () => {
    assert.ok(section(md, 'Environment').includes(`- shutdown-trace ${t.meta.toolVersion}, Node ${t.meta.node} on ${t.meta.platform}`));
    assert.ok(!md.includes('Tool counters'));
    assert.ok(!md.includes('Incomplete trace'));
  });
});

describe('toMarkdown: graceful shutdown across two processes', () => {
  const t = loadFixture('graceful-two-processes');
  const md = toMarkdown(t);
  const a = t.analysis!;
  const [main, child] = t.processes;
  const at = (ms: number) => `+${formatDuration(ms)}`;

  test('title, nested per-phase durations with pids', () => {
    assert.ok(md.startsWith(`## ✅ Shutdown Trace: Graceful in ${formatDuration(a.signalToExitMs)}\n\n${a.verdict}\n`), md.slice(0, 200));
    const phases = md
      .split('\n')
      .filter((l) => l.startsWith('| Phase: '))
      .map(cells);
    assert.deepEqual(
      phases,
      a.phases.map((p) => [`Phase: ${'↳ '.repeat(p.depth)}${p.name} (pid ${p.pid})`, formatDuration(p.durationMs)]),
    );
    // The server's own phases nest in its "shutdown"; the worker's in its listener.
    const row = (name: string) => phases.find((r) => r[0].endsWith(`${name} (pid ${r[0].endsWith(`(pid ${child.pid})`) ? child.pid : main.pid})`))!;
    const depth = (name: string, pid: number) => a.phases.find((p) => p.name === name && p.pid === pid)!.depth;
    for (const name of ['close http server', 'close db pool', 'wait for worker']) assert.equal(depth(name, main.pid), depth('shutdown', main.pid) + 1, name);
    assert.ok(row('drain queue'), 'the worker drained its queue in a phase');
    assert.ok(depth('drain queue', child.pid) > 0);
  });

  test('signal plan for "when listening" and group delivery', () => {
    const s = section(md, 'Signal plan');
    assert.ok(s.includes('- Signal: SIGTERM, 200 ms after the service starts listening (or after 5 s if it never does)'));
    assert.ok(s.includes('- Grace period: SIGKILL 10 s after the first signal'));
    assert.ok(s.includes('- Delivery: the whole process group (like Ctrl+C in a terminal)'));
  });

  test('both processes, and log lines marked with pid and stderr', () => {
    const rows = section(md, 'Processes').trim().split('\n').slice(2).map(cells);
    assert.deepEqual(rows, [
      [String(main.pid), 'main', '`node server.js`', 'exit code 0', at(main.end!), 'yes'],
      [String(child.pid), `child of ${main.pid}`, '`node worker.js --queue jobs`', 'exit code 0', at(child.end!), 'yes'],
    ]);
    const draining = t.output.find((l) => l.text === 'worker: draining 3 jobs')!;
    assert.equal(draining.stream, 'stderr');
    assert.ok(md.includes(`[${at(draining.t).padStart(9)}] ${child.pid} ERR worker: draining 3 jobs\n`), md);
  });

  test('evidence names what an end event ends', () => {
    const end = t.events.find((e) => e.kind === 'phase-end' && e.pid === child.pid)!;
    assert.equal(describeEvent(end, t.meta.cwd, t), 'phase "drain queue" ended');
  });

  test('no leaked-handles section after a clean exit', () => {
    assert.ok(!md.includes('### Leaked handles'));
    assert.ok(md.includes('| Leaked handles | 0 |'));
  });
});

describe('toMarkdown: incomplete runs, counters, long logs', () => {
  test('an incomplete trace says so, with the reason, before anything else', () => {
    const t = loadFixture('leaked-interval');
    t.meta.complete = false;
    t.meta.incompleteReason = 'stopped by the user';
    const md = toMarkdown(t);
    assert.equal(md.split('\n')[2], '> ⚠️ **Incomplete trace:** stopped by the user. Timings and findings below cover only what was captured.');
  });

  test('no analysis in the file: analysed on export, like every other reader', () => {
    const t = loadFixture('leaked-interval');
    delete t.analysis;
    const md = toMarkdown(t);
    assert.ok(md.startsWith('## 🔴 Shutdown Trace: Killed at the 5 s deadline: 1 leak kept it alive\n'));
    assert.ok(md.includes('| Exit reason | `killed-at-deadline` |'));
    assert.ok(md.includes('| Leaked handles | 1 |'));
    assert.ok(md.includes('### Findings'));
  });

  test('non-zero counters only', () => {
    const t = loadFixture('leaked-interval');
    t.meta.counters = { droppedEvents: 12, rejectedConnections: 0, malformedFrames: 3, outputLinesTruncated: 0 };
    const md = toMarkdown(t);
    assert.equal(section(md, 'Tool counters').trim(), ['| Counter | Count |', '|---|---|', '| Dropped events | 12 |', '| Malformed frames | 3 |'].join('\n'));
  });

  test(`only the last ${LOG_TAIL_LINES} lines before the main process exited`, () => {
    const t = loadFixture('leaked-interval');
    const P = t.meta.mainPid!;
    const exitAt = t.events.find((e) => e.kind === 'process-exit')!.t;
    const extra: OutputLine[] = Array.from({ length: 30 }, (_, i) => ({ t: exitAt - 200 + i, pid: P, stream: 'stdout' as const, text: `line ${i}` }));
    t.output = [...t.output, ...extra].sort((a, b) => a.t - b.t);
    t.output.push({ t: exitAt + 100, pid: P, stream: 'stdout', text: 'after exit' });
    const before = t.output.filter((l) => l.t <= exitAt);
    assert.ok(before.length > LOG_TAIL_LINES);
    const md = toMarkdown(t);
    assert.ok(md.includes(`### Last ${LOG_TAIL_LINES} output lines before exit (of ${before.length})`));
    const s = section(md, 'output lines before exit');
    const [block] = fences(s);
    const body = s.split('\n').slice(block.open + 1, block.close);
    assert.equal(body.length, LOG_TAIL_LINES);
    const line = (l: OutputLine) => `[${`+${formatDuration(l.t)}`.padStart(9)}] ${l.text}`;
    assert.equal(body[0], line(before[before.length - LOG_TAIL_LINES]));
    assert.equal(body[0], `[${`+${formatDuration(exitAt - 200 + 10)}`.padStart(9)}] line 10`, 'the 30 planted lines are the last before exit: from line 10');
    assert.equal(body[LOG_TAIL_LINES - 1], line(before[before.length - 1]));
    assert.ok(!md.includes('after exit'));
  });
});

describe('toMarkdown: hostile trace text', () => {
  const t = loadFixture('leaked-interval');
  t.analysis!.verdict = 'Killed </sub><img src=x onerror=alert(1)> | x\n# injected heading';
  t.processes[0].command = 'node `evil` | rm -rf / <script>alert(1)</script>\nnext-line';
  t.analysis!.phases[0].name = 'close | server\n| fake | row |';
  t.analysis!.phases[0].error = '<b>boom</b>';
  t.analysis!.findings[0].title = '**bold** [click](javascript:alert(1)) <iframe>';
  t.analysis!.findings[0].detail = '- not a list\n---\n<script>x</script>';
  t.output.push({ t: 5100, pid: t.meta.mainPid!, stream: 'stdout', text: '```' }, { t: 5101, pid: t.meta.mainPid!, stream: 'stdout', text: '````` <img src=y> done' });
  const md = toMarkdown(t);
  const lines = md.split('\n');

  test('no raw HTML outside code', () => {
    // Strip fenced blocks and code spans; what is left must hold no trace-made tags.
    const prose = md.replace(/^\s*(`{3,})[^\n]*\n[\s\S]*?\n\s*\1\s*$/gm, '').replace(/(`+)[\s\S]*?[^`]\1(?!`)/g, '');
    // A backslash-escaped "<" is literal text in CommonMark: only an unescaped one opens a tag.
    for (const tag of ['<img', '<script', '<iframe', '<b>', '</sub><']) assert.ok(!new RegExp(`(^|[^\\\\])${tag}`).test(prose), `${tag} leaked into prose:\n${prose}`);
    assert.ok(!/&(lt|gt|amp);/.test(md), 'no HTML entities');
    assert.ok(md.includes('\\<img src=x onerror=alert(1)>'));
    assert.ok(md.includes('\\*\\*bold\\*\\* \\[click\\](javascript:alert(1)) \\<iframe>'));
  });

  test('the title stays one line', () => {
    assert.equal(lines[0], '## 🔴 Shutdown Trace: Killed at the 5 s deadline: 1 leak kept it alive');
    assert.equal(lines[2], 'Killed \\</sub>\\<img src=x onerror=alert(1)> \\| x<br>\\# injected heading', 'the verdict: one paragraph');
    assert.ok(!lines.some((l) => l.startsWith('# injected')));
  });

  test('every table row keeps its column count', () => {
    let header = 0;
    for (const l of lines) {
      if (!l.startsWith('|')) {
        header = 0;
        continue;
      }
      const n = cells(l).length;
      if (header === 0) header = n;
      assert.equal(n, header, `row breaks its table: ${l}`);
    }
    assert.ok(lines.includes(`| Phase: close \\| server<br>\\| fake \\| row \\| | ${formatDuration(t.analysis!.phases[0].durationMs)} ❌ \\<b>boom\\</b> |`), md);
    assert.ok(!lines.some((l) => l.startsWith('| fake')));
  });

  test('the command is one inline code span that backticks cannot close', () => {
    const row = lines.find((l) => l.startsWith(`| ${t.meta.mainPid} |`))!;
    assert.equal(cells(row)[2], '``node `evil` \\| rm -rf / <script>alert(1)</script> next-line``');
  });

  test('a finding detail cannot start a list or a heading underline', () => {
    assert.ok(lines.includes('  \\- not a list<br>---<br>\\<script>x\\</script>'));
  });

  test('the log block fence is longer than any backtick run in the log', () => {
    const s = section(md, 'output lines before exit');
    const blocks = fences(s);
    assert.equal(blocks.length, 1);
    assert.equal(blocks[0].fence, '``````');
    const body = s.split('\n').slice(blocks[0].open + 1, blocks[0].close);
    assert.equal(body[body.length - 1], '[   +5.1 s] ````` <img src=y> done');
  });
});

describe('toMarkdown: redaction', () => {
  test('secrets in the command, output, errors and findings are gone', () => {
    const t = loadFixture('leaked-interval');
    t.meta.command = ['node', 'server.js', '--password', 'md-SECRET-1'];
    t.processes[0].command = 'node server.js --password md-SECRET-1';
    const P = t.meta.mainPid!;
    t.output.push({ t: 5000, pid: P, stream: 'stderr', text: 'connect postgres://app:md-SECRET-2@db/app failed' });
    t.analysis!.findings[0].detail = 'Authorization: Bearer md-SECRET-3';
    // The leaked interval's label, wherever the summary reads it: the leak, the finding and the deadline snapshot.
    const leaked = t.analysis!.leaks![0];
    leaked.title = leaked.handles[0].label = 'setInterval token=md-SECRET-4';
    for (const f of t.analysis!.findings) for (const h of f.handles ?? []) h.label = 'setInterval token=md-SECRET-4';
    const deadline = t.events.findIndex((e) => e.kind === 'snapshot' && e.reason === 'deadline');
    t.events[deadline] = { ...t.events[deadline], handles: [{ ...leaked.handles[0] }] } as (typeof t.events)[number];
    const md = toMarkdown(t);
    for (const s of ['md-SECRET-1', 'md-SECRET-2', 'md-SECRET-3', 'md-SECRET-4']) assert.ok(!md.includes(s), s);
    assert.ok(md.includes('| Command | `node server.js --password «redacted»` |'));
    assert.ok(md.includes('connect postgres://app:«redacted»@db/app failed'));
    assert.ok(md.includes('`setInterval token=«redacted»`'));
    t.output.push({ t: 5001, pid: P, stream: 'stdout', text: 'env value hunter2hunter2' });
    assert.ok(!toMarkdown(t, ['hunter2hunter2']).includes('hunter2hunter2'), 'extra secrets are passed on');
  });
});

describe('describeEvent', () => {
  test('one readable line per kind', () => {
    const t = loadFixture('graceful-two-processes');
    const [main, child] = t.processes.map((p) => p.pid);
    const d = (kind: TraceEvent['kind'], pid = main) =>
      describeEvent(
        t.events.find((e) => e.kind === kind && e.pid === pid)!,
        t.meta.cwd,
        t,
      );
    const listen = t.events.find((e) => e.kind === 'listen')! as Extract<TraceEvent, { kind: 'listen' }>;
    const conn = t.events.find((e) => e.kind === 'conn-end')! as Extract<TraceEvent, { kind: 'conn-end' }>;
    // Lines and columns are those of test/fixtures/graceful-two-processes/server.js.
    assert.equal(d('listen'), `http server listening on ${listen.address}`);
    assert.equal(d('spawn'), `spawned child pid ${child}: node worker.js --queue jobs`);
    assert.equal(d('signal-sent'), `tool sent SIGTERM to process group of pid ${main}`);
    assert.equal(d('listener-start'), 'SIGTERM listener gracefulShutdown started (server.js:23:9)');
    assert.equal(d('listener-start', child), 'SIGTERM listener stopConsumer started (worker.js:7:9)');
    assert.equal(d('server-close'), 'server.close() with 1 connection, 1 request in flight (server.js:27:64)');
    assert.equal(d('request-end'), 'request GET /reports/42 ended with 200');
    assert.equal(d('conn-end'), `connection from ${conn.remote} ended (server-ended)`);
    assert.equal(d('listener-settled'), "SIGTERM listener's promise resolved");
    assert.equal(d('process-exit'), `pid ${main} exit code 0`);
  });
});

// ------------------------------------------------------------------ traffic and Kubernetes

describe('toMarkdown: traffic during shutdown', () => {
  const at = (ms: number) => `+${formatDuration(ms)}`;
  type LoadRequest = Extract<TraceEvent, { kind: 'load-request' }>;
  const requestsOf = (t: ReturnType<typeof loadFixture>) => t.events.filter((e) => e.kind === 'load-request') as LoadRequest[];
  /** The load-request events of an analysis role (its entries are indexes into the events). */
  const role = (t: ReturnType<typeof loadFixture>, name: 'lost' | 'turnedAway' | 'afterExit') => t.analysis!.requests!.roles![name].map((i) => t.events[i] as LoadRequest);
  const outcomeCells = (by: Record<string, number>, total: number) => [...['ok', 'refused', 'reset', 'timeout', 'http-5xx', 'other-error'].map((o) => String(by[o])), String(total)];

  test('load-drop: counts by outcome, lost vs turned away, and the first lost requests with their error', () => {
    const t = loadFixture('load-drop');
    const a = t.analysis!.requests!;
    const requests = requestsOf(t);
    const lostRequests = role(t, 'lost');
    // What the fixture's service does (test/fixtures/load-drop.js): process.exit() with requests in flight.
    assert.ok(a.lost > 5 && lostRequests.every((r) => r.outcome === 'reset' && r.error === 'UND_ERR_SOCKET: other side closed'), 'in-flight requests reset by the exit');
    assert.ok(a.refusedWhileAlive > 0 && a.resetAtClose > 0 && a.afterExit > 0, 'the run has every kind of turned-away request');
    const s = section(toMarkdown(t), 'Traffic during shutdown');
    const lines = s.split('\n');
    assert.ok(lines.includes(`50 requests/s at \`${t.meta.load!.url}\` (a new connection each), from when the service listened until 300 ms after its main process exited.`), s);
    const rows = lines.filter((l) => l.startsWith('| ')).map(cells);
    assert.deepEqual(rows[0], ['Requests', 'ok', 'refused', 'reset', 'timed out', '5xx', 'other errors', 'total']);
    // During shutdown: the requests in flight at SIGTERM or sent after it, until the exit.
    const signalAt = t.events.find((e) => e.kind === 'signal-sent')!.t;
    const exitAt = t.events.find((e) => e.kind === 'process-exit')!.t;
    const during = requests.filter((r) => r.end! > signalAt && r.t < exitAt);
    const count = (rs: LoadRequest[]) => Object.fromEntries(['ok', 'refused', 'reset', 'timeout', 'http-5xx', 'other-error'].map((o) => [o, rs.filter((r) => r.outcome === o).length]));
    assert.deepEqual(rows[1], ['During shutdown (from SIGTERM to the exit)', ...outcomeCells(count(during), during.length)]);
    assert.deepEqual(rows[2], ['Whole run', ...outcomeCells(count(requests), requests.length)]);
    assert.ok(lines.includes(`- 🔴 **Lost: ${a.lost}**: requests in flight at SIGTERM or sent after it before the main process exited that got no proper answer (${a.lost} reset).`), s);
    assert.ok(
      lines.includes(
        `- 🟠 **Turned away: ${a.refusedWhileAlive + a.resetAtClose}** (not counted as lost): ${a.refusedWhileAlive} refused by the closed listener, ${a.resetAtClose} reset in its accept queue as close() ran, while the process still ran. A load balancer still routing here would fail them.`,
      ),
      s,
    );
    assert.ok(lines.includes(`- Sent after the main process exited: ${a.afterExit} (the port was closed; never counted as lost).`), s);
    assert.ok(lines.includes(`First 5 of ${a.lost} lost requests:`));
    const lost = rows.slice(3);
    assert.deepEqual(lost[0], ['#', 'sent', 'ended', 'outcome', 'error']);
    assert.deepEqual(
      lost.slice(1),
      lostRequests.slice(0, 5).map((r) => [String(r.id), at(r.t), `${at(r.end!)} (${formatDuration(r.end! - r.t)})`, 'reset', `\`${r.error}\``]),
    );
    assert.ok(!s.includes('Event streams'), 'no stream line without streams');
  });

  test('the traffic section comes after the processes and before the findings', () => {
    const md = toMarkdown(loadFixture('load-drop'));
    const at = (h: string) => md.indexOf(`\n### ${h}`);
    assert.ok(at('Processes') < at('Traffic during shutdown') && at('Traffic during shutdown') < at('Findings'));
    assert.ok(!md.includes('### Kubernetes termination'));
  });

  test('lost-request evidence reads as requests, not event kinds', () => {
    const t = loadFixture('load-drop');
    const lost = role(t, 'lost');
    const f = section(toMarkdown(t), 'Findings');
    assert.ok(f.includes(`- 🔴 **${lost.length} requests lost during shutdown: ${lost.length} reset mid-request** (\`lost-requests\`)`), f);
    // Eight requests as evidence, then how many more.
    for (const r of lost.slice(0, 8))
      assert.ok(f.includes(`  - \`${at(r.t)}\` request \\#${r.id} reset after ${formatDuration(r.end! - r.t)}: UND\\_ERR\\_SOCKET: other side closed\n`), `#${r.id} in:\n${f}`);
    assert.ok(!f.includes(`request \\#${lost[8].id} reset`));
    assert.ok(f.includes(`  - … and ${lost.length - 8} more`));
    assert.ok(!f.includes('load-request'));
  });

  test('load-sse: streams cut, requests only turned away', () => {
    const t = loadFixture('load-sse');
    const a = t.analysis!.requests!;
    // test/fixtures/load-sse.js closes its server on SIGTERM and never ends its streams: SIGKILLed with both open.
    assert.deepEqual([a.lost, a.streams.total, a.streams.cut], [0, 2, 2]);
    assert.ok(a.refusedWhileAlive > 0);
    const s = section(toMarkdown(t), 'Traffic during shutdown');
    assert.ok(s.includes(`5 requests/s at \`${t.meta.load!.url}\` (a new connection each), plus 2 server-sent-event streams,`), s);
    assert.ok(s.includes('- ✅ **Lost: 0**: requests in flight at SIGTERM or sent after it before the main process exited that got no proper answer.'));
    assert.ok(s.includes(`- 🟠 **Turned away: ${a.refusedWhileAlive}** (not counted as lost): ${a.refusedWhileAlive} refused by the closed listener`), s);
    assert.ok(s.includes('- 🔴 Event streams: 2, 0 ended by the service, 2 cut.'));
    assert.ok(!s.includes('lost requests:') && !s.includes('Lost request'));
  });

  test('without an analysis the counts come from the spans, and agree', () => {
    const withA = section(toMarkdown(loadFixture('load-drop')), 'Traffic during shutdown');
    const t = loadFixture('load-drop');
    delete t.analysis;
    assert.equal(section(toMarkdown(t), 'Traffic during shutdown'), withA);
  });

  test('a run that never reached the load says so', () => {
    const t = loadFixture('load-drop');
    t.events = t.events.filter((e) => !e.kind.startsWith('load-'));
    delete t.analysis;
    const s = section(toMarkdown(t), 'Traffic during shutdown');
    assert.ok(s.includes('The load never started'));
    assert.ok(s.includes('**Lost: 0**'));
  });
});

describe('toMarkdown: Kubernetes termination', () => {
  const at = (ms: number) => `+${formatDuration(ms)}`;
  const ev = <K extends TraceEvent['kind']>(t: ReturnType<typeof loadFixture>, kind: K) => {
    const e = t.events.find((x) => x.kind === kind);
    assert.ok(e, `the fixture has a ${kind} event`);
    return e as Extract<TraceEvent, { kind: K }>;
  };
  const rowsOf = (s: string) =>
    Object.fromEntries(
      s
        .split('\n')
        .filter((l) => l.startsWith('| '))
        .map(cells)
        .map((r) => [r[0], r[1]]),
    );

  test('preStop sleep, graceful: the pod verdict, preStop, the signal, SIGKILL not needed, no extension', () => {
    const t = loadFixture('k8s-prestop-sleep');
    const md = toMarkdown(t);
    const s = section(md, 'Kubernetes termination');
    const term = ev(t, 'termination-start');
    const pre = ev(t, 'prestop-end');
    const sent = ev(t, 'signal-sent');
    const exit = ev(t, 'process-exit');
    const killAt = t.meta.k8s!.schedule!.killAtMs;
    const lost = t.analysis!.requests!.lost;
    assert.ok(s.includes(`✅ **A real pod would have stopped gracefully ${formatDuration(exit.t - term.t, 2)} into its 3 s grace period; ${lost} requests lost; no handles alive.**`), s);
    const rows = rowsOf(s);
    assert.equal(rows['terminationGracePeriodSeconds'], '3 s');
    assert.equal(rows['Stop signal'], '`SIGTERM`');
    assert.equal(rows['preStop'], `sleep 1 s: ran ${formatDuration(pre.durationMs)}, from ${at(ev(t, 'prestop-start').t)}: finished`);
    assert.equal(rows['Termination began'], `${at(term.t)} (the grace period counts from here)`);
    assert.equal(rows['Stop signal sent'], `SIGTERM to pid ${t.meta.mainPid} at ${at(sent.t)} (${formatDuration(sent.t - term.t)} after termination began)`);
    assert.equal(rows['SIGKILL'], `not needed: due at ${at(term.t + killAt)} (${formatDuration(killAt)} after termination began), the main process ended before`);
    assert.equal(rows['Grace extension'], 'none');
    assert.equal(rows['Kubelet arithmetic'], '3 s − 1 s of preStop (whole seconds) = 2 s after the stop signal');
    assert.equal(rows['Main process ended'], `${at(exit.t)} (${formatDuration(exit.t - term.t)} after termination began), exit code 0`);
    // The plan reads as the kubelet's, not as "SIGKILL N s after the first signal".
    const plan = section(md, 'Signal plan');
    assert.ok(plan.includes('- Termination (Kubernetes, --k8s): 100 ms after the service starts listening'));
    assert.ok(plan.includes('- preStop: sleep 1 s, then the stop signal'));
    assert.ok(plan.includes('- SIGKILL: terminationGracePeriodSeconds 3 counted from the start of termination'));
    assert.ok(!plan.includes('after the first signal'));
    // Traffic counts from the start of termination: the requests that ended after it began.
    const sh = t.analysis!.requests!.shutdown;
    const after = t.events.filter((e) => e.kind === 'load-request' && e.end! > term.t);
    assert.equal(sh.total, after.length);
    assert.ok(sh.byOutcome.ok > 0 && sh.byOutcome.refused > 0);
    const by = ['ok', 'refused', 'reset', 'timeout', 'http-5xx', 'other-error'].map((o) => sh.byOutcome[o as keyof typeof sh.byOutcome]);
    assert.ok(section(md, 'Traffic during shutdown').includes(`| During shutdown (from the start of termination to the exit) | ${by.join(' | ')} | ${sh.total} |`));
  });

  test('preStop overran: killed, the extension applied, SIGKILL sent', () => {
    const t = loadFixture('k8s-prestop-overrun');
    const md = toMarkdown(t);
    const s = section(md, 'Kubernetes termination');
    const term = ev(t, 'termination-start');
    const hook = ev(t, 'prestop-start');
    const ext = ev(t, 'grace-extension');
    const sent = ev(t, 'signal-sent');
    const kill = ev(t, 'kill-sent');
    const exit = ev(t, 'process-exit');
    // HANG=1: test/fixtures/k8s-app.js's handler leaves an interval; with the HTTP server, two handles.
    assert.equal(t.analysis!.leaks!.length, 2);
    assert.ok(s.startsWith('\n🔴 **A real pod would have been killed at 4 s (preStop overran the 2 s grace period; SIGKILL came 2 s after SIGTERM); 0 requests lost; 2 handles alive.**'), s);
    const rows = rowsOf(s);
    assert.equal(rows['terminationGracePeriodSeconds'], '2 s');
    assert.equal(
      rows['preStop'],
      `exec \`echo draining; sleep 5\`: ran ${formatDuration(ev(t, 'prestop-end').durationMs)}, from ${at(hook.t)}: ⚠️ still running at the 2 s grace deadline: the kubelet stopped waiting (overran)`,
    );
    assert.equal(rows['Stop signal sent'], `SIGTERM to pid ${t.meta.mainPid} at ${at(sent.t)} (${formatDuration(sent.t - term.t)} after termination began)`);
    assert.equal(rows['SIGKILL'], `sent at ${at(kill.t)} (${formatDuration(kill.t - term.t)} after termination began); due 4 s after termination began, 2 s after the stop signal`);
    assert.ok(rows['Grace extension'].startsWith(`applied: SIGKILL 2 s after the stop signal (at ${at(ext.t)}); preStop was still running at the 2 s grace deadline`), rows['Grace extension']);
    assert.equal(rows['Kubelet arithmetic'], undefined, 'no arithmetic line when the hook overran');
    assert.equal(rows['Main process ended'], `${at(exit.t)} (${formatDuration(exit.t - term.t)} after termination began), killed by SIGKILL`);
    const f = section(md, 'Findings');
    assert.ok(f.includes('(`prestop`)') && f.includes('(`k8s-termination`)'));
    assert.ok(f.includes(`  - \`${at(hook.t)}\` preStop exec: echo draining; sleep 5 started (pid ${hook.hookPid})`), f);
    assert.ok(f.includes(`  - \`${at(ext.t)}\` grace extended by 2 s: preStop was still running`), f);
    assert.ok(f.includes(`  - \`${at(term.t)}\` pod termination began: terminationGracePeriodSeconds 2, stop signal SIGTERM, preStop exec: echo draining; sleep 5`), f);
  });

  test('a failed hook shows its error, exit code and output in a fence', () => {
    const t = loadFixture('k8s-prestop-sleep');
    const pe = t.events.find((e) => e.kind === 'prestop-end')!;
    Object.assign(pe, { ok: false, error: 'exited with code 7', exitCode: 7, output: 'curl: (7) Failed to connect\n```\n<b>done</b>' });
    const s = section(toMarkdown(t), 'Kubernetes termination');
    assert.ok(s.includes(`| preStop | sleep 1 s: ran ${formatDuration(pe.durationMs)}, from ${at(ev(t, 'prestop-start').t)}: ❌ failed: exited with code 7, exit code 7 |`), s);
    assert.ok(s.includes('preStop output (last lines):'));
    const [block] = fences(s);
    assert.equal(block.fence, '````');
    assert.deepEqual(s.split('\n').slice(block.open + 1, block.close), ['curl: (7) Failed to connect', '```', '<b>done</b>']);
  });

  test('not terminated: said so, no signal, no SIGKILL', () => {
    const t = loadFixture('k8s-prestop-sleep');
    t.events = t.events.filter((e) => !['termination-start', 'prestop-start', 'prestop-end', 'signal-sent', 'signal'].includes(e.kind));
    delete t.meta.k8s!.schedule;
    delete t.meta.k8s!.startedAt;
    delete t.analysis;
    const s = section(toMarkdown(t), 'Kubernetes termination');
    assert.ok(s.includes('🟠 **No pod termination: the run ended before the termination began.**'), s);
    assert.ok(s.includes('| Stop signal sent | never |'));
    assert.ok(s.includes('| SIGKILL | not sent |'));
  });

  test('hostile hook text and load fields cannot break the tables, and secrets are redacted', () => {
    const t = loadFixture('k8s-prestop-overrun');
    const cmd = 'curl -H "Authorization: Bearer md-K8S-SECRET-1" "localhost/drain|x" <script>';
    t.meta.k8s!.preStop = { action: 'exec', command: cmd };
    for (const e of t.events) {
      if (e.kind === 'termination-start') e.preStop = `exec: ${cmd}`;
      if (e.kind === 'prestop-start') e.detail = `exec: ${cmd}`;
      if (e.kind === 'load-start') e.url = 'http://127.0.0.1:36937/?token=md-K8S-SECRET-2';
    }
    t.analysis!.k8s!.summary = 'killed | <img src=x> token=md-K8S-SECRET-3';
    t.analysis!.requests!.url = 'http://127.0.0.1:36937/?token=md-K8S-SECRET-2';
    const md = toMarkdown(t);
    for (const x of ['md-K8S-SECRET-1', 'md-K8S-SECRET-2', 'md-K8S-SECRET-3']) assert.ok(!md.includes(x), x);
    const s = section(md, 'Kubernetes termination');
    assert.ok(s.includes('**A real pod would have been killed \\| \\<img src=x> token=«redacted».**'));
    const row = s.split('\n').find((l) => l.startsWith('| preStop |'))!;
    assert.equal(cells(row).length, 2, row);
    assert.ok(row.includes('Bearer «redacted»'));
    for (const l of md.split('\n').filter((x) => x.startsWith('| '))) assert.ok(!/<script|<img/.test(l.replace(/(`+)[\s\S]*?\1/g, '')), l);
  });
});

describe('describeEvent: traffic and Kubernetes', () => {
  test('one readable line per kind', () => {
    const t = loadFixture('k8s-prestop-overrun');
    const nth = <K extends TraceEvent['kind']>(kind: K, n = 0) => t.events.filter((e) => e.kind === kind)[n] as Extract<TraceEvent, { kind: K }>;
    const d = (kind: TraceEvent['kind'], n = 0) => describeEvent(nth(kind, n), t.meta.cwd, t);
    assert.equal(d('load-start'), `load started: 5 requests/s at ${t.meta.load!.url}`);
    const r1 = nth('load-request');
    assert.equal(r1.outcome, 'ok');
    assert.equal(d('load-request'), `request #1 answered (HTTP 200) after ${formatDuration(r1.end! - r1.t)}`);
    assert.equal(d('termination-start'), 'pod termination began: terminationGracePeriodSeconds 2, stop signal SIGTERM, preStop exec: echo draining; sleep 5');
    assert.equal(d('prestop-start'), `preStop exec: echo draining; sleep 5 started (pid ${nth('prestop-start').hookPid})`);
    assert.equal(d('prestop-end'), `preStop still running at the grace deadline: the kubelet stopped waiting after ${formatDuration(nth('prestop-end').durationMs)}`);
    assert.match(d('grace-extension'), /^grace extended by 2 s: preStop was still running at the 2 s grace deadline/);
    // A summary with several outcomes: load-drop's (answered, refused by the closed port, reset by the exit).
    const l = loadFixture('load-drop');
    const sum = l.events.find((e) => e.kind === 'load-summary') as Extract<TraceEvent, { kind: 'load-summary' }>;
    assert.ok(sum.byOutcome.ok > 0 && sum.byOutcome.refused > 0 && sum.byOutcome.reset > 0);
    assert.equal(describeEvent(sum, l.meta.cwd, l), `load ended: ${sum.sent} requests sent (${sum.byOutcome.ok} ok, ${sum.byOutcome.refused} refused, ${sum.byOutcome.reset} reset)`);
    const s = loadFixture('load-sse');
    const stream = s.events.find((e) => e.kind === 'load-request' && e.sse) as Extract<TraceEvent, { kind: 'load-request' }>;
    assert.equal(describeEvent(stream, s.meta.cwd, s), `event stream #${stream.id} reset (HTTP 200) after ${formatDuration(stream.end! - stream.t)}, ${stream.events} events: ${stream.error}`);
    assert.match(stream.error!, /^HPE_INVALID_EOF_STATE: /, 'cut by the SIGKILL mid-stream');
    assert.equal(
      describeEvent(
        s.events.find((e) => e.kind === 'load-start')!,
        s.meta.cwd,
        s,
      ),
      `load started: 5 requests/s at ${s.meta.load!.url}, 2 event streams`,
    );
    const k = loadFixture('k8s-prestop-sleep');
    const pe = k.events.find((e) => e.kind === 'prestop-end') as Extract<TraceEvent, { kind: 'prestop-end' }>;
    assert.equal(describeEvent(pe, k.meta.cwd, k), `preStop finished after ${formatDuration(pe.durationMs)}`);
  });
});

describe('toMarkdown: no local absolute paths', () => {
  for (const name of ['leaked-interval', 'graceful-two-processes', 'load-drop', 'load-sse', 'k8s-prestop-sleep', 'k8s-prestop-overrun'] as const) {
    test(`${name}: nothing under the working directory or a home directory is written absolute`, () => {
      const t = loadFixture(name);
      const md = toMarkdown(t);
      assert.ok(!md.includes(t.meta.cwd), `${t.meta.cwd} in:\n${md}`);
      assert.ok(!/\/(home|Users)\//.test(md), md);
    });
  }

  test('paths under the root are relative (file URLs too), the root itself is ".", another home is ~', () => {
    const t = loadFixture('leaked-interval');
    const cwd = t.meta.cwd;
    t.processes[0].command = `node ${cwd}/src/server.js --config ${cwd}`;
    t.output.push({ t: 5000, pid: t.meta.mainPid!, stream: 'stderr', text: `Error at file://${cwd}/src/db.mjs:3:1 (see /home/other/notes.txt)` });
    const md = toMarkdown(t);
    assert.ok(md.includes(`| ${t.meta.mainPid} | main | \`node src/server.js --config .\` |`), md);
    assert.ok(md.includes('ERR Error at src/db.mjs:3:1 (see ~/notes.txt)'), md);
    const fromParent = toMarkdown(t, undefined, { root: '/home/dev' });
    assert.ok(fromParent.includes('`node shop-api/src/server.js --config shop-api` |'), fromParent);
  });
});
