/**
 * How each load request counts, read from the analysis (analysis.requests.roles): the one
 * definition of "lost", "turned away" and "after the exit" for every consumer. Browser-safe.
 */
import type { TraceEvent, RequestRoles } from './trace';

export type RequestRole = 'lost' | 'turned-away' | 'answered' | 'after-exit' | 'before-shutdown' | 'stream';

/** Each load-request event's role, by index into trace.events; requests in none of the analysis' lists were answered. */
export function roleByEvent(events: readonly TraceEvent[], roles: RequestRoles): Map<number, RequestRole> {
  const out = new Map<number, RequestRole>();
  events.forEach((e, i) => {
    if (e.kind === 'load-request') out.set(i, e.sse ? 'stream' : 'answered');
  });
  for (const i of roles.lost) out.set(i, 'lost');
  for (const i of roles.turnedAway) out.set(i, 'turned-away');
  for (const i of roles.afterExit) out.set(i, 'after-exit');
  for (const i of roles.beforeShutdown) out.set(i, 'before-shutdown');
  return out;
}
