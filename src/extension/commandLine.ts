/**
 * Command-line helpers for the extension host (no `vscode` import, so they are testable anywhere).
 */

export class CommandLineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandLineError';
  }
}

/** Characters that make a line need a real shell: pipes, lists, redirection, substitution, globs. */
const SHELL_SYNTAX = /[|&;<>()`]|\$\(|\$\{|\$[A-Za-z_]|[*?]/;

export interface ParsedCommandLine {
  /** argv to spawn (for a line that needs a shell: ['sh', '-c', line]). */
  argv: string[];
  /** Leading `NAME=value` assignments, moved into the environment. */
  env: Record<string, string>;
  /** True when the line is run through `sh -c` because it uses shell syntax. */
  viaShell: boolean;
}

/**
 * Splits a command line the way a POSIX shell would for simple commands: whitespace separates
 * words, single quotes are literal, double quotes allow \" \\ \$ \` escapes, a backslash outside
 * quotes escapes the next character. Throws CommandLineError on an unclosed quote.
 */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new CommandLineError('The command line has an unclosed single quote.');
      cur += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      let closed = false;
      while (i < line.length) {
        const d = line[i];
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1])) {
          cur += line[i + 1];
          i += 2;
          continue;
        }
        cur += d;
        i++;
      }
      if (!closed) throw new CommandLineError('The command line has an unclosed double quote.');
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[i + 1];
      inWord = true;
      i += 2;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      i++;
    } else {
      cur += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

/** Shell syntax outside quotes? (Quoted `|` or `*` are plain characters.) */
export function needsShell(line: string): boolean {
  let unquoted = '';
  let q: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) {
      if (c === q) q = undefined;
      else if (q === '"' && (c === '$' || c === '`')) unquoted += c; // substitution still happens in ""
      continue;
    }
    if (c === "'" || c === '"') {
      q = c;
      continue;
    }
    if (c === '\\') {
      i++;
      continue;
    }
    unquoted += c;
  }
  return SHELL_SYNTAX.test(unquoted);
}

/**
 * Parses what a user typed into argv + env. Simple lines are spawned directly (the traced service
 * then is the main process, as in production); lines with shell syntax go through `sh -c`.
 */
export function parseCommandLine(line: string, platform: NodeJS.Platform = process.platform): ParsedCommandLine {
  const trimmed = line.trim();
  if (!trimmed) throw new CommandLineError('The command line is empty.');
  if (needsShell(trimmed)) {
    const argv = platform === 'win32' ? ['cmd.exe', '/d', '/s', '/c', trimmed] : ['sh', '-c', trimmed];
    return { argv, env: {}, viaShell: true };
  }
  const words = splitWords(trimmed);
  const env: Record<string, string> = {};
  while (words.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0])) {
    const w = words.shift()!;
    const eq = w.indexOf('=');
    env[w.slice(0, eq)] = w.slice(eq + 1);
  }
  if (words.length === 0) throw new CommandLineError('The command line only sets environment variables; there is no command to run.');
  return { argv: words, env, viaShell: false };
}

/** Quotes argv for display (and for pasting into a POSIX shell). */
export function formatArgv(argv: readonly string[]): string {
  return argv.map(quoteArg).join(' ');
}

export function quoteArg(a: string): string {
  if (a === '') return "''";
  if (/^[A-Za-z0-9_\-+=.,/:@%^]+$/.test(a)) return a;
  return `'${a.replace(/'/g, `'\\''`)}'`;
}

/** A short label for titles: the command's base name and its first few words, at most ~48 chars. */
export function shortLabel(argv: readonly string[]): string {
  const parts = argv.map((a, i) => {
    if (i === 0 || a.includes('/') || a.includes('\\')) {
      const base = a.split(/[\\/]/).pop() || a;
      return base;
    }
    return a;
  });
  let s = parts.join(' ');
  if (s.length > 48) s = s.slice(0, 47) + '…';
  return s;
}
