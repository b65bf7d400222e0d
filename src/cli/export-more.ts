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
import { stdout, writeFileAtomic } from './io';

/** The format asked for, when it is one of these; export.ts then returns runExportMore's result. */
export function moreFormat(args: string[]): 'otlp' | 'openmetrics' | undefined {
  for (let i = 0; i < args.length; i++) {
    const f = args[i] === '--format' ? args[i + 1] : args[i].startsWith('--format=') ? args[i].slice(9) : undefined;
    if (f === 'otlp' || f === 'openmetrics') return f;
  }
  return undefined;
}

export async function runExportMore(args: string[], read: (f: string) => Trace): Promise<number> {
  let file: string | undefined;
  let format = '';
  let out: string | undefined;
  let url: string | undefined;
  let send = false;
  let protocol: OtlpProtocol | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const val = () => {
      const v = inline ?? args[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    if (flag === '--format') format = val();
    else if (flag === '--out') out = val();
    else if (flag === '--otlp') {
      send = true;
      if (inline !== undefined) url = inline;
      else if (args[i + 1] !== undefined && /^https?:\/\//i.test(args[i + 1])) url = args[++i];
    } else if (flag === '--otlp-protocol') {
      const v = val();
      if (v !== 'http/protobuf' && v !== 'http/json') throw new UsageError(`--otlp-protocol must be http/protobuf or http/json (got ${v})`);
      protocol = v;
    } else if (a.startsWith('--')) throw new UsageError(`unknown option ${a}`);
    else file = a;
  }
  if (!file) throw new UsageError('export needs a trace file');
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
  if (out) {
    try {
      writeFileAtomic(out, text);
    } catch (e) {
      throw new UsageError(`could not write ${terminalSafe(out)}: ${terminalSafe((e as Error).message)}`);
    }
  } else stdout(text.endsWith('\n') ? text : text + '\n');
  return 0;
}
