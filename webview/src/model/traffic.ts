/**
 * Load traffic as the timeline tells it. Which requests were lost, and how many, is the
 * analysis' call (`analysis.requests`, and the evidence of its `lost-requests` finding); the
 * timeline only reads it. Before the analysis exists (a live run) it shows outcomes as recorded
 * ("12 ok · 3 reset"), never its own idea of "lost".
 */
import type { LoadOutcome } from '../../../src/shared/traffic';
import type { Model } from './model';
import { F } from './track';

export interface LoadCounts {
  /** From the analysis: requests in the shutdown window not answered properly. */
  lost?: number;
  /** From the analysis: refused by the closed listener or reset in its accept queue while the process ran. */
  turnedAway?: number;
  /** From the analysis: requests in the shutdown window. */
  duringShutdown?: number;
  /** Recorded outcomes (the launcher's load-summary, else the spans seen so far). */
  byOutcome: Partial<Record<LoadOutcome, number>>;
  total: number;
}

export function loadCounts(m: Model): LoadCounts {
  const ev = m.ev(m.loadSummaryEv);
  const by: Partial<Record<LoadOutcome, number>> = ev && ev.kind === 'load-summary' ? ev.byOutcome : m.loadSeen;
  let total = 0;
  for (const k of Object.keys(by) as LoadOutcome[]) total += Number(by[k]) || 0;
  const rq = m.trace.analysis?.requests;
  if (!rq) return { byOutcome: by, total };
  return { lost: rq.lost, turnedAway: rq.refusedWhileAlive + rq.resetAtClose, duringShutdown: rq.shutdown.total, byOutcome: by, total };
}

/** "0 lost · 2 turned away · 40 during shutdown" (the analysis' words and numbers), else the outcomes seen. */
export function loadCountsText(m: Model): string {
  const c = loadCounts(m);
  if (c.lost !== undefined) return `${c.lost} lost · ${c.turnedAway ?? 0} turned away · ${c.duringShutdown ?? 0} during shutdown`;
  const parts = (Object.keys(c.byOutcome) as LoadOutcome[]).filter((k) => c.byOutcome[k]).map((k) => `${c.byOutcome[k]} ${k}`);
  return parts.join(' · ') || 'no requests yet';
}

/** The load-request events the analysis counts as lost (`analysis.requests.roles.lost`). */
export function lostRequestEvents(m: Model): ReadonlySet<number> {
  const a = m.trace.analysis;
  if (m.lostCache && m.lostCache.analysis === a) return m.lostCache.events;
  const roles = a?.requests?.roles;
  const events = new Set<number>(roles ? roles.lost : []);
  // an analysis from before the roles were recorded: its lost-requests finding's evidence (capped at 500)
  if (!roles) for (const f of a?.findings ?? []) if (f.code === 'lost-requests' && f.severity === 'error') for (const i of f.evidence ?? []) events.add(i);
  m.lostCache = { analysis: a, events };
  return events;
}

/**
 * Colours from the analysis' roles: a request it counts as turned away (refused, or reset in the
 * closing listener's accept queue) is drawn as turned away, not as a failure, whatever its outcome.
 */
export function applyRequestRoles(m: Model): void {
  const turned = m.trace.analysis?.requests?.roles?.turnedAway;
  if (!turned?.length) return;
  const set = new Set(turned);
  for (const tr of m.load) {
    for (let i = 0; i < tr.n; i++) if (set.has(tr.ref[i])) tr.flags[i] = (tr.flags[i] & ~(F.BAD | F.WARN)) | F.TURNED;
    tr.stamp++;
  }
}
