/**
 * The tool's own failures: logged to stderr only when SHUTDOWN_TRACE_VERBOSE is set, and never
 * allowed to reach user code.
 */
let verbose = false;

export function setVerbose(on: boolean): void {
  verbose = on;
}

export function log(msg: string): void {
  if (!verbose) return;
  try {
    require('fs').writeSync(2, `[shutdown-trace ${process.pid}] ${msg}\n`);
  } catch {}
}

/** Runs a hook body; a failure inside the tool is logged (when verbose) and never reaches the user. */
export function guard(what: string, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    log(`${what} failed: ${(e as Error)?.stack || e}`);
  }
}

/** A user's error as one line for an event; never throws, whatever the value is. */
export function errText(e: unknown): string {
  try {
    if (e instanceof Error) return `${e.name}: ${e.message}`;
    return String(e);
  } catch {
    return 'unprintable error';
  }
}
