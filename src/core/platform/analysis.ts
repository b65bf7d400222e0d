/**
 * The platform part of the diagnosis, run after the rest of the analysis: what the
 * kernel did with the stop signal for PID 1, wrappers as PID 1 (a shell, npm), processes killed
 * with the container, zombies, systemd's kill modes and notify messages, the Kubernetes
 * endpoint lag by phase, signals that must not stop the service, SIGUSR1. Pure.
 */
import { formatDuration } from '../../shared/duration';
import { userFrame, formatFrame } from '../../shared/frames';
import { isTcpAddress } from '../../shared/address';
import { podWouldHave } from '../../shared/kubernetes';
import type { Trace, TraceEvent, Analysis, Finding } from '../../shared/trace';
import type { PlatformEvent, PlatformAnalysis } from '../../shared/platform';
import { systemdFindings } from './systemd-analysis';
import { endpointLagFindings } from './endpoint-lag-analysis';

type Ev<K extends TraceEvent['kind']> = Extract<TraceEvent, { kind: K }>;
type PEv = PlatformEvent & { pid: number };

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

const SIGNAL_NAMES: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 6: 'SIGABRT', 9: 'SIGKILL', 10: 'SIGUSR1', 12: 'SIGUSR2', 13: 'SIGPIPE', 14: 'SIGALRM', 15: 'SIGTERM' };
const SHELL_RE = /^(?:\S*\/)?(sh|dash|bash|ash|zsh|ksh|busybox)\b/;
const NPM_RE = /^(?:\S*\/)?(npm|yarn|pnpm)\b|(?:^|\/)(npm-cli|yarn|pnpm)\.c?js\b/;

/** "PID 1 (sh -c node server.js)". */
function name(cmd: string | undefined, max = 60): string {
  const c = (cmd ?? '').trim().replace(/^\/\S*\/(?=[^/\s]+)/, '');
  return c.length > max ? c.slice(0, max - 1) + '…' : c;
}

/** Puts a sentence right after the verdict's first sentence when it is the Kubernetes one, else in front. */
export function addToVerdict(a: Analysis, sentence: string): void {
  const m = /^(A real pod would have [^]*?\.)(\s|$)/.exec(a.verdict);
  a.verdict = m ? `${m[1]} ${sentence} ${a.verdict.slice(m[0].length)}`.trim() : `${sentence} ${a.verdict}`.trim();
}

export interface Ctx {
  trace: Trace;
  a: Analysis;
  ix: (...es: (TraceEvent | undefined)[]) => number[];
  of: <K extends TraceEvent['kind']>(kind: K, pid?: number) => Ev<K>[];
  platform: (what: PlatformEvent['what']) => PEv[];
  cwd: string;
}

export function analyzePlatform(trace: Trace, a: Analysis): Analysis {
  const pm = trace.meta.platformMode;
  const { events } = trace;
  const idx = new Map<TraceEvent, number>();
  events.forEach((e, i) => idx.set(e, i));
  const ix = (...es: (TraceEvent | undefined)[]) => es.filter((e): e is TraceEvent => !!e && idx.has(e)).map((e) => idx.get(e)!);
  const of = <K extends TraceEvent['kind']>(kind: K, pid?: number) => events.filter((e): e is Ev<K> => e.kind === kind && (pid === undefined || e.pid === pid));
  const platform = (what: PlatformEvent['what']) => events.filter((e): e is PEv => e.kind === 'platform' && e.what === what);
  const ctx: Ctx = { trace, a, ix, of, platform, cwd: trace.meta.cwd };
  const out: PlatformAnalysis = {};
  const before = a.findings.length;

  sigusr1(ctx);
  if (pm?.pid1) pid1(ctx, out);
  zombies(ctx, out);
  if (pm?.systemd) systemdFindings(ctx);
  if (pm?.survive) survive(ctx, out);
  if (pm?.endpointLagMs !== undefined) endpointLagFindings(ctx, out);

  if (Object.keys(out).length) a.platform = out;
  if (a.findings.length !== before) {
    const sevRank = { error: 0, warning: 1, info: 2 };
    a.findings.sort((x, y) => sevRank[x.severity] - sevRank[y.severity]);
  }
  return a;
}

// ---------------------------------------------------------------- PID 1

function pid1(c: Ctx, out: PlatformAnalysis): void {
  const { trace, a, ix, of, platform } = c;
  const pm = trace.meta.platformMode!.pid1!;
  const mainPid = trace.meta.mainPid ?? -1;
  const main = trace.processes.find((p) => p.pid === mainPid);
  const cmd = main?.command || pm.command;
  const sent = of('signal-sent')[0];
  const sig = sent?.signal;
  const note = platform('pid1-signal').find((e) => e.signal === sig);
  out.pid1 = { mode: pm.mode, command: cmd, ...(note ? { stopSignalDelivered: !!note.delivered } : {}) };
  const emulated = pm.mode === 'emulated';
  const how = emulated ? ` (emulated: ${pm.why}; Shutdown Trace held the signal back as the kernel would)` : '';
  // Arrivals are stamped by the preload, the sending by the launcher after kill() returned.
  const sentAt = Math.min(sent?.t ?? Infinity, note?.t ?? Infinity) - 1;
  const arrived = (pid: number) => !!sent && of('signal', pid).some((e) => e.t >= sentAt);
  const killedWith = platform('container-killed');
  const tcp = (pid: number) => of('listen', pid).some((l) => isTcpAddress(l.address));
  const services = trace.processes.filter((p) => p.pid !== mainPid && p.traced && tcp(p.pid));
  const unreached = services.filter((p) => !arrived(p.pid));
  const exit = main?.exit;
  const killedAtDeadline = a.exitReason === 'killed-at-deadline';
  const isShell = SHELL_RE.test(cmd) && / -c\b/.test(cmd);
  const isNpm = NPM_RE.test(cmd);
  const isNode = !!main?.traced;

  if (sent && note && !note.delivered) {
    a.findings.push({
      code: 'pid1-signal',
      severity: 'error',
      title: `${sig} never reached PID 1 (${name(cmd)}): the kernel dropped it`,
      detail: `The init of a PID namespace gets only the signals it has a handler for; others are discarded, even when sent from outside the container, except SIGKILL and SIGSTOP (pid_namespaces(7)). ${name(cmd)} has no ${sig} handler, so nothing happened until ${killedAtDeadline ? 'SIGKILL at the deadline' : 'the end'}${how}.`,
      evidence: ix(sent, note),
    });
  } else if (sent && note?.delivered && isNode && !arrived(mainPid) && (sig === 'SIGTERM' || sig === 'SIGINT')) {
    // Node installs its own SIGTERM/SIGINT handler (reset the terminal, re-raise with the default
    // action) when the app has no listener: the kernel delivers to it, then drops the re-raise.
    const diedBy = exit?.signal === sig;
    a.findings.push({
      code: 'pid1-signal',
      severity: 'error',
      title: `No ${sig} listener in PID 1: ${emulated && diedBy ? `it would have ignored ${sig} in a container` : `${sig} did nothing; it ran until ${killedAtDeadline ? 'SIGKILL' : 'it ended'}`}`,
      detail: `Without process.on('${sig}'), Node's own handler catches ${sig}, restores the terminal and raises ${sig} again with the default action. As PID 1 of a PID namespace that second signal is dropped by the kernel (no handler for it any more; pid_namespaces(7)), so the process does not die: it keeps running until SIGKILL. Add a ${sig} listener that closes servers and clients, or run an init (--init tini).${emulated && diedBy ? ` Here the namespace could not be created (${pm.why}), and the emulation cannot stop that re-raise: the process died by ${sig}, which a real container's PID 1 would not have.` : ''}`,
      evidence: ix(sent, note),
    });
    if (emulated && diedBy) {
      const grace = trace.meta.plan.graceMs;
      const k = a.k8s;
      if (k && (k.fate === 'died-by-signal' || k.fate === 'unknown')) {
        k.fate = 'killed';
        k.summary = `killed at ${formatDuration(k.schedule?.killAtMs ?? grace)} (emulated PID 1: ${sig} would have been ignored)`;
      }
      a.verdict = `${k ? podWouldHave(k).replace(/^a/, 'A') + '. ' : ''}As PID 1 of a container this process would have ignored ${sig} (Node's own handler re-raises it, and the kernel drops that for PID 1) and been killed at the ${formatDuration(grace)} deadline. Emulated: it died by ${sig} here.`;
    }
  }

  // An init exits with 128 + n when its child died by signal n (tini, dumb-init): the verdict is about that child.
  const code = exit?.code;
  const bySignal = pm.init && code != null && code > 128 ? SIGNAL_NAMES[code - 128] : undefined;
  const child = bySignal ? trace.processes.find((p) => p.ppid === mainPid && p.pid !== mainPid) : undefined;
  if (sent && bySignal && child) {
    const noHandler = bySignal === sig && !arrived(child.pid);
    const after = child.end !== undefined ? ` ${formatDuration(Math.max(0, child.end - sent.t))} after the signal` : '';
    a.exitReason = 'killed-by-signal';
    a.servicePid = child.pid;
    a.serviceExit = { code: null, signal: bySignal };
    if (noHandler)
      a.findings.push({
        code: 'no-handler',
        severity: 'error',
        title: `No ${sig} handler in ${name(child.command, 40)}`,
        detail: `${pm.init} (PID 1) passed ${sig} on to ${name(child.command)}, which took Node's default action: immediate death by signal (${pm.init} then exited with ${code} = 128 + ${code! - 128}). Add process.on('${sig}', …) that closes servers and clients.`,
        evidence: ix(sent, note),
      });
    a.verdict = `${pm.init} passed ${sig} on to ${name(child.command)} (pid ${child.pid}), which ${noHandler ? 'had no handler and ' : ''}died by ${bySignal}${after}${noHandler ? '; in-flight work was cut and nothing was flushed' : ''}.`;
    const k = a.k8s;
    if (k && k.fate === 'crashed') {
      k.fate = 'died-by-signal';
      k.summary = k.summary.replace(/^crashed: exited with code \d+/, `died by ${bySignal}`);
      a.verdict = `${podWouldHave(k).replace(/^a/, 'A')}. ${a.verdict}`;
    }
  }

  const shellOrNpm = isShell ? 'shell' : isNpm ? 'npm' : undefined;
  if (shellOrNpm && sent) {
    const svc = unreached[0] ?? services[0];
    const reached = services.length > 0 && unreached.length === 0;
    const svcKilled = svc ? killedWith.find((k) => k.pid === svc.pid) : undefined;
    const fate = !svc
      ? ''
      : svcKilled
        ? `${name(svc.command)} (pid ${svc.pid}) was killed with the container when PID 1 exited`
        : svc.exit?.signal === 'SIGKILL' || killedAtDeadline
          ? `${name(svc.command)} (pid ${svc.pid}) ran until SIGKILL`
          : `${name(svc.command)} (pid ${svc.pid}) ${svc.exit ? `ended (${svc.exit.signal ?? `code ${svc.exit.code}`})` : 'kept running'}`;
    const relayed = of('spawn', mainPid)[0];
    const detail =
      shellOrNpm === 'shell'
        ? `The shell is PID 1 — what a shell-form CMD (\`CMD node server.js\`) runs: \`/bin/sh -c "node server.js"\`. ${note && !note.delivered ? `It has no ${sig} handler, so the kernel dropped ${sig} (pid_namespaces(7))` : `It got ${sig}`}, and a shell does not pass signals on to the command it is waiting for. ${fate ? fate + '.' : ''} Use the exec form (\`CMD ["node", "server.js"]\`), \`exec node server.js\` at the end of a script, or an init as PID 1 (--init: tini, docker run --init).`
        : `npm is PID 1. ${reached ? `${sig} reached the service this time, but` : `npm relayed ${sig} to the shell that runs its script (\`${name(relayed?.command ?? 'sh -c …')}\`), which is not PID 1 and died by it without passing it on, so the service never saw it; then`} npm exits and takes the container down: the kernel SIGKILLs the rest of the namespace. npm also reaps no one but its own child. ${fate ? fate + '.' : ''} Run node directly (\`CMD ["node", "server.js"]\`), or put an init in front (--init).`;
    a.findings.push({
      code: shellOrNpm === 'shell' ? 'pid1-shell' : 'pid1-npm',
      severity: reached ? 'warning' : 'error',
      title:
        shellOrNpm === 'shell'
          ? `sh -c as PID 1 forwards nothing: ${sig} ${reached ? 'reached the service only by chance' : `never reached ${svc ? name(svc.command, 40) : 'the service'}`}`
          : `npm as PID 1: ${reached ? `${sig} reached the service, but npm is still a poor PID 1` : `${sig} never reached ${svc ? name(svc.command, 40) : 'the service'}`}`,
      detail,
      evidence: ix(sent, note, relayed, svcKilled),
    });
    if (!reached && svc)
      addToVerdict(
        a,
        `The signal never reached the service: ${sig} went to PID 1 (${name(cmd)}) ${shellOrNpm === 'shell' && note && !note.delivered ? 'and the kernel dropped it' : 'and was not passed on'}; ${fate}.`,
      );
  } else if (unreached.length && sent && !a.findings.some((f) => f.code === 'signal-not-delivered')) {
    const svc = unreached[0];
    const svcKilled = killedWith.find((k) => k.pid === svc.pid);
    if (svcKilled)
      addToVerdict(a, `${sig} never reached ${name(svc.command)} (pid ${svc.pid}): PID 1 (${name(cmd)}) did not pass it on, and the service was killed with the container when PID 1 exited.`);
  }

  if (killedWith.length) {
    const tracedKilled = killedWith.filter((k) => trace.processes.find((p) => p.pid === k.pid)?.traced);
    out.containerKilled = killedWith.length;
    const spawned = (pid: number) => of('spawn').find((s) => s.childPid === pid);
    a.findings.push({
      code: 'container-killed',
      severity: tracedKilled.length ? 'error' : 'warning',
      title: `${plural(killedWith.length, 'process', 'processes')} killed with the container when PID 1 exited`,
      detail: `When the init of a PID namespace exits, the kernel SIGKILLs every other process in it (pid_namespaces(7)): no signal handler, no cleanup ran in them.${emulated ? ' (Emulated: Shutdown Trace sent that SIGKILL.)' : ''} ${killedWith
        .map((k) => {
          const s = spawned(k.pid);
          const f = s && userFrame(s.site);
          return `${name(k.command)} (pid ${k.pid})${s ? `, spawned by pid ${s.pid}${f ? ` at ${formatFrame(f, c.cwd)}` : ''}` : ''}`;
        })
        .join('; ')}. Stop children before PID 1 exits (wait for them on SIGTERM), or let an init forward the signal to all of them (tini -g, dumb-init).`,
      evidence: ix(...killedWith),
    });
  }
}

// ---------------------------------------------------------------- zombies

function zombies(c: Ctx, out: PlatformAnalysis): void {
  const { trace, a, ix, of, platform } = c;
  const zs = platform('zombie');
  if (!zs.length) return;
  const unreaped = zs.filter((z) => z.reaped === false);
  out.zombies = unreaped.length;
  if (!unreaped.length) return;
  const byParent = new Map<number, PEv[]>();
  for (const z of unreaped) byParent.set(z.ppid ?? 0, [...(byParent.get(z.ppid ?? 0) ?? []), z]);
  const parts: string[] = [];
  const evidence: TraceEvent[] = [];
  for (const [ppid, list] of byParent) {
    const parent = trace.processes.find((p) => p.pid === ppid);
    const isPid1 = ppid === trace.meta.mainPid;
    const who = list.map((z) => {
      const s = of('spawn').find((sp) => sp.childPid === z.pid);
      if (s) evidence.push(s);
      const f = s && userFrame(s.site);
      const spawner = s ? trace.processes.find((p) => p.pid === s.pid) : undefined;
      return `${name(z.command, 40)} (pid ${z.pid})${s ? ` spawned by pid ${s.pid}${spawner ? ` (${name(spawner.command, 40)})` : ''}${f ? ` at ${formatFrame(f, c.cwd)}` : ''}` : ''}`;
    });
    parts.push(
      `${who.join(', ')}: ${isPid1 ? `re-parented to PID 1 (${name(parent?.command)}), which` : `children of pid ${ppid} (${name(parent?.command)}), which`} never reaped ${list.length === 1 ? 'it' : 'them'}`,
    );
  }
  const node = unreaped.some((z) => trace.processes.find((p) => p.pid === z.ppid)?.traced);
  a.findings.push({
    code: 'zombies',
    severity: 'warning',
    title: `${plural(unreaped.length, 'zombie process', 'zombie processes')}: exited, never reaped`,
    detail: `${parts.join('; ')}. A process that exits stays a zombie (state Z) until its parent waits for it; orphans are re-parented to PID 1, which must reap them.${node ? ' Node waits only for the children it spawned itself, so as PID 1 it leaves re-parented grandchildren as zombies, each holding a pid until the container ends.' : ''} Run an init as PID 1 (--init: tini; docker run --init; compose init: true).`,
    evidence: ix(...unreaped, ...evidence),
  });
}

// ---------------------------------------------------------------- signals that must not stop it

function survive(c: Ctx, out: PlatformAnalysis): void {
  const { trace, a, ix, of } = c;
  const exp = trace.meta.platformMode!.survive!;
  const mainPid = a.servicePid ?? trace.meta.mainPid ?? -1;
  const sent = of('signal-sent');
  const first = sent.find((s) => s.signal === exp.signal);
  const stop = sent.find((s) => s.signal === exp.stopSignal && (!first || s.t > first.t));
  if (!first) return;
  const main = trace.processes.find((p) => p.pid === mainPid);
  const endAt = main?.end ?? Infinity;
  const windowEnd = stop?.t ?? first.t + exp.windowMs;
  const alive = endAt >= windowEnd;
  const handled = of('signal', mainPid).some((s) => s.signal === exp.signal && s.t >= first.t - 1);
  // Across the reload: in flight at the signal or sent after it, and over before the stop (what the stop cuts is the stop's).
  const spans = of('load-request').filter((r) => !r.sse && r.end >= first.t && r.end <= windowEnd);
  const failed = spans.filter((r) => r.outcome !== 'ok');
  const ok = alive && failed.length === 0;
  out.survived = alive;
  // The two signals are the plan, not a repeated signal during shutdown.
  a.findings = a.findings.filter((f) => f.code !== 'repeated-signal');
  a.findings.push({
    code: 'survive',
    severity: ok ? 'info' : 'error',
    title: alive
      ? `Survived ${exp.signal}${spans.length ? `: ${failed.length ? `${plural(failed.length, 'request')} of ${spans.length} failed across it` : `${spans.length} requests answered across it, none lost`}` : ''}`
      : `${exp.signal} stopped the service`,
    detail: alive
      ? `${exp.signal} was sent at ${formatDuration(first.t)}; ${handled ? 'a listener handled it' : 'no listener ran for it (it is ignored or handled natively)'} and the service was still running ${formatDuration(windowEnd - first.t)} later, when ${stop ? `${exp.stopSignal} (the stop) followed` : 'the window ended'}.${spans.length ? ` Traffic across the reload: ${spans.length - failed.length} answered, ${failed.length} failed${failed.length ? ` (${[...new Set(failed.map((f) => f.outcome))].join(', ')})` : ''}.` : ' Use --load to check it keeps answering.'}`
      : `${exp.signal} was expected to leave the service running (a reload), but it ended ${formatDuration(endAt - first.t)} after it${main?.exit ? ` (${main.exit.signal ? `killed by ${main.exit.signal}` : `exit code ${main.exit.code}`})` : ''}. ${handled ? 'A listener ran and then the process ended.' : `No listener ran: Node's default action for ${exp.signal} ends the process. Add process.on('${exp.signal}', reload).`}`,
    evidence: ix(first, stop, ...failed.slice(0, 100)),
  });
  a.verdict = alive
    ? `Survived ${exp.signal}${spans.length ? ` with ${failed.length ? `${plural(failed.length, 'request')} lost` : 'no request lost'}` : ''}; then ${exp.stopSignal}: ${a.verdict}`
    : `${exp.signal} stopped the service ${formatDuration(endAt - first.t)} after it was sent; it was expected to survive it (a reload). ${a.verdict}`;
}

// ---------------------------------------------------------------- SIGUSR1

function sigusr1(c: Ctx): void {
  const { trace, a, ix, of } = c;
  const sent = of('signal-sent').filter((s) => s.signal === 'SIGUSR1');
  const arrivals = of('signal').filter((s) => s.signal === 'SIGUSR1');
  const inspector = trace.output.find((o) => o.stream === 'stderr' && /^Debugger listening on ws:\/\//.test(o.text));
  if (!sent.length && !arrivals.length && !inspector) return;
  const listened = arrivals.filter((s) => s.listeners > 0);
  const f: Finding = {
    code: 'sigusr1-inspector',
    severity: 'warning',
    title: listened.length
      ? 'The app uses SIGUSR1, which Node reserves for its inspector'
      : `SIGUSR1 ${inspector ? 'opened the Node inspector' : 'is the inspector signal'}, not a stop or reload signal`,
    detail: `Node reserves SIGUSR1 to start the inspector (a debugger listening on 127.0.0.1:9229)${inspector ? `: "${inspector.text}"` : ''}. ${listened.length ? "A process.on('SIGUSR1') listener replaces that (the debugger can then no longer be started with the signal), and tools that send SIGUSR1 to debug will trigger the app instead." : 'Without a listener it does not stop or reload anything; an exposed debugger is a risk.'} Use SIGUSR2 or SIGHUP for app-defined actions.`,
    evidence: ix(...sent, ...arrivals),
  };
  a.findings.push(f);
}
