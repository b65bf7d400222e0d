/**
 * The analysis: from a trace's events to a verdict in plain words, findings with evidence,
 * phase timings, leaks, the shutdown window, request roles and the Kubernetes outcome. The one
 * source every consumer reads (reports, check, exports, JUnit, the viewer). Pure; vscode-free.
 *
 * The rooms: verdict.ts (exit reason, verdict, findings, leaks), phases.ts, requests.ts
 * (window, request roles, accounting), kubernetes.ts, words.ts; platform modes in ../platform.
 */
import type { Trace, Analysis } from '../../shared/trace';
import { diagnose } from './verdict';
import { accountRequests, addRequestFindings, shutdownWindow } from './requests';
import { k8sOutcome, addK8sFindings } from './kubernetes';
import { analyzePlatform } from '../platform/analysis';

export { accountRequests } from './requests';

export function analyze(trace: Trace): Analysis {
  return analyzePlatform(trace, analyzeTraffic(trace));
}

const SEVERITY_RANK = { error: 0, warning: 1, info: 2 };

function analyzeTraffic(trace: Trace): Analysis {
  const a = diagnose(trace);
  a.window = shutdownWindow(trace);
  const requests = accountRequests(trace);
  if (requests) a.requests = requests;
  const k8s = k8sOutcome(trace, a, requests);
  if (k8s) a.k8s = k8s;
  if (!requests && !k8s) return a;
  if (requests) addRequestFindings(trace, a, requests);
  if (k8s) addK8sFindings(trace, a, k8s);
  a.findings.sort((x, y) => SEVERITY_RANK[x.severity] - SEVERITY_RANK[y.severity]);
  return a;
}

/**
 * The analysis every consumer reads: the trace's own (what the run showed), with the parts an
 * older writer did not record (the leaks with their count, the shutdown window, request roles)
 * taken from a fresh analysis of the events; a fresh one when the trace has none.
 */
export function analysisOf(trace: Trace): Analysis {
  const stored = trace.analysis;
  if (!stored) return analyze(trace);
  if (stored.leaks && stored.window && (!stored.requests || stored.requests.roles) && (stored.signalToExitMs === undefined || stored.signalAt !== undefined)) return stored;
  const fresh = analyze(trace);
  return {
    ...stored,
    // The leaks and their count come together, so the two never disagree.
    ...(stored.leaks ? {} : { leaks: fresh.leaks, leakedHandleCount: fresh.leakedHandleCount }),
    window: stored.window ?? fresh.window,
    // The two ends of signal → exit, when today's analysis measures the same span the file recorded.
    ...(stored.signalAt === undefined && fresh.signalToExitMs === stored.signalToExitMs ? { signalAt: fresh.signalAt, exitAt: fresh.exitAt } : {}),
    ...(stored.requests ? { requests: { ...stored.requests, roles: stored.requests.roles ?? fresh.requests?.roles } } : {}),
  };
}
