/**
 * Run options as the platform modes shape them, applied once in startRun: `--k8s` runs the
 * command as PID 1 unless the pod shares its process namespace; `--init` puts the init in front
 * of the command (so the trace's command line is what really runs as PID 1).
 */
import { LaunchError, type RunOptions } from '../run-api';
import { probeNamespaces, withInit } from './container';

export function withPlatformDefaults(opts: RunOptions): RunOptions {
  let p = opts.platform;
  // A container's command is PID 1 of its own PID namespace unless shareProcessNamespace is set.
  if (opts.k8s && !p?.container && !p?.sharedPidNamespace) p = { ...p, container: {} };
  if (!p) return opts;
  let command = opts.command;
  const init = p.container?.init;
  if (init) {
    try {
      command = withInit(init, command, probeNamespaces().ok);
    } catch (e) {
      throw new LaunchError((e as Error).message);
    }
  }
  return { ...opts, command, platform: p };
}
