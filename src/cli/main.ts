/**
 * shutdown-trace CLI: run | show | export | view | check | collect. Every command and option is
 * declared once, on the commander program below; the help is generated from it.
 * User-facing errors are one line naming the problem, exit code 2; never a stack dump.
 */
import { CommanderError } from 'commander';
import { LaunchError } from '../core/launcher';
import { terminalSafe } from '../core/terminal-safe';
import { guardStdio, stdout, stderr } from './io';
import { TraceFormatError } from '../shared/trace-file';
import { renderReport } from './report';
import { UsageError } from './args';
import { CliCommand, shieldOptionalValues } from './command';
import { TOOL_VERSION } from '../core/version';
import { declareExportOptions, runExport } from './export';
import { EXPORT_TAKES } from './export-more';
import { declareViewOptions, runView } from './view';
import { declareCollectOptions, runCollect, COLLECT_TAKES } from './collect';
import { declareCheckOptions, runCheck, type CheckValues } from './check';
import { declareRunOptions, runArgsFrom, RUN_TAKES, type RunValues } from './run-options';
import { runRun, readTraceFile } from './run';

/** The whole command line, declared; `done` receives each command's exit code. */
export function program(done: (code: number | Promise<number>) => void): CliCommand {
  const cli = new CliCommand('shutdown-trace');
  cli
    .description('Trace how a Node.js service shuts down: signals, listeners, phases against the grace period, and the handles that kept it alive.')
    .version(TOOL_VERSION, '--version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .enablePositionalOptions()
    .addHelpText(
      'after',
      "\nEach command's options: shutdown-trace <command> --help\nExit codes: 0 traced (whatever the service did), 1 a check budget broken, 2 usage or launch error, 130 interrupted.\n",
    );

  const run = declareRunOptions(cli.command('run').description("trace a service's shutdown: shutdown-trace run [options] -- <command> [args...]") as CliCommand);
  run.action((command: string[], v: RunValues) => done(runRun(runArgsFrom(v, command))));

  cli
    .command('show')
    .description('print the diagnosis of a saved trace')
    .argument('<trace>', 'a .shutdown-trace.json file')
    .action((file: string) => {
      const trace = readTraceFile(file);
      stdout(renderReport(trace, { tracePath: file, color: !!process.stdout.isTTY }) + '\n');
      done(0);
    });

  const exp = declareExportOptions(cli.command('export') as CliCommand);
  exp.action((file: string, v) => done(runExport(v, file, readTraceFile)));

  const collect = declareCollectOptions(cli.command('collect') as CliCommand);
  collect.action((dir: string, v) => done(runCollect(v, dir)));

  const view = declareViewOptions(cli.command('view') as CliCommand);
  view.action((file: string, v) => done(runView(v, file, readTraceFile)));

  const check = declareCheckOptions(
    declareRunOptions(cli.command('check').description('CI gate: trace one shutdown, exit 1 when a budget is broken: shutdown-trace check [budgets] [run options] -- <command>') as CliCommand),
  );
  check.action((command: string[], v: CheckValues) => done(runCheck(v, command)));
  return cli;
}

/** Words an option with an optional value may take, per command. */
const TAKES: Record<string, { takes: Record<string, (next: string, dashGiven: boolean) => boolean>; passThrough: boolean }> = {
  run: { takes: RUN_TAKES, passThrough: true },
  check: { takes: RUN_TAKES, passThrough: true },
  export: { takes: EXPORT_TAKES, passThrough: false },
  collect: { takes: COLLECT_TAKES, passThrough: false },
};

export async function main(argv: string[]): Promise<number> {
  guardStdio();
  let result: number | Promise<number> = 0;
  // done() must not return the promise: commander would chain on it, and a rejection would go unhandled.
  const cli = program((code) => {
    result = code;
  });
  if (argv.length === 0) {
    stdout(cli.helpInformation());
    return 2;
  }
  const [name, ...rest] = argv;
  const sub = cli.commands.find((c) => c.name() === name);
  const t = TAKES[name];
  const args = sub && t ? [name, ...shieldOptionalValues(sub, rest, t.takes, t.passThrough)] : argv;
  try {
    cli.parse(args, { from: 'user' });
  } catch (e) {
    // Help and --version are printed by commander and end the parse this way.
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return e.exitCode === 0 ? 0 : 2;
      throw new UsageError(e.message.replace(/^error: /, ''));
    }
    throw e;
  }
  return await result;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      // Messages name files and commands the user gave: one line each, control characters removed.
      if (e instanceof UsageError || e instanceof LaunchError || e instanceof TraceFormatError) stderr(`shutdown-trace: ${terminalSafe(e.message)}\n`);
      else
        stderr(
          `shutdown-trace: internal error: ${terminalSafe((e as Error)?.message ?? e)}\n(set SHUTDOWN_TRACE_DEBUG=1 for details)\n${process.env.SHUTDOWN_TRACE_DEBUG ? terminalSafe((e as Error)?.stack) + '\n' : ''}`,
        );
      process.exitCode = 2;
    },
  );
}
