/**
 * Kubernetes endpoint lag: requests the Service sent to the pod while its endpoint
 * removal had not yet propagated (termination start + lag) and that were refused or reset are
 * lost — a real Service would have sent them here, and a client sees an error — not merely
 * "turned away". Reported the way rolling updates are measured: N of M requests failed, as a
 * percentage, by phase (preStop, drain, after SIGKILL).
 */
import type { TraceEvent } from '../../shared/trace';
import type { Ctx } from './analysis';
import type { PlatformAnalysis } from '../../shared/platform';

type Span = Extract<TraceEvent, { kind: 'load-request' }>;

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function pct(n: number, of: number): string {
  if (!of) return '0%';
  const p = (n / of) * 100;
  return p > 0 && p < 1 ? '<1%' : `${Math.round(p * 10) / 10}%`;
}

export function endpointLagFindings(c: Ctx, out: PlatformAnalysis): void {
  const { trace, a, ix, of, platform } = c;
  const lag = trace.meta.platformMode!.endpointLagMs!;
  const start = of('termination-start')[0];
  const spans = of('load-request').filter((r) => !r.sse);
  if (!start || !spans.length || !a.requests) return;
  const removed = platform('endpoints-removed')[0];
  // The Service routed here until the endpoint removal took effect. The load generator stops at
  // that event, which can come a moment after start + lag on a busy machine.
  const routedUntil = removed ? Math.max(removed.t, start.t + lag) : start.t + lag;
  const signalAt = of('signal-sent')[0]?.t ?? Infinity;
  const killAt = of('kill-sent')[0]?.t ?? Infinity;
  // What the rest of the analysis counted as turned away, or as after the exit, but the Service
  // sent here during the lag: lost. Taken from the analysis's roles, and moved into `lost` there,
  // so that every reader of the roles counts them as the verdict does.
  const rq = a.requests;
  const roles = rq.roles;
  const inLag = (i: number) => {
    const r = trace.events[i] as Span;
    return r.outcome !== 'ok' && r.t >= start.t && r.t <= routedUntil;
  };
  const lagIx = roles ? [...roles.turnedAway, ...roles.afterExit].filter(inLag).sort((x, y) => x - y) : [];
  const lagLost = lagIx.map((i) => trace.events[i] as Span);
  const before = rq.lost;
  const lost = before + lagLost.length;
  if (roles && lagLost.length) {
    const moved = new Set(lagIx);
    const wasAfterExit = new Set(roles.afterExit);
    rq.lost = lost;
    roles.lost = [...roles.lost, ...lagIx].sort((x, y) => x - y);
    roles.turnedAway = roles.turnedAway.filter((i) => !moved.has(i));
    roles.afterExit = roles.afterExit.filter((i) => !moved.has(i));
    // They belong to the shutdown (the Service routed them here), not to the turned-away or after-exit tail.
    for (const i of lagIx) {
      const r = trace.events[i] as Span;
      if (wasAfterExit.has(i)) {
        rq.shutdown.total++;
        rq.shutdown.byOutcome[r.outcome]++;
      } else if (r.outcome === 'refused') rq.refusedWhileAlive = Math.max(0, rq.refusedWhileAlive - 1);
      else rq.resetAtClose = Math.max(0, rq.resetAtClose - 1);
    }
    rq.afterExit = roles.afterExit.length;
    const re = new RegExp(`\\b${before} requests? lost`);
    const now = plural(lost, 'request') + ' lost';
    if (a.k8s) a.k8s.summary = a.k8s.summary.replace(re, now);
    a.verdict = a.verdict.replace(re, now);
    for (const f of a.findings) if (f.code === 'k8s-termination') f.title = f.title.replace(re, now);
    const lr = a.findings.find((f) => f.code === 'lost-requests' && /during shutdown/.test(f.title));
    if (lr) {
      lr.severity = 'error';
      lr.title = `${plural(lost, 'request')} lost during shutdown${before ? ` (${before} cut mid-request or failed, ${lagLost.length} refused while the Service still routed here)` : `: refused while the Service still routed here`}`;
      lr.detail = `${plural(lagLost.length, 'request')} that the Service sent here during the ${lag} ms endpoint lag ${lagLost.length === 1 ? 'was' : 'were'} refused or reset: the service had already stopped accepting (or exited), and a real Service would still have routed ${lagLost.length === 1 ? 'it' : 'them'} to this pod, so clients saw errors.${before ? ` ${before} more ${before === 1 ? 'was' : 'were'} cut mid-request or failed otherwise.` : ''}`;
      lr.evidence = ix(...lagLost.slice(0, 300));
    }
    if (!/requests? lost/.test(a.verdict)) a.verdict = `${a.verdict} ${now} while the Service still routed here.`;
  }
  // The table counts what a client of the Service saw: every request of the termination, failed
  // when lost. A failure still counted as turned away or after the exit was sent after the
  // Service stopped routing here, only because the load generator stops a moment late: a real
  // Service would have sent it to another pod, so it is not counted at all.
  const notRouted = new Set([...(roles?.turnedAway ?? []), ...(roles?.afterExit ?? [])]);
  const lostIx = new Set(roles?.lost ?? []);
  const inTermination: { r: Span; failed: boolean }[] = [];
  let uncounted = 0;
  trace.events.forEach((r, i) => {
    if (r.kind !== 'load-request' || r.sse || r.end < start.t) return;
    if (r.outcome !== 'ok' && notRouted.has(i)) uncounted++;
    else inTermination.push({ r, failed: roles ? lostIx.has(i) : r.outcome !== 'ok' });
  });
  const phaseOf = (r: Span): 'preStop' | 'drain' | 'after SIGKILL' => (r.t >= killAt ? 'after SIGKILL' : r.t >= signalAt ? 'drain' : 'preStop');
  const phases = (['preStop', 'drain', 'after SIGKILL'] as const).map((phase) => {
    const rs = inTermination.filter((x) => phaseOf(x.r) === phase);
    return { phase, total: rs.length, failed: rs.filter((x) => x.failed).length };
  });
  out.requestsByPhase = phases;
  const failed = inTermination.filter((x) => x.failed);
  const ps = of('prestop-start')[0];
  const pe = of('prestop-end')[0];
  const prestopMs = ps && pe ? pe.t - ps.t : 0;
  const covered = prestopMs >= lag;
  a.findings.push({
    code: 'endpoint-lag',
    severity: lagLost.length ? 'error' : failed.length ? 'warning' : 'info',
    title: `${failed.length} of ${inTermination.length} requests failed during termination (${pct(failed.length, inTermination.length)}): ${phases.map((p) => `${p.phase} ${p.failed}/${p.total}`).join(', ')}`,
    detail:
      `The Service kept routing new requests here for ${lag} ms after termination began (--endpoint-lag), while the endpoint removal propagated${removed ? '' : ' (the run ended before that)'}. ${lagLost.length ? `${plural(lagLost.length, 'request')} sent in that window ${lagLost.length === 1 ? 'was' : 'were'} refused or reset because the service had already stopped accepting: each is an error a client saw.` : 'None of the requests sent in that window was refused or reset.'} ${ps ? `preStop ran ${Math.round(prestopMs)} ms${covered ? `, at least the lag: the pod kept serving until no new traffic came.` : `, less than the ${lag} ms lag.`}` : 'There was no preStop hook: the stop signal came at once, with the Service still routing here.'} ${lagLost.length ? `A preStop sleep of at least the lag (--prestop-sleep ${Math.ceil(lag / 1000)}s; lifecycle.preStop.sleep.seconds: ${Math.ceil(lag / 1000)}) keeps the pod serving while the endpoints catch up.` : ''}${uncounted ? ` Not counted: ${plural(uncounted, 'request')} the load generator sent after the endpoint removal, which a real Service would have sent to another pod.` : ''}`.trim(),
    evidence: ix(start, removed, ...lagLost.slice(0, 300)),
  });
}
