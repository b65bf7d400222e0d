import type { Trace } from '../shared/trace';
import { toChromeTrace } from '../core/export-chrome';
import { toMarkdown } from '../core/export-md';
import { redactTrace } from '../core/redact';
import { UsageError } from './args';
import { stdout, writeFileAtomic } from './io';
import { terminalSafe, terminalSafeJson, terminalSafeLines } from '../core/terminal-safe';
import { moreFormat, runExportMore } from './export-more';

/** shutdown-trace export <trace> --format chrome|md|json|otlp|openmetrics [--out FILE] */
export function runExport(args: string[], read: (f: string) => Trace): number | Promise<number> {
  if (moreFormat(args)) return runExportMore(args, read);
  let file: string | undefined;
  let format = 'chrome';
  let out: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--format') format = args[++i];
    else if (a.startsWith('--format=')) format = a.slice(9);
    else if (a === '--out') out = args[++i];
    else if (a.startsWith('--out=')) out = a.slice(6);
    else if (a.startsWith('--')) throw new UsageError(`unknown option ${a}`);
    else file = a;
  }
  if (!file) throw new UsageError('export needs a trace file');
  const trace = redactTrace(read(file));
  let text: string;
  switch (format) {
    case 'chrome': text = JSON.stringify(toChromeTrace(trace)); break;
    case 'md': case 'markdown': text = toMarkdown(trace); break;
    case 'json': text = JSON.stringify(trace); break;
    default: throw new UsageError(`--format must be chrome, md, json, otlp or openmetrics (got ${format})`);
  }
  // Control characters from the trace never reach a terminal (or a file someone cats later):
  // Markdown line by line, JSON with the characters JSON.stringify leaves raw escaped.
  text = format === 'md' || format === 'markdown' ? terminalSafeLines(text) : terminalSafeJson(text);
  if (out) {
    try {
      writeFileAtomic(out, text);
    } catch (e) {
      throw new UsageError(`could not write ${terminalSafe(out)}: ${terminalSafe((e as Error).message)}`);
    }
  } else stdout(text.endsWith('\n') ? text : text + '\n');
  return 0;
}
