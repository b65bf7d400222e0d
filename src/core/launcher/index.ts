/**
 * The launcher: starts a command under the tracer and carries out the signal plan (startRun),
 * or rebuilds a dead launcher's trace from its journal (rebuildTrace, for the watchdog).
 * One concern per file in this folder: run.ts the run itself, recorder.ts the trace being
 * recorded, command.ts what is spawned,
 * traffic.ts the load during shutdown, kubernetes.ts the kubelet's termination, orphans.ts
 * what outlived the service, spools.ts the preloads' spool files, output.ts the service's output
 * lines, updates.ts live updates for a viewer.
 */
import * as fs from 'fs';
import * as path from 'path';
import { readJournal, type JournalStart } from '../journal';
import type { Trace, Delivery } from '../../shared/trace';
import { LaunchError, type RunOptions, type RunHandle, type RunUpdate } from '../run-api';
import { withPlatformDefaults } from '../platform/options';
import { k8sSignalPlan } from '../../shared/k8s-plan';
import { TOOL_VERSION } from '../version';
import { Run, type Rescue } from './run';

export { LaunchError, TOOL_VERSION };
export type { RunOptions, RunHandle, RunUpdate, Rescue };
export { quoteNodeOption, withPreload, defaultPreloadPath, resolveCommand } from './command';
export { writeTrace } from './spools';

/** A dead launcher's trace, from its spool directory; undefined when there is no journal to go by. */
export function rebuildTrace(spoolDir: string, rescue: Rescue): { trace: Trace; out?: string } | undefined {
  const records = readJournal(spoolDir);
  const start = records.find((r) => r.type === 'start') as JournalStart | undefined;
  if (!start || typeof start.t0 !== 'number') return undefined;
  const meta = [...records].reverse().find((r) => r.type === 'meta')?.meta as Trace['meta'] | undefined;
  const plan = { signal: 'SIGTERM', graceMs: 0, delivery: 'main' as Delivery, ...(meta?.plan ?? {}), when: { mode: 'never' as const } };
  // No load and no k8s: nothing in the replay may act on the world.
  const run = new Run({ command: start.command, plan }, start.cwd, start.t0);
  return { trace: run.rebuild(records, spoolDir, rescue), out: start.out };
}

export async function startRun(opts: RunOptions): Promise<RunHandle> {
  const cwd = path.resolve(opts.cwd || process.cwd());
  if (!fs.existsSync(cwd) || !fs.statSync(cwd).isDirectory()) throw new LaunchError(`Working directory does not exist: ${cwd}`);
  if (!opts.command.length) throw new LaunchError('No command given. Usage: shutdown-trace run [options] -- <command> [args...]');
  // The kubelet sends the stop signal to the main process only, once, and kills by its own arithmetic.
  if (opts.k8s) opts = { ...opts, plan: k8sSignalPlan(opts.plan, opts.k8s).plan };
  opts = withPlatformDefaults(opts); // --k8s as PID 1, --init in front of the command
  const run = new Run(opts, cwd);
  await run.start();
  return run;
}
