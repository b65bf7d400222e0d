/**
 * The diagnosis: how the service ended (exit reason), the verdict in plain words, the findings
 * with their evidence, and the leaks (with owners, in the order the verdict names them).
 * Traffic, Kubernetes and platform modes are added by index.ts.
 */
import { formatDuration } from '../../shared/duration';
import type { HandleInfo } from '../../shared/wire';
import { userFrame, formatFrame } from '../../shared/frames';
import { isTcpAddress } from '../../shared/address';
import type { Trace, TraceEvent, Analysis, Finding, ExitReason, Leak } from '../../shared/trace';
import { classifyRoles } from '../runners';
import { groupLeaks, unseenTimers } from '../leaks';
import { phaseTimings } from './phases';
import { handleCount, pct, plural } from './words';
import { formatExit } from '../format';

/**
 * The tool's stop of what outlived the main process is its own cleanup. The platforms differ:
 * pid_namespaces(7) (the kernel, when a namespace's init exits) and systemd.kill(5) (the default
 * KillMode=control-group).
 */
const CLEANUP_IS_THE_TOOLS =
  "That stop is the tool's cleanup, not the platform's: where the main process is PID 1 (a container, a Kubernetes pod), the kernel SIGKILLs every process left in the PID namespace when PID 1 exits (pid_namespaces(7)), so they get no chance to shut down; systemd, with the default KillMode=control-group, sends them SIGTERM as the tool did, then SIGKILL after TimeoutStopSec= (90 s by default, where the tool waits 1 s) (systemd.kill(5)).";

/** Events that open or close a phase (analysis/phases.ts). */
const PHASE_EDGE_KINDS = new Set<string>(['signal', 'listener-start', 'listener-end', 'listener-settled', 'server-close', 'server-closed', 'phase-start', 'phase-end', 'process-exit']);

type Ev<K extends TraceEvent['kind']> = Extract<TraceEvent, { kind: K }>;

/** The diagnosis without the traffic and Kubernetes parts, which `analyze` adds. */
export function diagnose(trace: Trace): Analysis {
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
  // The runner is looked through only when the signal reached the service: sent to the whole
  // group, or relayed by the runner before it was gone. Otherwise the wrapper diagnosis (the
  // signal never reached the service) stands. A group's members all get it at once, and the
  // runner may die before the service's own record of it is timed (a busy machine).
  const launchedGone = of('process-exit', launchedPid)[0]?.t ?? Infinity;
  const relayed = !firstSent || events.some((e) => e.kind === 'signal' && e.pid === servicePid && (firstSent.delivery === 'group' || e.t <= launchedGone + 1));
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

  const procEnd = (pid: number) => trace.processes.find((p) => p.pid === pid)?.end ?? meta.durationMs;
  const pids = [...new Set(events.filter((e) => e.pid > 0).map((e) => e.pid))];
  const phases = phaseTimings(trace);

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
    hs.push(...unseenTimers(s.unidentified));
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
    return `${ls
      .slice(0, n)
      .map((l) => `${l.title} at ${l.site ? formatFrame(l.site, cwd) : 'creation site unknown'}`)
      .join('; ')}${ls.length > n ? '; …' : ''}`;
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
    if (leaks.length)
      findings.push({
        code: 'leaked-handles',
        severity: 'warning',
        title: `${plural(handleCount(leaks), 'handle')} alive when it was killed`,
        detail: 'Snapshot taken just before the kill.',
        evidence: ix(manualKill),
        handles: leaks,
      });
  } else if (!firstSent && mainArrivals.length === 0 && mainExit) {
    // A signal someone else sent (kill by hand, a platform) is a shutdown too: only no signal at all is "on its own".
    exitReason = mainExitInfo?.code === 0 ? 'exited-before-signal' : 'crashed';
    const how = mainExitInfo?.signal ? `died by ${mainExitInfo.signal}` : `exited with code ${mainExitInfo?.code}`;
    const errLines = trace.output.filter((o) => o.stream === 'stderr' && o.text.trim() && !/^Node\.js v\d/.test(o.text));
    const lastErr = errLines.find((o) => /^\s*(\w*Error|Uncaught)\b/.test(o.text)) ?? errLines[errLines.length - 1];
    verdict =
      exitReason === 'crashed'
        ? `Crashed at start-up: ${how} ${formatDuration(mainExit.t)} after launch, before any signal was sent.`
        : `Exited on its own (${how}) ${formatDuration(mainExit.t)} after launch, before any signal was sent.`;
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
      const platforms = [
        ['docker stop', '10 s', 10_000],
        ['Kubernetes', '30 s', 30_000],
        ['systemd', '90 s', 90_000],
      ] as const;
      const within = platforms.filter(([, , ms]) => naturalExitAfterMs! <= ms).map(([n, d]) => `${n} (${d})`);
      const list = within.length > 1 ? `${within.slice(0, -1).join(', ')} and ${within[within.length - 1]}` : within[0];
      onItsOwn = ` Held only by timers, it would have exited on its own ${formatDuration(naturalExitAfterMs)} after ${sig}, when the last one fired (unless one re-arms): after this ${formatDuration(graceMs)} grace period${list ? `, within the default stop timeout of ${list}` : ''}.`;
    }
    verdict += onItsOwn;
    findings.push({
      code: 'killed-at-deadline',
      severity: 'error',
      title: `Killed by SIGKILL at the ${formatDuration(graceMs)} grace deadline`,
      detail: `The process was still running ${formatDuration(graceMs)} after ${sig}, as a platform would find it; SIGKILL cannot be caught, so nothing after it ran.${onItsOwn}`,
      evidence: ix(firstSent, deadline, killSent, mainExit),
      handles: leaks,
    });
  } else if (mainExitInfo?.signal) {
    exitReason = 'killed-by-signal';
    const tracedBelow = trace.processes.some((p) => p.traced && p.pid !== mainPid);
    const noHandler = mainExitInfo.signal === sig && (mainTraced ? mainArrivals.length === 0 : !tracedBelow);
    if (noHandler) {
      verdict = `No ${sig} handler: the process died by ${sig} at once (${exitedAfter !== undefined ? formatDuration(exitedAfter) : '?'} after the signal); in-flight work was cut and nothing was flushed.`;
      findings.push({
        code: 'no-handler',
        severity: 'error',
        title: `No ${sig} handler`,
        detail: `Node took the default action for ${sig}: immediate death by signal. Add process.on('${sig}', …) that closes servers and clients, or let a library (close-with-grace, terminus) do it.`,
        evidence: ix(firstSent, mainExit),
      });
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
      findings.push({
        code: 'masked-leak',
        severity: 'warning',
        title: `process.exit() over ${plural(handleCount(masked), 'live handle')}`,
        detail: `Without process.exit() these would have kept the process alive until SIGKILL. In-flight work on them was cut.`,
        evidence: ix(
          exitCall,
          of('snapshot', mainPid).find((s) => s.reason === 'process-exit'),
        ),
        handles: masked,
      });
    } else if (code === 0) {
      exitReason = 'graceful';
      verdict =
        `Graceful: exited with code 0 ${exitedAfter !== undefined ? `${formatDuration(exitedAfter)} after ${sig} (${pct(exitedAfter, graceMs)} of the ${formatDuration(graceMs)} grace period)` : ''}.`.replace(
          ' .',
          '.',
        );
      findings.push({
        code: 'graceful',
        severity: 'info',
        title: `Graceful exit in ${exitedAfter !== undefined ? formatDuration(exitedAfter) : '?'}`,
        detail: `Exit code 0${exitCall ? ' through process.exit()' : ' after the event loop drained'}; ${exitedAfter !== undefined ? `${pct(exitedAfter, graceMs)} of the grace period was used.` : ''}`,
        evidence: ix(firstSent, mainExit),
      });
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
  /** Whether what happened in pid at t came after the tool's cleanup SIGTERM to it (the two clocks agree within 1 ms). */
  const afterCleanup = (pid: number, t: number) => orphans.some((o) => o.pid === pid && t >= o.t - 1);
  /** What the tool's SIGTERM to an orphan set off: its listener, its end. */
  const cleanupStory = (o: Ev<'orphan'>): string => {
    const p = trace.processes.find((x) => x.pid === o.pid);
    const arrival = arrivals.find((a) => a.pid === o.pid && afterCleanup(o.pid, a.t));
    const ran = arrival && arrival.listeners > 0 ? `, which ran its ${arrival.signal} ${arrival.listeners === 1 ? 'listener' : 'listeners'}` : '';
    const end = p?.exit && p.end !== undefined ? `; it ended ${formatDuration(Math.max(0, p.end - o.t))} later (${formatExit(p.exit)})` : '';
    return `Shutdown Trace sent it SIGTERM at ${formatDuration(o.t)}${ran}${end}.`;
  };
  if (orphans.length) {
    const holding = orphans.map((o) => {
      const snap = leakSnapshots.get(o.pid);
      return { o, leaks: refd(snap) };
    });
    findings.push({
      code: 'orphans',
      severity: 'error',
      title: `${plural(orphans.length, 'process', 'processes')} outlived the service`,
      detail:
        holding
          .map(({ o, leaks }) => {
            const spawned = of('spawn').find((s) => s.childPid === o.pid);
            const by = spawned ? `, spawned at ${formatFrame(userFrame(spawned.site), cwd)} by pid ${spawned.pid}` : '';
            return `pid ${o.pid} (${o.command})${by} was still alive after the main process exited${leaks.length ? `, held by ${leaks.length} handle(s)` : ''}. ${cleanupStory(o)}`;
          })
          .join(' ') + (trace.meta.platformMode ? '' : ` ${CLEANUP_IS_THE_TOOLS}`),
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
    if (masked.length)
      findings.push({
        code: 'masked-leak',
        severity: 'warning',
        title: `process.exit() over ${plural(handleCount(masked), 'live handle')} in pid ${e.pid}`,
        detail: 'The exit hid handles that would otherwise have kept this process alive.',
        evidence: ix(e, snap),
        handles: masked,
      });
  }

  // ---- stalled: alive after listeners settled (but not killed, e.g. exited later or stopped)
  if (exitReason !== 'killed-at-deadline') {
    for (const [pid, s] of leakSnapshots) {
      if (s.reason !== 'stalled' || orphans.some((o) => o.pid === pid)) continue;
      const hs = refd(s);
      if (hs.length)
        findings.push({
          code: 'stalled',
          severity: 'warning',
          title: `pid ${pid} was still alive after its shutdown handlers finished`,
          detail: `${plural(handleCount(hs), 'handle')} held the event loop: ${nameLeaks(hs, 3)}.`,
          evidence: ix(s),
          handles: hs,
        });
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
    findings.push({
      code: 'open-connections',
      severity: 'error',
      title: `server.close() never finished for ${listen?.address ?? c.server}`,
      detail: `close() was called at ${formatDuration(c.t)} with ${plural(c.connections, 'open connection')} (${c.active} in a request). ${
        conns.length
          ? `${plural(handleCount(conns), 'connection')} never ended: ${conns
              .slice(0, 3)
              .map((h) => h.label)
              .join('; ')}. Long-lived streams (SSE, WebSocket, long-poll) must be ended by the app; idle keep-alive sockets by closeIdleConnections().`
          : 'Its connections kept it open.'
      }`,
      evidence: ix(c),
      handles: conns,
    });
  }

  // ---- repeated signals
  for (const pid of pids) {
    // The tool's cleanup SIGTERM to an orphan is not the stop under test arriving again.
    const arr = arrivals.filter((a) => a.pid === pid && !afterCleanup(pid, a.t));
    if (arr.length < 2 || isRunner(pid)) continue;
    // A listener call belongs to the latest arrival of its signal at or before it: under load the
    // first call can start milliseconds after the arrival is recorded.
    const runs = arr.map((a, i) => {
      const next = arr.slice(i + 1).find((b) => b.signal === a.signal);
      return of('listener-start', pid).filter((l) => l.signal === a.signal && l.t >= a.t && (next === undefined || l.t < next.t)).length;
    });
    const reran = runs.slice(1).some((n) => n > 0);
    // Under a runner, a group signal reaches the service twice: from the group, and relayed by
    // the runner (node --watch, nodemon). A terminal's Ctrl+C does the same, so it is real.
    const relayer =
      pid === servicePid && servicePid !== launchedPid && firstSent?.delivery === 'group'
        ? trace.processes.find((p) => p.pid === trace.processes.find((x) => x.pid === pid)?.ppid && isRunner(p.pid))
        : undefined;
    const from =
      relayer && arr[1].signal === arr[0].signal && arr[1].t - arr[0].t < 100
        ? ` The second most likely came by the group signal's other path: the runner ${relayer.command} (pid ${relayer.pid}) got it too and passes it on to its child, as happens when Ctrl+C in a terminal reaches both.`
        : '';
    findings.push({
      code: 'repeated-signal',
      severity: reran ? 'warning' : 'info',
      title: `${arr.length} signals arrived at pid ${pid} (${arr.map((a) => a.signal).join(', ')})`,
      detail: `A ${arr[1].signal} arrived ${formatDuration(arr[1].t - arr[0].t)} after the first ${arr[0].signal}, while shutdown was under way.${from} ${reran ? `The handlers ran again (${runs.join(' / ')} listener calls): unless they are idempotent, cleanup runs twice.` : 'No handler ran for it again.'}`,
      evidence: ix(...arr),
    });
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
    findings.push({
      code: 'shutdown-error',
      severity: 'error',
      title: `An error during shutdown: ${msg}`,
      detail: `${plural(shutdownErrors.length, 'error')} after the signal; the first at ${formatDuration(first.t)} in pid ${first.pid}.${code ? ` The process exited with code ${code}, and the cleanup after the error never ran.` : ''}`,
      evidence: ix(...shutdownErrors),
    });
    if (exitReason === 'crashed')
      verdict = `Crashed during shutdown: ${msg} — exited with code ${code} ${exitedAfter !== undefined ? formatDuration(exitedAfter) + ' after ' + sig : ''}.`.replace(' .', '.');
  }

  // ---- slowest phase
  const measured = phases.filter((p) => p.durationMs !== undefined && !p.id.startsWith('shutdown-'));
  if (measured.length) {
    const slow = measured.reduce((a, b) => (b.durationMs! > a.durationMs! ? b : a));
    findings.push({
      code: 'slowest-phase',
      severity: slow.durationMs! > graceMs / 2 ? 'warning' : 'info',
      title: `Slowest phase: ${slow.name}, ${formatDuration(slow.durationMs!)} (${pct(slow.durationMs!, graceMs)} of the grace period)`,
      detail: `It ran from ${formatDuration(slow.start)} to ${formatDuration(slow.end!)} in pid ${slow.pid}${afterCleanup(slow.pid, slow.start) ? ', set off by the tool\'s cleanup SIGTERM to that orphan (see "outlived the service"), not by the stop under test' : ''}.`,
      // The events that opened and closed it, for the timeline to select.
      evidence: ix(...events.filter((e) => e.pid === slow.pid && PHASE_EDGE_KINDS.has(e.kind) && (e.t === slow.start || e.t === slow.end))),
    });
  }
  const unfinished = phases.filter((p) => p.end === undefined && !p.auto);
  for (const p of unfinished)
    findings.push({
      code: 'stalled',
      severity: 'warning',
      title: `Phase "${p.name}" never finished`,
      detail: `It started at ${formatDuration(p.start)} in pid ${p.pid} and was still running when the process ended.`,
      evidence: [],
    });

  if (meta.counters.droppedEvents > 0)
    findings.push({
      code: 'dropped-events',
      severity: 'warning',
      title: `${meta.counters.droppedEvents} events were dropped`,
      detail: 'The preload buffer overflowed while the collector was unreachable; the trace is missing those events.',
      evidence: ix(...of('dropped')),
    });
  for (const n of of('note'))
    if (/did not start listening/.test(n.text)) findings.push({ code: 'never-listened', severity: 'info', title: 'The service never started listening', detail: n.text, evidence: ix(n) });
  if (!meta.complete)
    findings.push({
      code: 'incomplete',
      severity: 'warning',
      title: 'Incomplete trace',
      detail: `The run was ended before the service finished: ${meta.incompleteReason ?? 'unknown reason'}. Everything captured until then is kept.`,
      evidence: [],
    });

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
  return {
    verdict: verdict.replace(/\s+/g, ' ').trim(),
    exitReason,
    signalToExitMs: exitedAfter,
    ...(exitedAfter !== undefined ? { signalAt, exitAt: mainExit!.t } : {}),
    leakedHandleCount: [...leaked.values()].reduce((a, b) => a + b, 0),
    leaks,
    naturalExitAfterMs,
    servicePid,
    serviceExit: servicePid === mainPid ? mainExitInfo : exitInfoOf(servicePid),
    phases,
    findings,
    graceMs,
  };
}
