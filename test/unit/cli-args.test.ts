// The CLI's argument parsing: what `run` and `check` make of a command line, and the one-line
// errors a user sees for a wrong one. The engine tests run the built CLI; these run the parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRunArgs, declareRunOptions, parseRunCommandLine } from '../../src/cli/run-options';
import { declareCheckOptions, type CheckValues } from '../../src/cli/check';
import { CliCommand } from '../../src/cli/command';
import { program } from '../../src/cli/main';

const usage = (args: string[]) => {
  try {
    parseRunArgs(args);
  } catch (e) {
    assert.equal((e as Error).name, 'UsageError', `${args.join(' ')}: ${(e as Error).stack}`);
    return (e as Error).message;
  }
  assert.fail(`${args.join(' ')} was accepted`);
};

test('defaults: SIGTERM once it listens, 30 s grace, to the main process', () => {
  const r = parseRunArgs(['--', 'node', 'app.js']);
  assert.deepEqual(r.command, ['node', 'app.js']);
  assert.deepEqual(r.plan, { signal: 'SIGTERM', when: { mode: 'listening', delayMs: 100, timeoutMs: 10_000 }, graceMs: 30_000, delivery: 'main' });
  assert.equal(r.out, 'shutdown-trace.shutdown-trace.json');
  assert.equal(r.load, undefined);
  assert.equal(r.k8s, undefined);
  assert.equal(r.platform, undefined);
});

test('durations and signals in every spelling the README shows', () => {
  const r = parseRunArgs(['--signal', 'int', '--grace', '1m', '--signal-after', '1.5s', '--second-signal', 'SIGTERM', '--second-after', '250', '--stall=2s', '--', 'node', 'x.js']);
  assert.equal(r.plan.signal, 'SIGINT');
  assert.equal(r.plan.graceMs, 60_000);
  assert.deepEqual(r.plan.when, { mode: 'after', ms: 1500 });
  assert.deepEqual(r.plan.second, { signal: 'SIGTERM', afterMs: 250 });
  assert.equal(r.stallMs, 2000);
});

test('--signal-after and --when: the later one on the line decides', () => {
  assert.deepEqual(parseRunArgs(['--when', 'never', '--signal-after', '2s', '--', 'node']).plan.when, { mode: 'after', ms: 2000 });
  assert.deepEqual(parseRunArgs(['--signal-after', '2s', '--when', 'never', '--', 'node']).plan.when, { mode: 'never' });
  assert.deepEqual(parseRunArgs(['--when', 'after', '--signal-after', '500', '--', 'node']).plan.when, { mode: 'after', ms: 500 });
});

test('everything after -- is the service command, its own options included', () => {
  const r = parseRunArgs(['--json', '--', 'node', 'app.js', '--grace', '5', '--json', '--']);
  assert.deepEqual(r.command, ['node', 'app.js', '--grace', '5', '--json', '--']);
  assert.equal(r.plan.graceMs, 30_000);
  assert.equal(r.json, true);
});

test('without --, the first word that is not an option starts the command', () => {
  const r = parseRunArgs(['--grace', '3s', '--quiet', 'node', 'app.js', '--port', '3000']);
  assert.deepEqual(r.command, ['node', 'app.js', '--port', '3000']);
  assert.equal(r.plan.graceMs, 3000);
  assert.equal(r.quiet, true);
});

test('--load takes an optional target: alone it is the port the service listens on', () => {
  assert.equal(parseRunArgs(['--load', '--', 'node', 'app.js']).load?.target, 'auto');
  assert.equal(parseRunArgs(['--load', '8080', '--', 'node', 'app.js']).load?.target, '8080');
  assert.equal(parseRunArgs(['--load=127.0.0.1:8080', '--', 'node']).load?.target, '127.0.0.1:8080');
  // Without "--" a word is a target only when it looks like one; otherwise it starts the command.
  const bare = parseRunArgs(['--load', 'node', 'app.js']);
  assert.equal(bare.load?.target, 'auto');
  assert.deepEqual(bare.command, ['node', 'app.js']);
  const withTarget = parseRunArgs(['--load', '3000', 'node', 'app.js']);
  assert.equal(withTarget.load?.target, '3000');
  assert.deepEqual(withTarget.command, ['node', 'app.js']);
  const l = parseRunArgs(['--load', '--rate', '50', '--keep-alive', '--load-path', '/health', '--', 'node']).load!;
  assert.deepEqual([l.rate, l.keepAlive, l.path], [50, true, '/health']);
  assert.equal(parseRunArgs(['--sse', '3', '--', 'node']).load?.rate, 0, '--sse alone holds streams only');
});

test('--init takes tini or dumb-init, and leaves a command word alone', () => {
  assert.deepEqual(parseRunArgs(['--init', '--', 'node']).platform?.container, { init: 'tini' });
  assert.deepEqual(parseRunArgs(['--init', 'dumb-init', '--', 'node']).platform?.container, { init: 'dumb-init' });
  const r = parseRunArgs(['--init', 'node', 'app.js']);
  assert.deepEqual(r.platform?.container, { init: 'tini' });
  assert.deepEqual(r.command, ['node', 'app.js']);
});

test('Kubernetes options imply --k8s and replace the plan', () => {
  const r = parseRunArgs(['--termination-grace', '5', '--prestop-sleep', '2', '--stop-signal', 'SIGQUIT', '--', 'node']);
  assert.deepEqual(r.k8s, { graceSeconds: 5, stopSignal: 'SIGQUIT', preStop: { action: 'sleep', ms: 2000 } });
  assert.equal(r.plan.signal, 'SIGQUIT');
  assert.equal(r.plan.graceMs, 5000);
  // With --docker, --stop-signal is docker's.
  const d = parseRunArgs(['--stop-signal', 'SIGINT', '--docker', '--', 'node']);
  assert.equal(d.k8s, undefined);
  assert.equal(d.platform?.docker?.stopSignal, 'SIGINT');
});

test('usage errors name the option and the problem', () => {
  const cases: [string[], RegExp][] = [
    [['--signal', 'SIGNOPE', '--', 'node'], /^--signal: unknown signal SIGNOPE$/],
    [['--grace', 'soon', '--', 'node'], /^--grace: not a duration: soon/],
    [['--grace'], /^--grace needs a value$/],
    [['--grace', '--json', '--', 'node'], /^--grace needs a value$/],
    [['--when', 'later', '--', 'node'], /^--when must be listening, after or never \(got later\)$/],
    [['--when', 'after', '--', 'node'], /^--when after needs --signal-after MS$/],
    [['--delivery', 'everyone', '--', 'node'], /^--delivery must be main or group/],
    [['--bogus', '--', 'node'], /^unknown option --bogus$/],
    [['--grace', '1s'], /^no command given/],
    [['--rate', '10', '--', 'node'], /^--rate needs --load/],
    [['--load', '--rate', '5000', '--', 'node'], /^--rate: at most 1000/],
    [['--k8s', '--second-signal', 'SIGINT', '--', 'node'], /no second signal/],
    [['--prestop-sleep', '1s', '--prestop-exec', 'true', '--', 'node'], /one handler: give only one of --prestop-sleep, --prestop-exec/],
    [['--init', 'foo', '--', 'node'], /^--init: tini or dumb-init \(got foo\)$/],
    [['--kill-mode', 'mixed', '--', 'node'], /^--kill-mode needs --systemd$/],
  ];
  for (const [args, re] of cases) assert.match(usage(args), re, args.join(' '));
});

test("check's budgets parse next to every run option", () => {
  const cmd = declareCheckOptions(declareRunOptions(new CliCommand('check')));
  const { values, command } = parseRunCommandLine<CheckValues>(cmd, [
    '--allow-leak',
    'setInterval*',
    '--allow-leak=server.js:3',
    '--allow-orphans',
    '--max-shutdown',
    '2s',
    '--grace',
    '5s',
    '--',
    'node',
    'app.js',
  ]);
  assert.deepEqual(values.allowLeak, ['setInterval*', 'server.js:3']);
  assert.equal(values.allowOrphans, true);
  assert.equal(values.maxShutdown, 2000);
  assert.equal(values.grace, 5000);
  assert.deepEqual(command, ['node', 'app.js']);
});

test('the help is generated from the declaration: every option, grouped', () => {
  const cli = program(() => {});
  const top = cli.helpInformation();
  for (const c of ['run', 'show', 'export', 'collect', 'view', 'check']) assert.match(top, new RegExp(`^  ${c}\\b`, 'm'), c);
  const run = cli.commands.find((c) => c.name() === 'run')!.helpInformation();
  for (const group of ['Run options:', 'Traffic during shutdown:', 'Kubernetes termination', 'Platforms']) assert.ok(run.includes(group), group);
  for (const flag of ['--signal <SIG>', '--grace <MS>', '--load [TARGET]', '--k8s', '--init [tini|dumb-init]', '--expect <survive>']) assert.ok(run.includes(flag), flag);
  assert.ok(!run.includes('--keep-alive'), 'aliases stay out of the help');
  const check = cli.commands.find((c) => c.name() === 'check')!.helpInformation();
  for (const flag of ['--max-shutdown <DUR>', '--allow-leak <PATTERN>', '--junit <FILE>', '--grace <MS>']) assert.ok(check.includes(flag), flag);
});
