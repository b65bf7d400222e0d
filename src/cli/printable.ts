/**
 * What a terminal report may print of a trace: its meta, processes and analysis, redacted
 * (the run's own collector token included) and with every string terminal-safe. Events and
 * output lines are left out: a report prints from these three parts only, and redacting a
 * million events for a summary would take seconds.
 */
import type { Trace } from '../shared/trace';
import { analysisOf } from '../core/analysis';
import { redactTrace } from '../core/redact';
import { collectorTokens } from '../core/collector';
import { terminalSafeDeep } from '../core/terminal-safe';

export function printable(trace: Trace): Trace {
  return terminalSafeDeep(redactedSummary(trace));
}

/** The same parts, redacted only (for JSON output, where JSON escaping keeps the terminal safe). */
export function redactedSummary(trace: Trace): Trace {
  const analysis = analysisOf(trace);
  return redactTrace({ ...trace, events: [], output: [], analysis }, collectorTokens());
}
