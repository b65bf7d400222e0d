/**
 * Synthetic traces of any size for the render benchmarks: a busy HTTP service (requests,
 * keep-alive sockets, connection ends, live-handle counts, log lines) that is sent SIGTERM at
 * 80% of the run, drains with nested phases, leaks an interval and is SIGKILLed at the deadline.
 * Deterministic (seeded). Runs in Node and, bundled, in the page.
 *
 * CLI: node --import tsx test/webview/gen-trace.ts 100000 > big.shutdown-trace.json
 */
import type { Trace, TraceEvent, OutputLine } from '../../src/shared/trace';

export interface GenOptions {
  seed?: number;
  /** Child processes (each gets a share of the events). */
  children?: number;
}

export function generateTrace(n: number, o: GenOptions = {}): Trace {
  let seed = o.seed ?? 42;
  const rnd = (): number => {
    // mulberry32
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const main = 9000;
  const children = o.children ?? 2;
  const pids = [main, ...Array.from({ length: children }, (_, k) => main + 1 + k)];
  const duration = Math.max(3000, n * 0.4);
  const signalAt = duration * 0.8;
  const graceMs = Math.max(1000, duration * 0.15);
  const events: TraceEvent[] = [];
  const output: OutputLine[] = [];
  const cwd = '/srv/load-test';
  const site = (fn: string, file: string, line: number) => ({ frames: [{ fn, file: `${cwd}/${file}`, line, col: 5 }], user: 0 });

  events.push({ kind: 'spawned', t: 0, pid: main, command: 'node server.js' } as TraceEvent);
  for (const pid of pids) {
    events.push({
      kind: 'handle-open',
      t: 5,
      pid,
      handle: { id: `srv${pid}`, type: 'server', label: `HTTP server :::${8000 + pid - main}`, ref: true, createdAt: 5, site: site('main', 'server.js', 20) },
    });
    events.push({ kind: 'listen', t: 5.1, pid, server: `s${pid}`, proto: 'http', address: `:::${8000 + pid - main}` });
  }
  events.push({
    kind: 'handle-open',
    t: 9,
    pid: main,
    handle: { id: 'leak1', type: 'interval', label: 'setInterval 250ms', ref: true, createdAt: 9, site: site('startMetrics', 'metrics.js', 31) },
  });

  // steady state load, per process, time-ordered within each process
  const budget = Math.max(0, n - 40);
  const perPid = Math.floor(budget / pids.length);
  const perPidEvents: TraceEvent[][] = [];
  for (const pid of pids) {
    const list: TraceEvent[] = [];
    const pend: { t: number; e: TraceEvent }[] = [];
    let t = 10;
    let req = 0;
    let sock = 0;
    let live = 3;
    const step = (signalAt - 20) / (perPid / 1.55);
    const flush = (upTo: number): void => {
      pend.sort((a, b) => a.t - b.t);
      while (pend.length && pend[0].t <= upTo) list.push(pend.shift()!.e);
    };
    while (list.length + pend.length < perPid - 4 && t < signalAt - 5) {
      t += step * (0.2 + rnd() * 1.6);
      flush(t);
      const r = rnd();
      if (r < 0.42) {
        const id = `r${req++}`;
        const d = 0.5 + rnd() * rnd() * 400;
        const status = rnd() < 0.02 ? 500 : rnd() < 0.05 ? 404 : 200;
        list.push({ kind: 'request-start', t, pid, server: `s${pid}`, req: id, method: rnd() < 0.7 ? 'GET' : 'POST', path: `/api/items/${(rnd() * 1e4) | 0}` });
        pend.push({ t: t + d, e: { kind: 'request-end', t: t + d, pid, server: `s${pid}`, req: id, status, aborted: rnd() < 0.005 } });
      } else if (r < 0.62) {
        const id = `k${sock++}`;
        const d = 5 + rnd() * 3000;
        list.push({
          kind: 'handle-open',
          t,
          pid,
          handle: { id, type: 'socket', label: `TCP :::8000 ← 10.0.${(rnd() * 255) | 0}.${(rnd() * 255) | 0}:${40000 + ((rnd() * 20000) | 0)}`, ref: true, createdAt: t },
        });
        pend.push({ t: t + d, e: { kind: 'handle-close', t: t + d, pid, id } });
      } else if (r < 0.72) {
        list.push({
          kind: 'conn-end',
          t,
          pid,
          server: `s${pid}`,
          conn: `c${sock}`,
          remote: `10.0.0.${(rnd() * 255) | 0}:5${(rnd() * 9999) | 0}`,
          how: rnd() < 0.9 ? 'client-closed' : 'destroyed',
          hadRequest: rnd() < 0.8,
        });
      } else {
        live = Math.max(1, live + (rnd() < 0.5 ? -1 : 1) * ((rnd() * 3) | 0));
        list.push({ kind: 'active-count', t, pid, count: live });
      }
      if (rnd() < 0.1) output.push({ t, pid, stream: rnd() < 0.1 ? 'stderr' : 'stdout', text: `${pid} handled request ${req} in ${(rnd() * 200).toFixed(1)}ms` });
    }
    flush(Infinity);
    for (const e of list) if (e.t >= signalAt) e.t = signalAt - 1 - rnd();
    list.sort((a, b) => a.t - b.t);
    perPidEvents.push(list);
  }
  // merge per-process lists by time (the order a collector would write them)
  const merged = perPidEvents.flat().sort((a, b) => a.t - b.t);
  for (const e of merged) events.push(e);

  // shutdown
  const S = signalAt;
  events.push({ kind: 'signal-sent', t: S, pid: 0, signal: 'SIGTERM', target: main, delivery: 'group', nth: 1 } as TraceEvent);
  for (const pid of pids) events.push({ kind: 'signal', t: S + 0.3, pid, signal: 'SIGTERM', nth: 1, listeners: 1 });
  events.push({ kind: 'listener-start', t: S + 0.4, pid: main, id: 'l1', signal: 'SIGTERM', name: 'shutdown', site: site('main', 'server.js', 44) });
  events.push({ kind: 'phase-start', t: S + 0.5, pid: main, id: 'p1', name: 'shutdown' });
  events.push({ kind: 'phase-start', t: S + 0.6, pid: main, id: 'p2', name: 'close server' });
  events.push({ kind: 'server-close', t: S + 0.7, pid: main, server: `s${main}`, connections: 12, active: 3, inFlight: 2 });
  events.push({ kind: 'listener-end', t: S + 0.8, pid: main, id: 'l1', signal: 'SIGTERM', returnedPromise: true });
  events.push({ kind: 'server-closed', t: S + 420, pid: main, server: `s${main}` });
  events.push({ kind: 'phase-end', t: S + 420.1, pid: main, id: 'p2' });
  events.push({ kind: 'phase-start', t: S + 420.2, pid: main, id: 'p3', name: 'close db' });
  events.push({ kind: 'phase-end', t: S + 510, pid: main, id: 'p3' });
  events.push({ kind: 'phase-end', t: S + 511, pid: main, id: 'p1' });
  events.push({ kind: 'listener-settled', t: S + 511.2, pid: main, id: 'l1', signal: 'SIGTERM', ok: true });
  for (const pid of pids) events.push({ kind: 'handle-close', t: S + 430, pid, id: `srv${pid}` });
  for (const pid of pids.slice(1)) events.push({ kind: 'process-exit', t: S + 600, pid, code: 0, signal: null } as TraceEvent);
  const leak = { id: 'leak1', type: 'interval' as const, label: 'setInterval 250ms', ref: true, createdAt: 9, site: site('startMetrics', 'metrics.js', 31) };
  events.push({ kind: 'snapshot', t: S + 1511, pid: main, reason: 'stalled', handles: [leak], unidentified: [] });
  events.push({ kind: 'deadline', t: S + graceMs, pid: 0, graceMs } as TraceEvent);
  events.push({ kind: 'snapshot', t: S + graceMs + 0.5, pid: main, reason: 'deadline', handles: [leak], unidentified: [] });
  events.push({ kind: 'kill-sent', t: S + graceMs + 1, pid: 0, target: main } as TraceEvent);
  events.push({ kind: 'process-exit', t: S + graceMs + 12, pid: main, code: null, signal: 'SIGKILL' } as TraceEvent);
  const end = S + graceMs + 12;
  events.sort((a, b) => a.t - b.t);
  output.sort((a, b) => a.t - b.t);
  const idx = (pred: (e: TraceEvent) => boolean): number => events.findIndex(pred);
  return {
    format: 'shutdown-trace',
    version: 1,
    meta: {
      tool: 'shutdown-trace',
      toolVersion: '0.1.0',
      createdAt: `2026-11-20T15:00:00.000Z#${n}`,
      command: ['node', 'server.js'],
      cwd,
      platform: 'linux',
      node: 'v20.19.0',
      plan: { signal: 'SIGTERM', when: { mode: 'after', ms: S }, graceMs, delivery: 'group' },
      mainPid: main,
      complete: true,
      durationMs: end + 5,
      counters: { droppedEvents: 0, rejectedConnections: 0, malformedFrames: 0, outputLinesTruncated: 0 },
    },
    processes: pids.map((pid) => ({
      pid,
      ppid: pid === main ? 1 : main,
      command: pid === main ? 'node server.js' : `node worker.js --id ${pid - main}`,
      traced: true,
      isMain: pid === main,
      start: 0,
      end: pid === main ? end : S + 600,
      exit: pid === main ? { code: null, signal: 'SIGKILL' } : { code: 0, signal: null },
    })),
    events,
    output,
    analysis: {
      verdict: `Killed at the grace deadline: setInterval 250ms (metrics.js:31:5) kept the event loop alive (${n} events).`,
      exitReason: 'killed-at-deadline',
      signalToExitMs: graceMs + 12,
      leakedHandleCount: 1,
      graceMs,
      phases: [
        { id: 'p1', pid: main, name: 'shutdown', start: S + 0.5, end: S + 511, durationMs: 510.5, depth: 0, auto: false },
        { id: 'p2', pid: main, name: 'close server', start: S + 0.6, end: S + 420.1, durationMs: 419.5, depth: 1, auto: false },
        { id: 'p3', pid: main, name: 'close db', start: S + 420.2, end: S + 510, durationMs: 89.8, depth: 1, auto: false },
      ],
      findings: [
        {
          code: 'killed-at-deadline',
          severity: 'error',
          title: 'Killed at the grace deadline',
          detail: 'Still alive at the deadline.',
          evidence: [idx((e) => e.kind === 'signal-sent'), idx((e) => e.kind === 'kill-sent')],
        },
        {
          code: 'leaked-handles',
          severity: 'error',
          title: '1 handle kept the process alive',
          detail: 'setInterval 250ms',
          evidence: [idx((e) => e.kind === 'handle-open' && e.handle.id === 'leak1')],
          handles: [leak],
        },
      ],
    },
  };
}

// CLI
const argv1 = typeof process !== 'undefined' ? (process.argv?.[1] ?? '') : '';
if (argv1.endsWith('gen-trace.ts') || argv1.endsWith('gen-trace.js')) {
  const n = Number(process.argv[2] ?? 10000);
  process.stdout.write(JSON.stringify(generateTrace(n)));
}
