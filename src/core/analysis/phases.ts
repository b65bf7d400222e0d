/**
 * Phase timings: the shutdown after each signal, every signal listener, every server.close()
 * and the app's own phases (diagnostics_channel), nested by containment within a process.
 */
import { userFrame, formatFrame } from '../../shared/frames';
import type { Trace, TraceEvent, PhaseTiming } from '../../shared/trace';

type Ev<K extends TraceEvent['kind']> = Extract<TraceEvent, { kind: K }>;

export function phaseTimings(trace: Trace): PhaseTiming[] {
  const { events, meta } = trace;
  const cwd = meta.cwd;
  const of = <K extends TraceEvent['kind']>(kind: K, pid?: number) => events.filter((e): e is Ev<K> => e.kind === kind && (pid === undefined || e.pid === pid));
  const arrivals = events.filter((e): e is Ev<'signal'> => e.kind === 'signal');
  const procEnd = (pid: number) => trace.processes.find((p) => p.pid === pid)?.end ?? meta.durationMs;
  const pids = [...new Set(events.filter((e) => e.pid > 0).map((e) => e.pid))];
  const phases: PhaseTiming[] = [];
  for (const pid of pids) {
    const arr = arrivals.filter((e) => e.pid === pid);
    const end = procEnd(pid);
    if (arr.length) {
      phases.push({ id: `shutdown-${pid}`, pid, name: `shutdown after ${arr[0].signal}`, start: arr[0].t, end, durationMs: end - arr[0].t, depth: 0, auto: true });
    }
    const starts = of('listener-start', pid);
    for (const s of starts) {
      const endEv = events.find((e) => e.pid === pid && e.kind === 'listener-end' && e.id === s.id && e.t >= s.t) as Ev<'listener-end'> | undefined;
      const settled = events.find((e) => e.pid === pid && e.kind === 'listener-settled' && e.id === s.id && e.t >= s.t) as Ev<'listener-settled'> | undefined;
      const f = userFrame(s.site);
      const name = `${s.signal} listener ${s.name ? s.name + ' ' : ''}(${f ? formatFrame(f, cwd) : 'unknown site'})`;
      const stop = settled?.t ?? (endEv && !endEv.returnedPromise ? endEv.t : undefined);
      phases.push({
        id: `listener-${pid}-${s.id}-${s.t}`,
        pid,
        name,
        start: s.t,
        end: stop,
        durationMs: stop !== undefined ? stop - s.t : undefined,
        depth: 0,
        auto: true,
        error: endEv?.threw ?? (settled && !settled.ok ? settled.error : undefined),
      });
    }
    for (const c of of('server-close', pid)) {
      const closed = events.find((e) => e.pid === pid && e.kind === 'server-closed' && e.server === c.server && e.t >= c.t);
      const listen = of('listen', pid).find((l) => l.server === c.server);
      phases.push({
        id: `close-${pid}-${c.server}`,
        pid,
        name: `close server ${listen?.address ?? c.server}`,
        start: c.t,
        end: closed?.t,
        durationMs: closed ? closed.t - c.t : undefined,
        depth: 0,
        auto: true,
      });
    }
    const ends = new Map<string, Ev<'phase-end'>>();
    for (const e of of('phase-end', pid)) ends.set(e.id, e);
    for (const s of of('phase-start', pid)) {
      const e = ends.get(s.id);
      phases.push({ id: `phase-${pid}-${s.id}`, pid, name: s.name, start: s.t, end: e?.t, durationMs: e ? e.t - s.t : undefined, depth: 0, auto: !!s.auto, error: e?.error });
    }
  }
  // Nesting by containment within a process.
  for (const pid of pids) {
    const ps = phases.filter((p) => p.pid === pid).sort((a, b) => a.start - b.start || (b.end ?? Infinity) - (a.end ?? Infinity));
    const stack: PhaseTiming[] = [];
    for (const p of ps) {
      const pEnd = p.end ?? procEnd(pid);
      while (stack.length && (stack[stack.length - 1].end ?? procEnd(pid)) < pEnd - 1e-6) stack.pop();
      p.depth = stack.length;
      stack.push(p);
    }
  }
  phases.sort((a, b) => a.pid - b.pid || a.start - b.start);
  return phases;
}
