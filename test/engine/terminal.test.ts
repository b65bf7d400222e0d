/**
 * The service keeps its terminal: stdin reaches it, it sees a TTY where it would untraced, its
 * output is still recorded, Ctrl+C and closing the terminal end the run as they would a plain one.
 * Real processes in a real pseudo-terminal (util-linux script), typed into like a user would.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { CLI, FIXTURES, node } from './helpers';
import { withStdin, inPty, cliRun, serviceLines, tmpOut, hasScript, pidsAlive, until, shQuote } from './stdio-helpers';
import type { Trace } from '../../src/shared/trace';

const readTrace = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as Trace;
/** The `stty -g` lines a command printed on the terminal, in order. */
const sttyLines = (screen: string) =>
  screen
    .replace(/\r/g, '')
    .split('\n')
    .filter((l) => /^[0-9a-f]+(:[0-9a-f]+){10,}$/.test(l));
const pidsOf = (screen: string) => (/listening pids ([\d ]+)/.exec(screen)?.[1] ?? '').trim().split(' ').map(Number);

describe('stdin', () => {
  test('piped input reaches the service (echo input | shutdown-trace run -- node reads-stdin.js)', async () => {
    const plain = await withStdin(node('reads-stdin.js'), 'hello input\nsecond line\n');
    const out = tmpOut();
    const traced = await withStdin([process.execPath, CLI, 'run', '--when', 'never', '--out', out, '--', ...node('reads-stdin.js')], 'hello input\nsecond line\n');
    assert.match(plain.stdout, /read "hello input\\nsecond line\\n"/);
    assert.equal(traced.stdout, plain.stdout, 'the service read the same input and printed the same');
    const trace = readTrace(out);
    assert.deepEqual(trace.processes[0].exit, { code: 0, signal: null });
    assert.ok(
      trace.output.some((o) => o.stream === 'stdout' && o.text === 'read "hello input\\nsecond line\\n"'),
      'the output is recorded',
    );
  });
});

describe('a terminal', { skip: !hasScript && 'needs util-linux script(1) for a pseudo-terminal' }, () => {
  test('the service sees a TTY on stdin, stdout and stderr, reads what is typed; output recorded per stream; terminal modes restored', async () => {
    const run = async (command: string) => {
      const pty = inPty(command);
      // stdout and stderr reach the terminal through two channels: typing only once both arrived.
      await pty.waitFor(/to stderr/);
      pty.type('typed line\r');
      await pty.done;
      return pty.screen();
    };
    const plain = await run(['stty -g', node('reads-stdin.js').map(shQuote).join(' '), 'stty -g'].join('; '));
    const out = tmpOut();
    const traced = await run(['stty -g', cliRun(['--when', 'never', '--out', out], node('reads-stdin.js')), 'stty -g'].join('; '));
    const service = (s: string) => serviceLines(s).filter((l) => !/^[0-9a-f]+(:[0-9a-f]+){10,}$/.test(l));
    assert.deepEqual(service(plain), ['tty stdin=true stdout=true stderr=true', 'to stderr', 'typed line', 'read "typed line\\n"'], 'plain run, the reference');
    assert.deepEqual(service(traced), service(plain), 'traced: the same terminal behaviour and the same screen');
    // After the run the terminal is in the modes it had before (the tool's pty used raw mode).
    const after = sttyLines(traced);
    assert.equal(after.length, 2, `stty -g before and after: ${JSON.stringify(traced)}`);
    assert.equal(after[0], after[1], 'terminal modes restored');
    const trace = readTrace(out);
    const lines = trace.output.map((o) => `${o.stream}: ${o.text}`);
    assert.deepEqual(lines, ['stdout: tty stdin=true stdout=true stderr=true', 'stderr: to stderr', 'stdout: typed line', 'stdout: read "typed line\\n"']);
    assert.deepEqual(trace.processes[0].exit, { code: 0, signal: null });
  });

  test("in the background (&) the tool leaves the keyboard and the terminal's modes to the shell", async () => {
    const out = tmpOut();
    // A shell with job control: the run is a background job, the shell keeps the terminal.
    const job = cliRun(['--when', 'never', '--out', out], node('reads-stdin.js'));
    const pty = inPty(`stty -g; sh -c ${shQuote(`set -m; ${job} & sleep 1.5; stty -g; kill -INT %1; wait`)}; stty -g`);
    await pty.waitFor(/to stderr/);
    pty.type('for the shell\r');
    await pty.done;
    const modes = sttyLines(pty.screen());
    assert.equal(modes.length, 3, pty.screen());
    assert.equal(new Set(modes).size, 1, "the terminal stayed in the shell's modes throughout");
    const trace = readTrace(out);
    assert.ok(trace.output.some((o) => o.text === 'tty stdin=true stdout=true stderr=true'));
    assert.ok(!trace.output.some((o) => /^read /.test(o.text)), 'the service did not read what was typed for the shell');
  });

  test('colour escape sequences reach the terminal, the trace keeps the text', async () => {
    const out = tmpOut();
    const pty = inPty(cliRun(['--when', 'never', '--out', out], node('-e', 'console.log(process.stdout.isTTY ? "\\x1b[32mgreen\\x1b[39m" : "plain")')));
    await pty.done;
    assert.ok(pty.screen().includes('\x1b[32mgreen\x1b[39m'), 'the colours went to the terminal');
    assert.deepEqual(
      readTrace(out).output.map((o) => o.text),
      ['green'],
    );
  });

  test('Ctrl+C typed in the terminal ends the run as before: trace kept and marked incomplete, nothing left running', async () => {
    const out = tmpOut();
    const pty = inPty(cliRun(['--when', 'never', '--out', out], node('with-children.js')));
    await pty.waitFor(/listening pids \d+ \d+ \d+/);
    const pids = pidsOf(pty.screen());
    pty.type('\x03');
    const { code } = await pty.done;
    assert.equal(code, 130);
    assert.ok(await until(() => pidsAlive(pids).length === 0, 3000), `left running: ${pidsAlive(pids)}`);
    const trace = readTrace(out);
    assert.equal(trace.meta.complete, false);
    assert.match(trace.meta.incompleteReason!, /interrupted by the user/);
  });

  test('Ctrl+\\ kills the tool: its watchdog stops the service, keeps the trace, and the terminal gets its modes back', async () => {
    const out = tmpOut();
    // The watchdog notices the tool's death and ends the pty helper, which restores the modes: on a
    // loaded machine that can take seconds (the watchdog allows it 3 s after the service is
    // stopped), so the shell waits for it, up to 10 s.
    const pty = inPty(
      `m0=$(stty -g); echo "$m0"; ${cliRun(['--when', 'never', '--out', out], node('with-children.js'))}; for i in $(seq 100); do [ "$(stty -g)" = "$m0" ] && break; sleep 0.1; done; stty -g`,
    );
    await pty.waitFor(/listening pids \d+ \d+ \d+/);
    const pids = pidsOf(pty.screen());
    pty.type('\x1c');
    await pty.done;
    assert.ok(await until(() => pidsAlive(pids).length === 0, 5000), `left running: ${pidsAlive(pids)}`);
    const modes = sttyLines(pty.screen());
    assert.equal(modes.length, 2, pty.screen());
    assert.equal(modes[0], modes[1], 'terminal modes restored after the tool died');
    // The watchdog writes the trace once the service is stopped and the terminal restored.
    assert.ok(await until(() => fs.existsSync(out), 5000), 'the watchdog wrote the trace');
    const trace = readTrace(out);
    assert.match(trace.meta.incompleteReason!, /the tool's process ended before the run did/);
  });

  test('Ctrl+\\ while the service writes without pause: the terminal still gets its modes back', async () => {
    // script's writes to the dead tool's pipe fail: the pending SIGPIPE must not kill it before
    // it restores the modes (it did, on most runs, for a service writing every 5 ms).
    const out = tmpOut();
    const pty = inPty(
      `m0=$(stty -g); echo "$m0"; ${cliRun(['--when', 'never', '--out', out], node('chatty.js'))}; for i in $(seq 100); do [ "$(stty -g)" = "$m0" ] && break; sleep 0.1; done; stty -g`,
    );
    await pty.waitFor(/^listening/m);
    pty.type('\x1c');
    await pty.done;
    const modes = sttyLines(pty.screen());
    assert.equal(modes.length, 2, pty.screen().slice(-2000));
    assert.equal(modes[1], modes[0], 'terminal modes restored after the tool died');
    assert.ok(await until(() => fs.existsSync(out), 5000), 'the watchdog wrote the trace');
  });

  test('closing the terminal stops the service and its children, as it does a plain run; the trace is kept', async () => {
    const close = async (command: string) => {
      const pty = inPty(command);
      await pty.waitFor(/listening pids \d+ \d+ \d+/);
      const pids = pidsOf(pty.screen());
      // The terminal emulator goes away: the pty's master side closes, the kernel hangs up.
      pty.child.kill('SIGKILL');
      const gone = await until(() => pidsAlive(pids).length === 0, 5000);
      return { pids, gone };
    };
    const plain = await close(node('with-children.js').map(shQuote).join(' '));
    assert.ok(plain.gone, 'plain run: the terminal closing ends the service and its children (the reference)');
    const out = tmpOut();
    const traced = await close(cliRun(['--when', 'never', '--out', out], node('with-children.js')));
    assert.ok(traced.gone, `traced: left running: ${pidsAlive(traced.pids)}`);
    assert.ok(await until(() => fs.existsSync(out), 5000), 'trace written');
    const trace = readTrace(out);
    const sent = trace.events.filter((e) => e.kind === 'signal-sent');
    assert.deepEqual(
      sent.map((e) => e.kind === 'signal-sent' && [e.signal, e.delivery]),
      [['SIGHUP', 'group']],
    );
    assert.deepEqual(trace.processes.find((p) => p.isMain)!.exit, { code: null, signal: 'SIGHUP' });
    assert.ok(trace.events.some((e) => e.kind === 'note' && /terminal was closed/.test(e.text)));
  });
});

describe('SIGHUP to the CLI without a terminal', () => {
  test('is passed to the service process group; the run ends and its trace is written', async () => {
    const { spawn } = await import('node:child_process');
    const out = tmpOut();
    const cli = spawn(process.execPath, [CLI, 'run', '--when', 'never', '--out', out, '--', ...node('with-children.js')], { cwd: FIXTURES, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    cli.stdout.on('data', (d) => (stdout += d));
    const exited = new Promise<number | null>((r) => cli.on('exit', (c) => r(c)));
    assert.ok(await until(() => /listening pids \d+ \d+ \d+\ntick/.test(stdout), 10_000));
    const pids = pidsOf(stdout);
    cli.kill('SIGHUP');
    await exited;
    assert.ok(await until(() => pidsAlive(pids).length === 0, 3000), `left running: ${pidsAlive(pids)}`);
    const trace = readTrace(out);
    assert.deepEqual(trace.processes.find((p) => p.isMain)!.exit, { code: null, signal: 'SIGHUP' });
    // The node child shares the group and had no handler either: SIGHUP ended it too.
    assert.deepEqual(trace.processes.find((p) => p.pid === pids[1])!.exit, { code: null, signal: 'SIGHUP' });
  });
});
