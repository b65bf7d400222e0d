/**
 * One folder collected: `shutdown-trace collect` and the VS Code "Collect" action both run this,
 * so a shutdown is grouped, built, analysed, named and ranked the same way wherever it is read.
 * The caller supplies the writer (the CLI's atomic write); nothing here prints.
 */
import * as path from 'path';
import { readCollectDir, groupUnits, buildTrace, collectedName, type CollectInput } from './spool-read';
import { analyze } from './analysis';
import type { ExitReason, Trace } from '../shared/trace';

/** Worst first: what needs looking at. The one order of verdicts (the CLI's list, the editor's list). */
export const WORST_FIRST: readonly ExitReason[] = ['crashed', 'killed-at-deadline', 'killed-by-signal', 'forced-exit', 'still-running', 'unknown', 'exited-before-signal', 'graceful'];

/** Position of an exit reason in WORST_FIRST (an unknown value sorts with 'unknown'). */
export function severityRank(r: ExitReason | undefined): number {
  const i = r ? WORST_FIRST.indexOf(r) : -1;
  return i >= 0 ? i : WORST_FIRST.indexOf('unknown');
}

export interface Collected {
  trace: Trace;
  /** Where it is: a file collect wrote, or the launcher's trace it found. */
  file: string;
  written: boolean;
}

export interface CollectOptions {
  /** The platform's grace period (terminationGracePeriodSeconds); undefined when not known. */
  graceMs?: number;
  /** Where collected traces go (default: the folder itself). */
  out?: string;
  /** Writes one file whole or not at all; throws on failure (the failure becomes a problem line). */
  write: (file: string, text: string) => void;
}

/** Reads, groups, builds and writes every shutdown under `dir`; results worst first. */
export function collectDir(dir: string, o: CollectOptions): { results: Collected[]; input: CollectInput } {
  const outDir = o.out ?? dir;
  const input = readCollectDir(dir, o.out && path.resolve(o.out) !== path.resolve(dir) ? o.out : undefined);
  const results: Collected[] = [];
  for (const group of groupUnits(input.units)) {
    const trace = buildTrace(group, { graceMs: o.graceMs });
    const file = path.join(outDir, collectedName(trace));
    let written = false;
    try {
      o.write(file, JSON.stringify(trace));
      written = true;
    } catch (e) {
      input.problems.push(`could not write ${file}: ${(e as Error).message}`);
    }
    results.push({ trace, file, written });
  }
  for (const t of input.traces) {
    t.trace.analysis = analyze(t.trace);
    results.push({ trace: t.trace, file: path.join(dir, t.file), written: false });
  }
  results.sort((x, y) => severityRank(x.trace.analysis!.exitReason) - severityRank(y.trace.analysis!.exitReason) || x.file.localeCompare(y.file));
  return { results, input };
}
