/**
 * `export --format otlp` and `export --format openmetrics`, which export.ts hands over here:
 *   shutdown-trace export <trace> --format otlp [--out FILE] [--otlp [URL]] [--otlp-protocol P]
 *   shutdown-trace export <trace> --format openmetrics [--out FILE]
 * otlp writes the OTLP/HTTP JSON request body (POST it to /v1/traces), or with --otlp sends it
 * with the official exporter (OTEL_EXPORTER_OTLP_* respected).
 */
import type { Trace } from '../shared/trace';
import { redactTrace } from '../core/redact';
import { shutdownSpans, otlpBody, sendOtlp, otlpProtocol, type OtlpProtocol } from '../core/export-otlp';
import { toOpenMetrics } from '../core/export-openmetrics';
import { terminalSafe, terminalSafeJson } from '../core/terminal-safe';
import { UsageError } from './args';
import { writeOutput } from './io';

export interface ExportMoreValues {
  out?: string;
  otlp?: string | true;
  otlpProtocol?: OtlpProtocol;
}

/** `--otlp` takes a URL only: `export --otlp FILE` reads FILE. */
export const EXPORT_TAKES = { '--otlp': (next: string) => /^https?:\/\//i.test(next) };

export async function runExportMore(v: ExportMoreValues & { format: 'otlp' | 'openmetrics' }, file: string, read: (f: string) => Trace): Promise<number> {
  const format = v.format;
  const out = v.out;
  const send = v.otlp !== undefined;
  const url = typeof v.otlp === 'string' ? v.otlp : undefined;
  let protocol = v.otlpProtocol;
  if (send && format !== 'otlp') throw new UsageError('--otlp goes with --format otlp');
  const trace = redactTrace(read(file));
  let text: string;
  if (format === 'openmetrics') text = toOpenMetrics([trace]);
  else {
    const spans = shutdownSpans(trace);
    if (send) {
      try {
        protocol ??= otlpProtocol();
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      const r = await sendOtlp(spans, { url, protocol });
      if (!r.ok) throw new UsageError(`OTLP export failed: ${terminalSafe(r.error ?? 'unknown error')}`);
      return 0;
    }
    text = terminalSafeJson(Buffer.from(otlpBody(spans, 'json')).toString('utf8'));
  }
  writeOutput(out, text);
  return 0;
}
