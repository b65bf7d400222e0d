/**
 * The command-line parser every command is declared with (commander), set up so that its
 * mistakes read as ours: one line, naming the option, exit code 2 (UsageError), and help and
 * the version on stdout.
 */
import { Command, Option } from 'commander';
import { UsageError } from './args';
import { stdout } from './io';

export { Option };

/** How a missing argument is named in "view needs a trace file". */
const ARGUMENT_WORDS: Record<string, string> = {
  trace: 'a trace file',
  DIR: 'a folder of spools, e.g. shutdown-trace collect ./spools',
};

/** A commander Command whose parse errors are UsageErrors with this CLI's wording. */
export class CliCommand extends Command {
  constructor(name?: string) {
    super(name);
    this.exitOverride();
    this.configureOutput({ writeOut: (s) => stdout(s), writeErr: () => {}, outputError: () => {} });
    this.showSuggestionAfterError(false);
  }

  override createCommand(name?: string): CliCommand {
    return new CliCommand(name);
  }

  // commander calls these by name when parsing fails.
  unknownOption(flag: string): never {
    throw new UsageError(`unknown option ${flag}`);
  }

  unknownCommand(): never {
    throw new UsageError(`unknown command "${this.args[0]}"`);
  }

  optionMissingArgument(option: Option): never {
    throw new UsageError(`${option.long} needs a value`);
  }

  missingArgument(name: string): never {
    throw new UsageError(`${this.name()} needs ${ARGUMENT_WORDS[name] ?? name}`);
  }

  _excessArguments(received: string[]): never {
    throw new UsageError(`too many arguments for ${this.name()}: ${received.join(' ')}`);
  }
}

/**
 * An option value read with `parse` (which names the option in its errors). A value that is
 * itself an option ("--grace --json") is a missing value, not a strange one.
 */
export function value<T>(option: Option, parse: (v: string, flag: string) => T): Option {
  const flag = option.long ?? option.flags;
  return option.argParser((v: string) => {
    if (v.startsWith('--')) throw new UsageError(`${flag} needs a value`);
    return parse(v, flag);
  });
}

/** A repeatable option: every value kept, in order. */
export function repeatable(option: Option): Option {
  const flag = option.long ?? option.flags;
  return option.argParser((v: string, previous: string[] | undefined) => {
    if (v.startsWith('--')) throw new UsageError(`${flag} needs a value`);
    return [...(previous ?? []), v];
  });
}

/**
 * Options whose value is optional (`--load [TARGET]`) take the next word only when `takes`
 * accepts it, so `run --load node app.js` starts `node app.js` rather than loading "node".
 * Returns the words with such an option written as `--load=<its preset>` where the next word
 * is not its value. Only the options before the command's first operand are looked at when
 * the command passes the rest through (run, check).
 */
export function shieldOptionalValues(cmd: Command, args: string[], takes: Record<string, (next: string, dashGiven: boolean) => boolean>, passThrough: boolean): string[] {
  const dashGiven = args.includes('--');
  const out = [...args];
  for (let i = 0; i < out.length; i++) {
    const a = out[i];
    if (a === '--') break;
    if (!a.startsWith('-')) {
      if (passThrough) break;
      continue;
    }
    if (a.includes('=')) continue;
    const o = cmd.options.find((x) => x.long === a);
    if (!o) {
      if (passThrough) break;
      continue;
    }
    if (o.required) i++;
    else if (o.optional && takes[a] && i + 1 < out.length && !out[i + 1].startsWith('-') && !takes[a](out[i + 1], dashGiven)) out[i] = `${a}=${String(o.presetArg)}`;
  }
  return out;
}
