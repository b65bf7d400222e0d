/**
 * shutdown-trace collect DIR [--out DIR] [--grace S] [--otlp [URL]] [--json]
 *
 * Turns the spools and traces that preloads wrote without a launcher (SHUTDOWN_TRACE_DIR), from
 * any number of processes, pods and nodes, into one analysed trace per shutdown; prints one line
 * per shutdown, worst first, and what cannot be known without the launcher; with --otlp sends
 * each shutdown as an OpenTelemetry trace.
 */
import * as fs from 'fs';
import { unknowns, ASSUMED_GRACE_MS } from '../core/spool-read';
import { collectDir } from '../core/collect-dir';
import { resourceOf } from '../core/resource';
import { shutdownSpans, sendOtlp, otlpProtocol, type OtlpProtocol } from '../core/export-otlp';
import { redactTrace, redactText } from '../core/redact';
import { terminalSafe, terminalSafeJson } from '../core/terminal-safe';
import { UsageError, parseSeconds, oneOf } from './args';
import { Option, value, type CliCommand } from './command';
import { stdout, stderr, writeFileAtomic } from './io';

export interface CollectValues {
  out?: string;
  grace?: number;
  otlp?: string | true;
  otlpProtocol?: OtlpProtocol;
  json?: boolean;
}

/** `--otlp` takes a URL only: `collect --otlp DIR` reads DIR. */
export const COLLECT_TAKES = { '--otlp': (next: string) => /^https?:\/\//i.test(next) };

export function declareCollectOptions(cmd: CliCommand): CliCommand {
  return cmd
    .description("spools and traces of many processes/pods → one analysed trace per shutdown (no launcher; see the README's deployment recipe)")
    .argument('<DIR>', 'a folder of spools (SHUTDOWN_TRACE_DIR) and traces')
    .addOption(value(new Option('--out <DIR>', 'where the traces go (default DIR)'), (v) => v))
    .addOption(value(new Option('--grace <S>', "the platform's grace period (terminationGracePeriodSeconds), not known otherwise; a bare number is seconds"), parseSeconds))
    .addOption(new Option('--otlp [URL]', 'send each as an OpenTelemetry trace (OTEL_EXPORTER_OTLP_* respected)'))
    .addOption(
      value(new Option('--otlp-protocol <P>', 'http/protobuf or http/json'), (v) =>
        oneOf(v, ['http/protobuf', 'http/json'] as const, (got) => `--otlp-protocol must be http/protobuf or http/json (got ${got})`),
      ),
    )
    .addOption(new Option('--json', 'print the result as JSON'));
}

export async function runCollect(v: CollectValues, dir: string): Promise<number> {
  const out = v.out;
  const graceMs = v.grace;
  const otlpWanted = v.otlp !== undefined;
  const otlp = typeof v.otlp === 'string' ? v.otlp : undefined;
  let protocol = v.otlpProtocol;
  const json = !!v.json;
  if (!dir) throw new UsageError('collect needs a folder of spools, e.g. shutdown-trace collect ./spools');
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new UsageError(`folder not found: ${terminalSafe(dir)}`);
  }
  if (!st.isDirectory()) throw new UsageError(`${terminalSafe(dir)} is not a folder`);
  if (otlpWanted && !protocol) {
    try {
      protocol = otlpProtocol();
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const { results, input } = collectDir(dir, { graceMs, out, write: writeFileAtomic });

  let sent: { ok: boolean; error?: string; spans: number } | undefined;
  if (otlpWanted && results.length) {
    const spans = results.flatMap((r) => shutdownSpans(redactTrace(r.trace)));
    try {
      sent = { ...(await sendOtlp(spans, { url: otlp, protocol })), spans: spans.length };
    } catch (e) {
      sent = { ok: false, error: (e as Error).message, spans: spans.length };
    }
  }

  const standalone = results.some((r) => (r.trace.meta as { standalone?: unknown }).standalone);
  if (json) {
    const rows = results.map((r) => {
      const a = r.trace.analysis!;
      const res = resourceOf(r.trace);
      return {
        file: r.file,
        written: r.written,
        pid: a.servicePid ?? r.trace.meta.mainPid,
        host: res['host.name'],
        pod: res['k8s.pod.name'],
        namespace: res['k8s.namespace.name'],
        service: res['service.name'],
        exitReason: a.exitReason,
        signalToExitMs: a.signalToExitMs,
        leakedHandleCount: a.leakedHandleCount,
        verdict: redactText(a.verdict),
      };
    });
    stdout(terminalSafeJson(JSON.stringify({ shutdowns: rows, unknown: standalone ? unknowns(graceMs !== undefined) : [], problems: input.problems, otlp: sent }, null, 2)) + '\n');
  } else {
    const lines: string[] = [];
    lines.push(
      `Shutdown Trace: ${results.length} shutdown${results.length === 1 ? '' : 's'} in ${terminalSafe(dir)} (${input.units.length} process${input.units.length === 1 ? '' : 'es'} recorded without the launcher, ${input.traces.length} launcher trace${input.traces.length === 1 ? '' : 's'}), worst first`,
    );
    for (const r of results) {
      const t = redactTrace({ ...r.trace, events: [], output: [] });
      const a = t.analysis!;
      const res = resourceOf(t);
      const who = [
        res['k8s.namespace.name'] && res['k8s.pod.name'] ? `${res['k8s.namespace.name']}/${res['k8s.pod.name']}` : (res['k8s.pod.name'] ?? res['host.name']),
        `pid ${a.servicePid ?? t.meta.mainPid}`,
      ]
        .filter(Boolean)
        .join(' ');
      const mark = a.exitReason === 'graceful' ? '✔' : a.exitReason === 'exited-before-signal' ? '●' : '✖';
      lines.push('');
      lines.push(`${mark} ${a.exitReason.padEnd(20)} ${terminalSafe(String(who))}  ${terminalSafe(t.meta.command.join(' ')).slice(0, 80)}`);
      lines.push(`    ${terminalSafe(a.verdict)}`);
      lines.push(`    ${r.written ? 'trace' : 'found'}: ${terminalSafe(r.file)}`);
    }
    if (standalone) {
      lines.push('');
      lines.push('Not known without the launcher:');
      for (const u of unknowns(graceMs !== undefined)) lines.push(`  - ${u}`);
      if (graceMs === undefined) lines.push(`  (verdicts hold the shutdowns against ${ASSUMED_GRACE_MS / 1000} s; a kill at the real deadline is recognised with --grace)`);
    }
    if (sent)
      lines.push(
        '',
        sent.ok
          ? `sent ${results.length} shutdown${results.length === 1 ? '' : 's'} (${sent.spans} spans) over OTLP (${protocol})`
          : `OTLP export failed: ${terminalSafe(sent.error ?? 'unknown error')}`,
      );
    if (input.problems.length) {
      lines.push('', `${input.problems.length} file${input.problems.length === 1 ? '' : 's'} could not be used:`);
      for (const p of input.problems.slice(0, 20)) lines.push(`  - ${terminalSafe(p)}`);
    }
    (results.length ? stdout : stderr)(lines.join('\n') + '\n');
  }
  if (!results.length) {
    if (!json) stderr(`shutdown-trace: no spools or traces in ${terminalSafe(dir)} (files named *.spool.ndjson or *.shutdown-trace.json)\n`);
    return 2;
  }
  return sent && !sent.ok ? 1 : 0;
}
