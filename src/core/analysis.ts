/**
 * Diagnosis: from a trace's events to a verdict in plain words, findings with evidence,
 * phase timings and the summary fields a bug report needs. Pure; vscode-free.
 */
import { formatDuration, formatSeconds } from '../shared/duration';
import type { HandleInfo } from '../shared/wire';
import { userFrame, formatFrame } from '../shared/frames';
import { isTcpAddress } from '../shared/address';
import { podWouldHave } from '../shared/kubernetes';
import type { Trace, TraceEvent, Analysis, Finding, PhaseTiming, ExitReason } from '../shared/trace';
import type { RequestAccounting, Leak } from '../shared/trace';
import type { K8sOutcome } from '../shared/kubernetes';
import { classifyRoles } from './runners';
import { groupLeaks } from './leaks';
import { analyzePlatform } from './platform/analysis';

type Ev<K extends TraceEvent['kind']> = Extract<TraceEvent, { kind: K }>;


function pct(part: number, whole: number): string {
  if (!whole) return '';
  const p = (part / whole) * 100;
  return p < 1 ? '<1%' : `${Math.round(p)}%`;
}

export function handleSite(h: HandleInfo, cwd?: string): string {
  const f = userFrame(h.site);
  return f ? formatFrame(f, cwd) : 'creation site unknown';
}

/** How many handles a list stands for: a collapsed entry ("6 × setTimeout …") counts as its members. */
export function handleCount(hs: HandleInfo[]): number {
  let n = 0;
  for (const h of hs) n += Number(h.details?.count ?? 1);
  return n;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The diagnosis without the traffic and Kubernetes parts (issue #5), which `analyze` adds. */
function analyzeCore(trace: Trace): Analysis {
  const { events, meta } = trace;
  const cwd = meta.cwd;
  const graceMs = meta.plan.graceMs;
  const idx = new Map<TraceEvent, number>();
  events.forEach((e, i) => idx.set(e, i));
  const of = <K extends TraceEvent['kind']>(kind: K, pid?: number) => events.filter((e): e is Ev<K> => e.kind === kind && (pid === undefined || e.pid === pid));
  const ix = (...es: (TraceEvent | undefined)[]) => es.filter((e): e is TraceEvent => !!e && idx.has(e)).map((e) => idx.get(e)!);

  const launchedPid = meta.mainPid ?? trace.processes.find((p) => p.isMain)?.pid ?? -1;
  // Under a runner (tsx, nodemon, npx), the verdict is about the service it started.
  const { servicePid, roles } = classifyRoles(trace.processes, launchedPid);
  for (const p of trace.processes) {
    const r = roles.get(p.pid);
    if (r) p.role = r;
  }
  const isRunner = (pid: number) => roles.get(pid) === 'runner';
  const sent = of('signal-sent');
  const firstSent = sent[0];
  // The runner is looked through only when it relayed the signal: the service got it before the
  // runner was gone. Otherwise the wrapper diagnosis (the signal never reached the service) stands.
  const launchedGone = of('process-exit', launchedPid)[0]?.t ?? Infinity;
  const relayed = !firstSent || events.some((e) => e.kind === 'signal' && e.pid === servicePid && e.t <= launchedGone + 1);
  const mainPid = relayed ? servicePid : launchedPid;
  const main = trace.processes.find((p) => p.pid === mainPid);
  // A service under a runner is not the launcher's child: its end may be known only from the preload's exit event.
  /** How a process ended: the launcher's record, else its own exit event, else the tool's SIGKILL if it ended after it. */
  const exitInfoOf = (pid: number): { code: number | null; signal: string | null } | undefined => {
    const p = trace.processes.find((x) => x.pid === pid);
    const ev = of('exit', pid)[0];
    const killedAt = of('kill-sent')[0]?.t;
    if (p?.exit) return p.exit;
    if (ev) return { code: ev.code, signal: null };
    if (p?.traced && p.end !== undefined && killedAt !== undefined && p.end >= killedAt) return { code: null, signal: 'SIGKILL' };
    return undefined;
  };
  const preloadExit = of('exit', mainPid)[0];
  const svcExit = exitInfoOf(mainPid);
  const mainExit: Ev<'process-exit'> | undefined =
    of('process-exit', mainPid)[0] ??
    (mainPid !== launchedPid && svcExit
      ? ({ kind: 'process-exit', pid: mainPid, t: preloadExit?.t ?? main?.end ?? meta.durationMs, code: svcExit.code, signal: svcExit.signal } as Ev<'process-exit'>)
      : undefined);
  const mainExitInfo = main?.exit ?? (mainExit ? { code: mainExit.code, signal: mainExit.signal } : undefined);
  const killSent = of('kill-sent')[0];
  const deadline = of('deadline')[0];
  const arrivals = events.filter((e): e is Ev<'signal'> => e.kind === 'signal');
  const exitCalls = of('exit-call');
  const orphans = of('orphan');
  const findings: Finding[] = [];
  const signalAt = firstSent?.t ?? arrivals[0]?.t;

  // ---- phases
  const phases: PhaseTiming[] = [];
  const procEnd = (pid: number) => trace.processes.find((p) => p.pid === pid)?.end ?? meta.durationMs;
  const pids = [...new Set(events.filter((e) => e.pid > 0).map((e) => e.pid))];
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
      phases.push({ id: `listener-${pid}-${s.id}-${s.t}`, pid, name, start: s.t, end: stop, durationMs: stop !== undefined ? stop - s.t : undefined, depth: 0, auto: true, error: endEv?.threw ?? (settled && !settled.ok ? settled.error : undefined) });
    }
    for (const c of of('server-close', pid)) {
      const closed = events.find((e) => e.pid === pid && e.kind === 'server-closed' && e.server === c.server && e.t >= c.t);
      const listen = of('listen', pid).find((l) => l.server === c.server);
      phases.push({ id: `close-${pid}-${c.server}`, pid, name: `close server ${listen?.address ?? c.server}`, start: c.t, end: closed?.t, durationMs: closed ? closed.t - c.t : undefined, depth: 0, auto: true });
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

  // ---- leaked handles: the most telling snapshot per process
  const leakSnapshots = new Map<number, Ev<'snapshot'>>();
  const rank = { deadline: 4, 'process-exit': 3, stalled: 2, exit: 1, manual: 0 } as const;
  for (const s of of('snapshot')) {
    if (isRunner(s.pid)) continue;
    const cur = leakSnapshots.get(s.pid);
    if (!cur || rank[s.reason] > rank[cur.reason] || (rank[s.reason] === rank[cur.reason] && s.t > cur.t)) leakSnapshots.set(s.pid, s);
  }
  // Handles created by the user's own code come first; wrappers' and libraries' own after.
  const inUserCode = (h: HandleInfo) => {
    const f = userFrame(h.site);
    return !!f && !/[\\/]node_modules[\\/]/.test(f.file);
  };
  const tracedPids = new Set(trace.processes.filter((p) => p.traced).map((p) => p.pid));
  const pidOf = new Map<HandleInfo, number>();
  const refd = (s: Ev<'snapshot'> | undefined) => {
    if (!s) return [];
    // Not leaks: IPC channels (the link to another process) and a child that is itself traced
    // (a cluster worker, a forked service): its own leaks are listed under its pid.
    const hs = s.handles.filter((h) => h.ref && !h.details?.ipc && !(h.type === 'child-process' && tracedPids.has(Number(h.details?.pid))));
    for (const h of hs) pidOf.set(h, s.pid);
    // In leak order: the user's own leaks first, each owner's handles together.
    const order = new Map<HandleInfo, number>();
    groupLeaks(s.pid, hs).forEach((l, i) => l.handles.forEach((h) => order.set(h, i)));
    return hs.sort((a, b) => order.get(a)! - order.get(b)!);
  };
  /** "ioredis Redis (connected to …) at app.js:6:15; …", the first n leaks of these handles. */
  const nameLeaks = (hs: HandleInfo[], n: number) => {
    const byPid = new Map<number, HandleInfo[]>();
    for (const h of hs) {
      const pid = pidOf.get(h) ?? mainPid;
      const l = byPid.get(pid);
      if (l) l.push(h);
      else byPid.set(pid, [h]);
    }
    const ls = [...byPid].flatMap(([pid, list]) => groupLeaks(pid, list));
    ls.sort((a, b) => Number(b.inUserCode) - Number(a.inUserCode));
    return `${ls.slice(0, n).map((l) => `${l.title} at ${l.site ? formatFrame(l.site, cwd) : 'creation site unknown'}`).join('; ')}${ls.length > n ? '; …' : ''}`;
  };

  // ---- exit reason and verdict
  let exitReason: ExitReason = 'unknown';
  let verdict = '';
  let naturalExitAfterMs: number | undefined;
  const sig = firstSent?.signal ?? arrivals[0]?.signal ?? meta.plan.signal;
  const exitedAfter = signalAt !== undefined && mainExit ? mainExit.t - signalAt : undefined;
  const mainArrivals = arrivals.filter((a) => a.pid === mainPid);
  const mainTraced = !!main?.traced;

  const orphanTraced = orphans.filter((o) => trace.processes.find((p) => p.pid === o.pid)?.traced);
  // The wrapper case: the main process never served (no TCP listen) but a descendant did, and
  // no signal reached that descendant before the main process was gone.
  const tcpListen = (pid: number) => events.some((e) => e.kind === 'listen' && e.pid === pid && isTcpAddress(e.address));
  const mainGoneAt = mainExit?.t ?? Infinity;
  const neverSignalled = tcpListen(mainPid) ? [] : orphanTraced.filter((o) => tcpListen(o.pid) && !arrivals.some((a) => a.pid === o.pid && a.t <= mainGoneAt));

  const manualKill = killSent && !deadline ? killSent : undefined;
  if (!meta.complete) {
    exitReason = mainExit ? 'killed-by-signal' : 'still-running';
    const leaks = [...leakSnapshots.values()].flatMap(refd);
    verdict = `Run ended early (${meta.incompleteReason ?? 'stopped'}) ${formatDuration((manualKill ?? mainExit)?.t ?? meta.durationMs)} after launch${firstSent ? `, ${formatDuration(((manualKill ?? mainExit)?.t ?? meta.durationMs) - firstSent.t)} after ${sig}` : ', before any signal was sent'}; the trace holds what was captured until then${leaks.length ? ` (${plural(handleCount(leaks), 'handle')} alive: ${nameLeaks(leaks, 2)})` : ''}.`;
  } else if (manualKill && mainExitInfo?.signal === 'SIGKILL') {
    exitReason = 'killed-by-signal';
    const leaks = [...leakSnapshots.values()].flatMap(refd);
    verdict = `Killed by hand (SIGKILL from Shutdown Trace) ${firstSent ? `${formatDuration(manualKill.t - firstSent.t)} after ${sig}` : 'before any signal was sent'}${leaks.length ? `; ${plural(handleCount(leaks), 'handle')} were alive: ${nameLeaks(leaks, 3)}` : ''}.`;
    if (leaks.length) findings.push({ code: 'leaked-handles', severity: 'warning', title: `${plural(handleCount(leaks), 'handle')} alive when it was killed`, detail: 'Snapshot taken just before the kill.', evidence: ix(manualKill), handles: leaks });
  } else if (!firstSent && mainArrivals.length === 0 && mainExit) {
    // A signal someone else sent (kill by hand, a platform) is a shutdown too: only no signal at all is "on its own".
    exitReason = mainExitInfo?.code === 0 ? 'exited-before-signal' : 'crashed';
    const how = mainExitInfo?.signal ? `died by ${mainExitInfo.signal}` : `exited with code ${mainExitInfo?.code}`;
    const errLines = trace.output.filter((o) => o.stream === 'stderr' && o.text.trim() && !/^Node\.js v\d/.test(o.text));
    const lastErr = errLines.find((o) => /^\s*(\w*Error|Uncaught)\b/.test(o.text)) ?? errLines[errLines.length - 1];
    verdict = exitReason === 'crashed' ? `Crashed at start-up: ${how} ${formatDuration(mainExit.t)} after launch, before any signal was sent.` : `Exited on its own (${how}) ${formatDuration(mainExit.t)} after launch, before any signal was sent.`;
    findings.push({
      code: exitReason === 'crashed' ? 'crashed' : 'exited-before-signal',
      severity: exitReason === 'crashed' ? 'error' : 'warning',
      title: exitReason === 'crashed' ? 'Crashed before the signal' : 'Exited before the signal',
      detail: `The service ${how} before the signal plan ran.${lastErr ? ` Last error output: ${lastErr.text.slice(0, 300)}` : ''}`,
      evidence: ix(mainExit),
    });
  } else if (killSent && deadline && mainExitInfo?.signal === 'SIGKILL') {
    exitReason = 'killed-at-deadline';
    const leaks = [...leakSnapshots.values()].flatMap(refd).sort((a, b) => Number(inUserCode(b)) - Number(inUserCode(a)));
    verdict = `Killed at the ${formatDuration(graceMs)} deadline: ${sig} did not stop it${leaks.length ? `; ${plural(handleCount(leaks), 'handle')} kept it alive (${nameLeaks(leaks, 3)})` : ''}.`;
    // Held by one-shot timers only: the loop would have drained when the last one fired.
    const held = refd(leakSnapshots.get(mainPid));
    let onItsOwn = '';
    if (signalAt !== undefined && held.length && held.every((h) => h.type === 'timeout' && h.createdAt !== undefined && typeof h.details?.delayMs === 'number')) {
      naturalExitAfterMs = Math.max(...held.map((h) => h.createdAt! + Number(h.details!.delayMs))) - signalAt;
      // The platforms' default stop timeouts: docker stop -t 10, terminationGracePeriodSeconds 30, TimeoutStopSec 90.
      const platforms = [['docker stop', '10 s', 10_000], ['Kubernetes', '30 s', 30_000], ['systemd', '90 s', 90_000]] as const;
      const within = platforms.filter(([, , ms]) => naturalExitAfterMs! <= ms).map(([n, d]) => `${n} (${d})`);
      const list = within.length > 1 ? `${within.slice(0, -1).join(', ')} and ${within[within.length - 1]}` : within[0];
      onItsOwn = ` Held only by timers, it would have exited on its own ${formatDuration(naturalExitAfterMs)} after ${sig}, when the last one fired (unless one re-arms): after this ${formatDuration(graceMs)} grace period${list ? `, within the default stop timeout of ${list}` : ''}.`;
    }
    verdict += onItsOwn;
    findings.push({ code: 'killed-at-deadline', severity: 'error', title: `Killed by SIGKILL at the ${formatDuration(graceMs)} grace deadline`, detail: `The process was still running ${formatDuration(graceMs)} after ${sig}, as a platform would find it; SIGKILL cannot be caught, so nothing after it ran.${onItsOwn}`, evidence: ix(firstSent, deadline, killSent, mainExit), handles: leaks });
  } else if (mainExitInfo?.signal) {
    exitReason = 'killed-by-signal';
    const tracedBelow = trace.processes.some((p) => p.traced && p.pid !== mainPid);
    const noHandler = mainExitInfo.signal === sig && (mainTraced ? mainArrivals.length === 0 : !tracedBelow);
    if (noHandler) {
      verdict = `No ${sig} handler: the process died by ${sig} at once (${exitedAfter !== undefined ? formatDuration(exitedAfter) : '?'} after the signal); in-flight work was cut and nothing was flushed.`;
      findings.push({ code: 'no-handler', severity: 'error', title: `No ${sig} handler`, detail: `Node took the default action for ${sig}: immediate death by signal. Add process.on('${sig}', …) that closes servers and clients, or let a library (close-with-grace, terminus) do it.`, evidence: ix(firstSent, mainExit) });
    } else {
      verdict = `Died by ${mainExitInfo.signal} ${exitedAfter !== undefined ? formatDuration(exitedAfter) + ' after ' + sig : ''}.`;
    }
  } else if (mainExitInfo) {
    const code = mainExitInfo.code ?? 0;
    const exitCall = exitCalls.find((e) => e.pid === mainPid);
    const masked = exitCall ? refd(of('snapshot', mainPid).find((s) => s.reason === 'process-exit')) : [];
    if (exitCall && masked.length) {
      exitReason = 'forced-exit';
      const f = userFrame(exitCall.site);
      verdict = `process.exit(${exitCall.code ?? ''}) ${f ? `at ${formatFrame(f, cwd)} ` : ''}ended the process over ${plural(handleCount(masked), 'live handle')}: the shutdown "worked" but hid a leak (${nameLeaks(masked, 2)}).`;
      findings.push({ code: 'masked-leak', severity: 'warning', title: `process.exit() over ${plural(handleCount(masked), 'live handle')}`, detail: `Without process.exit() these would have kept the process alive until SIGKILL. In-flight work on them was cut.`, evidence: ix(exitCall, of('snapshot', mainPid).find((s) => s.reason === 'process-exit')), handles: masked });
    } else if (code === 0) {
      exitReason = 'graceful';
      verdict = `Graceful: exited with code 0 ${exitedAfter !== undefined ? `${formatDuration(exitedAfter)} after ${sig} (${pct(exitedAfter, graceMs)} of the ${formatDuration(graceMs)} grace period)` : ''}.`.replace(' .', '.');
      findings.push({ code: 'graceful', severity: 'info', title: `Graceful exit in ${exitedAfter !== undefined ? formatDuration(exitedAfter) : '?'}`, detail: `Exit code 0${exitCall ? ' through process.exit()' : ' after the event loop drained'}; ${exitedAfter !== undefined ? `${pct(exitedAfter, graceMs)} of the grace period was used.` : ''}`, evidence: ix(firstSent, mainExit) });
    } else {
      exitReason = 'crashed';
      verdict = `Exited with code ${code} ${exitedAfter !== undefined ? `${formatDuration(exitedAfter)} after ${sig}` : ''}: the shutdown failed.`.replace(' :', ':');
    }
  }

  // ---- the signal never reached the service
  if (neverSignalled.length) {
    const o = neverSignalled[0];
    findings.push({
      code: 'signal-not-delivered',
      severity: 'error',
      title: `${sig} never reached ${plural(neverSignalled.length, 'process', 'processes')}`,
      detail: `${sig} went to pid ${mainPid} (${main?.command ?? 'main'}) only${firstSent?.delivery === 'main' ? ', as Kubernetes and docker stop do' : ''}; it exited without forwarding it, leaving ${o.command} (pid ${o.pid}) running. Use exec (or node directly) instead of a wrapper such as npm run or sh -c, or forward signals.`,
      evidence: ix(firstSent, mainExit, o),
    });
    verdict = `The signal never reached the service: ${sig} went to ${main?.command ?? 'the wrapper'} (pid ${mainPid}), which exited and left ${o.command} (pid ${o.pid}) running.`;
  }
  if (orphans.length) {
    const holding = orphans.map((o) => {
      const snap = leakSnapshots.get(o.pid);
      return { o, leaks: refd(snap) };
    });
    findings.push({
      code: 'orphans',
      severity: 'error',
      title: `${plural(orphans.length, 'process', 'processes')} outlived the service`,
      detail: holding.map(({ o, leaks }) => {
        const spawned = of('spawn').find((s) => s.childPid === o.pid);
        const by = spawned ? `, spawned at ${formatFrame(userFrame(spawned.site), cwd)} by pid ${spawned.pid}` : '';
        return `pid ${o.pid} (${o.command})${by} was still alive after the main process exited${leaks.length ? `, held by ${leaks.length} handle(s)` : ''}; Shutdown Trace stopped it.`;
      }).join(' '),
      evidence: ix(...orphans),
      handles: holding.flatMap((h) => h.leaks),
    });
    if (!neverSignalled.length && exitReason === 'graceful') verdict += ` But ${plural(orphans.length, 'child process', 'child processes')} outlived it.`;
  }

  // ---- masked leaks in other processes
  for (const e of exitCalls) {
    if (e.pid === mainPid || isRunner(e.pid)) continue;
    const snap = of('snapshot', e.pid).find((s) => s.reason === 'process-exit');
    const masked = refd(snap);
    if (masked.length) findings.push({ code: 'masked-leak', severity: 'warning', title: `process.exit() over ${plural(handleCount(masked), 'live handle')} in pid ${e.pid}`, detail: 'The exit hid handles that would otherwise have kept this process alive.', evidence: ix(e, snap), handles: masked });
  }

  // ---- stalled: alive after listeners settled (but not killed, e.g. exited later or stopped)
  if (exitReason !== 'killed-at-deadline') {
    for (const [pid, s] of leakSnapshots) {
      if (s.reason !== 'stalled' || orphans.some((o) => o.pid === pid)) continue;
      const hs = refd(s);
      if (hs.length) findings.push({ code: 'stalled', severity: 'warning', title: `pid ${pid} was still alive after its shutdown handlers finished`, detail: `${plural(handleCount(hs), 'handle')} held the event loop: ${nameLeaks(hs, 3)}.`, evidence: ix(s), handles: hs });
    }
  }

  // ---- servers that never finished closing
  for (const c of of('server-close')) {
    const closed = events.some((e) => e.pid === c.pid && e.kind === 'server-closed' && e.server === c.server);
    // A process that ended right after close() (process.exit, a crash) did not wait on it.
    if (closed || procEnd(c.pid) - c.t < 100) continue;
    const listen = of('listen', c.pid).find((l) => l.server === c.server);
    const snap = leakSnapshots.get(c.pid);
    const conns = snap ? snap.handles.filter((h) => h.ref && h.details?.accepted) : [];
    findings.push({ code: 'open-connections', severity: 'error', title: `server.close() never finished for ${listen?.address ?? c.server}`, detail: `close() was called at ${formatDuration(c.t)} with ${plural(c.connections, 'open connection')} (${c.active} in a request). ${conns.length ? `${plural(handleCount(conns), 'connection')} never ended: ${conns.slice(0, 3).map((h) => h.label).join('; ')}. Long-lived streams (SSE, WebSocket, long-poll) must be ended by the app; idle keep-alive sockets by closeIdleConnections().` : 'Its connections kept it open.'}`, evidence: ix(c), handles: conns });
  }

  // ---- repeated signals
  for (const pid of pids) {
    const arr = arrivals.filter((a) => a.pid === pid);
    if (arr.length < 2 || isRunner(pid)) continue;
    const runs = arr.map((a) => of('listener-start', pid).filter((l) => l.t >= a.t && l.t < a.t + 1 && l.signal === a.signal).length);
    const reran = runs.slice(1).some((n) => n > 0);
    findings.push({ code: 'repeated-signal', severity: reran ? 'warning' : 'info', title: `${arr.length} signals arrived at pid ${pid} (${arr.map((a) => a.signal).join(', ')})`, detail: `A ${arr[1].signal} arrived ${formatDuration(arr[1].t - arr[0].t)} after the first ${arr[0].signal}, while shutdown was under way. ${reran ? `The handlers ran again (${runs.join(' / ')} listener calls): unless they are idempotent, cleanup runs twice.` : 'No handler ran for it again.'}`, evidence: ix(...arr) });
  }

  // ---- errors during shutdown
  const shutdownErrors: TraceEvent[] = [];
  for (const e of events) {
    if (signalAt === undefined || e.t < signalAt) continue;
    if (e.kind === 'error' || (e.kind === 'listener-end' && e.threw) || (e.kind === 'listener-settled' && !e.ok) || (e.kind === 'phase-end' && e.error)) shutdownErrors.push(e);
  }
  if (shutdownErrors.length) {
    // The error event carries the message; a listener's "threw" marker only says where.
    const first = shutdownErrors.find((e) => e.kind === 'error') ?? shutdownErrors[0];
    const msg = first.kind === 'error' ? first.message : first.kind === 'listener-end' ? first.threw : first.kind === 'listener-settled' ? first.error : first.kind === 'phase-end' ? first.error : '';
    const code = mainExitInfo?.code;
    findings.push({ code: 'shutdown-error', severity: 'error', title: `An error during shutdown: ${msg}`, detail: `${plural(shutdownErrors.length, 'error')} after the signal; the first at ${formatDuration(first.t)} in pid ${first.pid}.${code ? ` The process exited with code ${code}, and the cleanup after the error never ran.` : ''}`, evidence: ix(...shutdownErrors) });
    if (exitReason === 'crashed') verdict = `Crashed during shutdown: ${msg} — exited with code ${code} ${exitedAfter !== undefined ? formatDuration(exitedAfter) + ' after ' + sig : ''}.`.replace(' .', '.');
  }

  // ---- slowest phase
  const measured = phases.filter((p) => p.durationMs !== undefined && !p.id.startsWith('shutdown-'));
  if (measured.length) {
    const slow = measured.reduce((a, b) => (b.durationMs! > a.durationMs! ? b : a));
    findings.push({ code: 'slowest-phase', severity: slow.durationMs! > graceMs / 2 ? 'warning' : 'info', title: `Slowest phase: ${slow.name}, ${formatDuration(slow.durationMs!)} (${pct(slow.durationMs!, graceMs)} of the grace period)`, detail: `It ran from ${formatDuration(slow.start)} to ${formatDuration(slow.end!)} in pid ${slow.pid}.`, evidence: [] });
  }
  const unfinished = phases.filter((p) => p.end === undefined && !p.auto);
  for (const p of unfinished) findings.push({ code: 'stalled', severity: 'warning', title: `Phase "${p.name}" never finished`, detail: `It started at ${formatDuration(p.start)} in pid ${p.pid} and was still running when the process ended.`, evidence: [] });

  if (meta.counters.droppedEvents > 0) findings.push({ code: 'dropped-events', severity: 'warning', title: `${meta.counters.droppedEvents} events were dropped`, detail: 'The preload buffer overflowed while the collector was unreachable; the trace is missing those events.', evidence: ix(...of('dropped')) });
  for (const n of of('note')) if (/did not start listening/.test(n.text)) findings.push({ code: 'never-listened', severity: 'info', title: 'The service never started listening', detail: n.text, evidence: ix(n) });
  if (!meta.complete) findings.push({ code: 'incomplete', severity: 'warning', title: 'Incomplete trace', detail: `The run was ended before the service finished: ${meta.incompleteReason ?? 'unknown reason'}. Everything captured until then is kept.`, evidence: [] });

  const sevRank = { error: 0, warning: 1, info: 2 };
  findings.sort((a, b) => sevRank[a.severity] - sevRank[b.severity]);
  // A collapsed entry ("1000 × setTimeout …") counts as its members.
  const leaked = new Map<string, number>();
  const leakedHandles = new Map<string, HandleInfo>();
  for (const f of findings) {
    for (const h of f.handles ?? []) {
      const key = `${pidOf.get(h) ?? ''}|${h.id}|${h.label}`;
      leaked.set(key, Number(h.details?.count ?? 1));
      if (h.ref) leakedHandles.set(key, h);
    }
  }
  const perPid = new Map<number, HandleInfo[]>();
  // A service the signal never reached did not fail to stop: what it held is not a leak.
  const unsignalled = new Set(neverSignalled.map((o) => o.pid));
  for (const h of leakedHandles.values()) {
    const pid = pidOf.get(h) ?? mainPid;
    if (unsignalled.has(pid)) continue;
    const l = perPid.get(pid);
    if (l) l.push(h);
    else perPid.set(pid, [h]);
  }
  const leaks: Leak[] = [...perPid].flatMap(([pid, hs]) => groupLeaks(pid, hs));
  leaks.sort((a, b) => Number(b.inUserCode) - Number(a.inUserCode) || Number(b.pid === mainPid) - Number(a.pid === mainPid));
  if (!verdict) verdict = 'No shutdown was observed.';
  else if (!firstSent && mainArrivals.length) verdict += ` (${mainArrivals[0].signal} came from outside Shutdown Trace; its plan sent none.)`;
  return { verdict: verdict.replace(/\s+/g, ' ').trim(), exitReason, signalToExitMs: exitedAfter, leakedHandleCount: [...leaked.values()].reduce((a, b) => a + b, 0), leaks, naturalExitAfterMs, servicePid, serviceExit: servicePid === mainPid ? mainExitInfo : exitInfoOf(servicePid), phases, findings, graceMs };
}

// ---------------------------------------------------------------- issue #5: traffic during shutdown, Kubernetes termination

export function analyze(trace: Trace): Analysis {
  return analyzePlatform(trace, analyzeTraffic(trace)); // issue 11: PID 1, zombies, systemd, endpoint lag
}

function analyzeTraffic(trace: Trace): Analysis {
  const a = analyzeCore(trace);
  const requests = accountRequests(trace);
  if (requests) a.requests = requests;
  const k8s = k8sOutcome(trace, a, requests);
  if (k8s) a.k8s = k8s;
  if (!requests && !k8s) return a;
  const { events } = trace;
  const idx = new Map<TraceEvent, number>();
  events.forEach((e, i) => idx.set(e, i));
  const ix = (es: (TraceEvent | undefined)[]) => es.filter((e): e is TraceEvent => !!e).map((e) => idx.get(e)!);
  const spans = events.filter((e): e is Ev<'load-request'> => e.kind === 'load-request');
  const findings = a.findings;

  if (requests) {
    const w = window(trace);
    const inWindow = spans.filter((r) => !r.sse && w.start !== undefined && r.end >= w.start && r.t < w.exitAt);
    const closeAt = closeCalledAt(trace);
    const atClose = (r: LoadSpanEvent) => r.outcome === 'reset' && r.t >= closeAt;
    const lostSpans = inWindow.filter((r) => LOST.includes(r.outcome) && !atClose(r));
    const refused = inWindow.filter((r) => r.outcome === 'refused' || atClose(r));
    const b = requests.shutdown.byOutcome;
    const resetMid = b.reset - requests.resetAtClose;
    const turnedAway = requests.refusedWhileAlive + requests.resetAtClose;
    const parts = [
      resetMid && `${resetMid} reset mid-request`,
      b.timeout && `${b.timeout} timed out`,
      b['http-5xx'] && `${b['http-5xx']} answered 5xx`,
      b['other-error'] && `${b['other-error']} failed otherwise`,
    ].filter(Boolean);
    const during = `${plural(requests.shutdown.total, 'request')} were in flight at ${w.label} or sent after it until the main process exited`;
    const refusedText = turnedAway
      ? ` ${plural(turnedAway, 'new connection')} ${turnedAway === 1 ? 'was' : 'were'} turned away while the process still ran (${requests.refusedWhileAlive} refused by the closed listener${requests.resetAtClose ? `, ${requests.resetAtClose} reset in its accept queue as close() ran` : ''}): a load balancer that still routes here fails them, which a preStop sleep or a short delay before server.close() covers.`
      : '';
    const after = requests.afterExit ? ` ${plural(requests.afterExit, 'request')} sent after it exited ${requests.afterExit === 1 ? 'was' : 'were'} not counted.` : '';
    if (w.start === undefined || (requests.all.total === 0 && requests.streams.total > 0)) {
      // No termination happened, or streams only: no plain request to count as lost.
    } else if (requests.lost > 0) {
      findings.push({ code: 'lost-requests', severity: 'error', title: `${plural(requests.lost, 'request')} lost during shutdown: ${parts.join(', ')}`, detail: `${during}; ${requests.lost} of them got no proper answer.${refusedText}${after}`, evidence: ix(lostSpans.slice(0, 500)) });
      a.verdict = `${a.verdict} ${plural(requests.lost, 'request')} lost during shutdown (${parts.join(', ')}).`;
    } else {
      findings.push({ code: 'lost-requests', severity: turnedAway ? 'warning' : 'info', title: `No request lost during shutdown${turnedAway ? `; ${turnedAway} turned away after the listener closed` : ''}`, detail: `${during}; every one that reached the service was answered (${b.ok} ok).${refusedText}${after}`, evidence: ix(refused.slice(0, 500)) });
    }
    if (requests.failedBeforeShutdown > 0) {
      const before = spans.filter((r) => !r.sse && r.outcome !== 'ok' && (w.start === undefined || r.end < w.start) && r.t < w.exitAt);
      findings.push({ code: 'lost-requests', severity: 'warning', title: `${plural(requests.failedBeforeShutdown, 'request')} failed before shutdown began`, detail: `They were not answered while the service was supposed to be serving (${describeOutcomes(before)}): check the --load target and path, or the service's readiness.`, evidence: ix(before.slice(0, 200)) });
    }
    const st = requests.streams;
    if (st.total > 0 && w.start !== undefined) {
      const streams = spans.filter((r) => r.sse);
      if (st.cut + st.other > 0) {
        findings.push({ code: 'open-streams', severity: 'error', title: `${plural(st.cut + st.other, 'event stream')} never ended by the app`, detail: `Of ${plural(st.total, 'server-sent-event stream')}, ${st.endedByServer} ${st.endedByServer === 1 ? 'was' : 'were'} ended by the service; ${st.cut + st.other} ${st.cut + st.other === 1 ? 'was' : 'were'} cut (${describeOutcomes(streams.filter((r) => r.outcome !== 'ok'))}). A stream never ends on its own, so it holds server.close() open until the app ends it (res.end() on shutdown) or the process is killed.`, evidence: ix(streams) });
      } else {
        findings.push({ code: 'open-streams', severity: 'info', title: `${plural(st.total, 'event stream')} ended by the service`, detail: 'Every server-sent-event stream was ended by the app during shutdown, so none held server.close() open.', evidence: ix(streams) });
      }
    }
  }

  if (k8s) {
    const prestopEnd = events.find((e): e is Ev<'prestop-end'> => e.kind === 'prestop-end');
    const started = events.find((e): e is Ev<'termination-start'> => e.kind === 'termination-start');
    const ext = events.find((e): e is Ev<'grace-extension'> => e.kind === 'grace-extension');
    if (prestopEnd && (!prestopEnd.ok || prestopEnd.overran)) {
      findings.push({
        code: 'prestop',
        severity: 'warning',
        title: prestopEnd.overran ? `preStop was still running at the ${k8s.graceSeconds} s grace deadline` : `preStop failed: ${prestopEnd.error ?? 'unknown error'}`,
        detail: prestopEnd.overran
          ? `The kubelet waits for preStop at most the whole grace period, then sends ${k8s.stopSignal} and SIGKILL ${k8s.schedule?.remainingSeconds ?? 2} s later (its one-off extension): the app had ${k8s.schedule?.remainingSeconds ?? 2} s to shut down.`
          : `The kubelet records a FailedPreStopHook event and goes on: ${k8s.stopSignal} was sent after ${formatDuration(prestopEnd.durationMs)}.${prestopEnd.output ? ` Hook output: ${prestopEnd.output.slice(-300)}` : ''}`,
        evidence: ix([started, prestopEnd, ext]),
      });
    }
    const killed = findings.find((f) => f.code === 'killed-at-deadline');
    if (killed && k8s.fate === 'killed' && k8s.schedule) {
      const s = k8s.schedule;
      killed.title = `Killed by SIGKILL ${formatDuration(s.killAtMs)} after termination began (terminationGracePeriodSeconds ${k8s.graceSeconds}${s.extended ? `, ${s.remainingSeconds} s minimum after the signal` : ''})`;
      killed.detail = `${k8s.stopSignal} reached the main process ${formatDuration(s.signalAtMs)} after termination began${k8s.preStop ? ` (after preStop ${k8s.preStop})` : ''}; it was still running when the kubelet's time was up. SIGKILL cannot be caught, so nothing after it ran.`;
    }
    findings.push({
      code: 'k8s-termination',
      severity: k8s.fate === 'graceful' ? 'info' : k8s.fate === 'not-terminated' ? 'warning' : 'error',
      title: `As a Kubernetes pod: ${k8s.summary}`,
      detail: k8sTimeline(trace, k8s),
      evidence: ix([started, events.find((e) => e.kind === 'prestop-start'), prestopEnd, ext, events.find((e) => e.kind === 'signal-sent'), events.find((e) => e.kind === 'kill-sent')]),
    });
    if (k8s.fate !== 'not-terminated') {
      const rest = a.verdict.replace(/^Killed at the [^:]+ deadline: /, '');
      a.verdict = `${podWouldHave(k8s).replace(/^a/, 'A')}. ${rest.charAt(0).toUpperCase()}${rest.slice(1)}`;
    }
  }
  const sevRank = { error: 0, warning: 1, info: 2 };
  findings.sort((x, y) => sevRank[x.severity] - sevRank[y.severity]);
  return a;
}

type LoadSpanEvent = Ev<'load-request'>;
const LOST: readonly LoadSpanEvent['outcome'][] = ['reset', 'timeout', 'http-5xx', 'other-error'];
const OUTCOME_WORDS: Record<LoadSpanEvent['outcome'], string> = { ok: 'ok', refused: 'refused', reset: 'reset', timeout: 'timed out', 'http-5xx': 'answered 5xx', 'other-error': 'other errors' };

function describeOutcomes(spans: LoadSpanEvent[]): string {
  const n = new Map<string, number>();
  for (const s of spans) n.set(s.outcome, (n.get(s.outcome) ?? 0) + 1);
  return [...n].map(([o, c]) => `${c} ${OUTCOME_WORDS[o as LoadSpanEvent['outcome']]}`).join(', ') || 'none';
}

/** Termination start (preStop with --k8s, else the first signal) and the main process's exit. */
function window(trace: Trace): { start?: number; exitAt: number; label: string } {
  const { events, meta } = trace;
  const mainPid = meta.mainPid ?? trace.processes.find((p) => p.isMain)?.pid;
  const term = events.find((e) => e.kind === 'termination-start');
  const sent = events.find((e): e is Ev<'signal-sent'> => e.kind === 'signal-sent');
  const arrived = events.find((e): e is Ev<'signal'> => e.kind === 'signal');
  const exit = events.find((e) => e.kind === 'process-exit' && e.pid === mainPid);
  const main = trace.processes.find((p) => p.pid === mainPid);
  const start = term?.t ?? sent?.t ?? arrived?.t;
  const label = term ? 'the start of termination' : (sent ?? arrived) ? (sent ?? arrived)!.signal : 'the signal';
  return { start, exitAt: exit?.t ?? main?.end ?? Infinity, label };
}

function emptyCounts() {
  return { total: 0, byOutcome: { ok: 0, refused: 0, reset: 0, timeout: 0, 'http-5xx': 0, 'other-error': 0 } };
}

/** When the service first called server.close() on a TCP listener (Infinity if never). */
function closeCalledAt(trace: Trace): number {
  const closes = trace.events.filter((e): e is Ev<'server-close'> => e.kind === 'server-close');
  return closes.length ? Math.min(...closes.map((c) => c.t)) : Infinity;
}

/** Every request accounted for; `lost` and `refusedWhileAlive` over the shutdown window. */
export function accountRequests(trace: Trace): RequestAccounting | undefined {
  const { events, meta } = trace;
  const started = events.find((e): e is Ev<'load-start'> => e.kind === 'load-start');
  const summary = events.find((e): e is Ev<'load-summary'> => e.kind === 'load-summary');
  if (!meta.load && !started) return undefined;
  const w = window(trace);
  const spans = events.filter((e): e is LoadSpanEvent => e.kind === 'load-request');
  const all = emptyCounts();
  const shutdown = emptyCounts();
  const closeAt = closeCalledAt(trace);
  let resetAtClose = 0;
  let failedBeforeShutdown = 0;
  let afterExit = 0;
  const streams = { total: 0, endedByServer: 0, cut: 0, other: 0 };
  for (const r of spans) {
    if (r.sse) {
      streams.total++;
      if (r.outcome === 'ok') streams.endedByServer++;
      else if (r.outcome === 'reset') streams.cut++;
      else streams.other++;
      continue;
    }
    all.total++;
    all.byOutcome[r.outcome]++;
    if (r.t >= w.exitAt) afterExit++;
    else if (w.start !== undefined && r.end >= w.start) {
      shutdown.total++;
      shutdown.byOutcome[r.outcome]++;
      if (r.outcome === 'reset' && r.t >= closeAt) resetAtClose++;
    } else if (r.outcome !== 'ok') failedBeforeShutdown++;
  }
  const b = shutdown.byOutcome;
  return {
    url: started?.url ?? meta.load?.url ?? '',
    all,
    shutdown,
    lost: b.reset - resetAtClose + b.timeout + b['http-5xx'] + b['other-error'],
    refusedWhileAlive: b.refused,
    resetAtClose,
    failedBeforeShutdown,
    afterExit,
    streams,
    unrecorded: summary ? Math.max(0, summary.sent + summary.streams - summary.recorded) : 0,
  };
}


/** What a real pod would have gone through, in one line. */
function k8sOutcome(trace: Trace, a: Analysis, requests: RequestAccounting | undefined): K8sOutcome | undefined {
  const k = trace.meta.k8s;
  if (!k) return undefined;
  const { events } = trace;
  const mainPid = trace.meta.mainPid ?? trace.processes.find((p) => p.isMain)?.pid;
  const start = events.find((e): e is Ev<'termination-start'> => e.kind === 'termination-start');
  const base = { graceSeconds: k.graceSeconds, stopSignal: k.stopSignal, preStop: start?.preStop, startedAt: start?.t ?? k.startedAt, schedule: k.schedule };
  if (!start) return { ...base, fate: 'not-terminated', summary: 'not terminated: the run ended before the termination began' };
  const exit = events.find((e): e is Ev<'process-exit'> => e.kind === 'process-exit' && e.pid === mainPid);
  const kill = events.find((e): e is Ev<'kill-sent'> => e.kind === 'kill-sent');
  const endAt = exit?.t ?? trace.processes.find((p) => p.pid === mainPid)?.end;
  const endedAfterSeconds = endAt !== undefined ? (endAt - start.t) / 1000 : undefined;
  const parts: string[] = [];
  let fate: K8sOutcome['fate'];
  const ext = k.schedule?.extended ? (k.schedule.overran ? ` (preStop overran the ${k.graceSeconds} s grace period; SIGKILL came ${k.schedule.remainingSeconds} s after ${k.stopSignal})` : ` (the kubelet's ${k.schedule.remainingSeconds} s minimum after ${k.stopSignal})`) : '';
  if (a.exitReason === 'killed-at-deadline' && kill) {
    fate = 'killed';
    parts.push(`killed at ${formatSeconds(kill.t - start.t)}${ext}`);
  } else if (a.exitReason === 'graceful' || a.exitReason === 'forced-exit') {
    fate = 'graceful';
    parts.push(`stopped ${a.exitReason === 'graceful' ? 'gracefully' : 'through process.exit()'} ${endedAfterSeconds !== undefined ? `${formatSeconds(endedAfterSeconds * 1000)} into its ${k.graceSeconds} s grace period` : ''}`.trim());
  } else if (a.exitReason === 'killed-by-signal') {
    fate = 'died-by-signal';
    const sig = trace.processes.find((p) => p.pid === mainPid)?.exit?.signal;
    parts.push(`died by ${sig ?? 'a signal'} at ${endedAfterSeconds !== undefined ? formatSeconds(endedAfterSeconds * 1000) : '?'}`);
  } else if (a.exitReason === 'crashed') {
    fate = 'crashed';
    const code = trace.processes.find((p) => p.pid === mainPid)?.exit?.code;
    parts.push(`crashed: exited with code ${code} at ${endedAfterSeconds !== undefined ? formatSeconds(endedAfterSeconds * 1000) : '?'}`);
  } else {
    fate = 'unknown';
    parts.push(`ended as ${a.exitReason}`);
  }
  if (requests) parts.push(`${plural(requests.lost, 'request')} lost`);
  parts.push(a.leakedHandleCount ? `${plural(a.leakedHandleCount, 'handle')} alive` : 'no handles alive');
  return { ...base, endedAfterSeconds, fate, summary: parts.join('; ') };
}

function k8sTimeline(trace: Trace, k: K8sOutcome): string {
  const { events } = trace;
  const t0 = k.startedAt ?? 0;
  const rel = (t: number) => `+${formatDuration(t - t0)}`;
  const steps: string[] = [`Termination began at ${formatDuration(t0)} (terminationGracePeriodSeconds ${k.graceSeconds}, stop signal ${k.stopSignal}).`];
  const ps = events.find((e): e is Ev<'prestop-start'> => e.kind === 'prestop-start');
  const pe = events.find((e): e is Ev<'prestop-end'> => e.kind === 'prestop-end');
  if (ps) steps.push(`preStop ${ps.detail} started at ${rel(ps.t)}${pe ? (pe.overran ? `; still running at ${rel(pe.t)}, when the kubelet stopped waiting` : `; ${pe.ok ? 'finished' : `failed (${pe.error})`} at ${rel(pe.t)}`) : ''}.`);
  const sig = events.find((e): e is Ev<'signal-sent'> => e.kind === 'signal-sent');
  if (sig) steps.push(`${sig.signal} to the main process (pid ${sig.target}) at ${rel(sig.t)}.`);
  if (k.schedule) {
    const s = k.schedule;
    steps.push(`SIGKILL due at +${formatDuration(s.killAtMs)}: ${s.overran ? `preStop overran, so ${s.remainingSeconds} s after the signal (the one-off extension)` : k.preStop ? `${k.graceSeconds} s − ${s.preStopSeconds} s of preStop (whole seconds, as the kubelet counts) = ${s.remainingSeconds} s after the signal${s.extended ? ' (raised to the 2 s minimum)' : ''}` : `${s.remainingSeconds} s after the signal`}.`);
  }
  const kill = events.find((e): e is Ev<'kill-sent'> => e.kind === 'kill-sent');
  if (kill) steps.push(`SIGKILL sent at ${rel(kill.t)}.`);
  if (k.endedAfterSeconds !== undefined) steps.push(`The main process ended at +${formatDuration(k.endedAfterSeconds * 1000)}.`);
  return steps.join(' ');
}
