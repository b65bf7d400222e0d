import type { Trace } from '../shared/trace';
import { toChromeTrace } from '../core/export-chrome';
import { toMarkdown } from '../core/export-md';
import { redactTrace } from '../core/redact';
import { UsageError, oneOf } from './args';
import { Option, value, type CliCommand } from './command';
import { writeOutput } from './io';
import { terminalSafeJson, terminalSafeLines } from '../core/terminal-safe';
import { runExportMore, type ExportMoreValues } from './export-more';

export interface ExportValues extends ExportMoreValues {
  format?: string;
  out?: string;
}

export function declareExportOptions(cmd: CliCommand): CliCommand {
  return cmd
    .description('write a trace in another format')
    .argument('<trace>', 'a .shutdown-trace.json file')
    .addOption(value(new Option('--format <FORMAT>', 'chrome (default; chrome://tracing, Perfetto) | md | json | otlp | openmetrics'), (v) => v))
    .addOption(value(new Option('--out <FILE>', 'write to FILE instead of stdout'), (v) => v))
    .addOption(new Option('--otlp [URL]', 'with --format otlp: send it with the OpenTelemetry exporter (OTEL_EXPORTER_OTLP_* respected) instead of writing it'))
    .addOption(
      value(new Option('--otlp-protocol <P>', 'http/protobuf or http/json'), (v) =>
        oneOf(v, ['http/protobuf', 'http/json'] as const, (got) => `--otlp-protocol must be http/protobuf or http/json (got ${got})`),
      ),
    );
}

/** shutdown-trace export <trace> --format chrome|md|json|otlp|openmetrics [--out FILE] */
export function runExport(v: ExportValues, file: string, read: (f: string) => Trace): number | Promise<number> {
  const format = v.format ?? 'chrome';
  const out = v.out;
  if (format === 'otlp' || format === 'openmetrics') return runExportMore({ ...v, format }, file, read);
  if (v.otlp !== undefined) throw new UsageError('--otlp goes with --format otlp');
  const trace = redactTrace(read(file));
  let text: string;
  switch (format) {
    case 'chrome':
      text = JSON.stringify(toChromeTrace(trace));
      break;
    case 'md':
    case 'markdown':
      text = toMarkdown(trace);
      break;
    case 'json':
      text = JSON.stringify(trace);
      break;
    default:
      throw new UsageError(`--format must be chrome, md, json, otlp or openmetrics (got ${format})`);
  }
  // Control characters from the trace never reach a terminal (or a file someone cats later):
  // Markdown line by line, JSON with the characters JSON.stringify leaves raw escaped.
  text = format === 'md' || format === 'markdown' ? terminalSafeLines(text) : terminalSafeJson(text);
  writeOutput(out, text);
  return 0;
}
