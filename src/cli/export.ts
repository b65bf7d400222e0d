import * as fs from 'fs';
import type { Trace } from '../core/trace';
import { toChromeTrace } from '../core/export-chrome';
import { toMarkdown } from '../core/export-md';
import { redactTrace } from '../core/redact';
import { UsageError } from './args';

/** shutdown-trace export <trace> --format chrome|md|json [--out FILE] */
export function runExport(args: string[], read: (f: string) => Trace): number {
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
    default: throw new UsageError(`--format must be chrome, md or json (got ${format})`);
  }
  if (out) fs.writeFileSync(out, text);
  else process.stdout.write(text.endsWith('\n') ? text : text + '\n');
  return 0;
}
