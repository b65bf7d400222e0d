/**
 * The timeline model derived from a Trace: one group of tracks per process (lane), built from the
 * events in one pass (ingest.ts), then finalized with the analysis (leaks.ts reads its leaks).
 * Layout (layout.ts), item keys (keys.ts) and labels (labels.ts) live in files of their own;
 * the methods below that only delegate keep the call sites short. No DOM code: the model runs
 * under node:test as well as in the page.
 *
 * Live runs: `apply()` adds events incrementally (amortised O(1) per event, no re-layout of
 * what exists); `setAnalysis()` swaps in the final phases and leaks.
 */
import type { Trace, TraceEvent, OutputLine, ProcessInfo, Analysis, PhaseTiming, Finding, Leak } from '../../../src/shared/trace';
import type { HandleInfo } from '../../../src/shared/wire';
import type { LoadOutcome } from '../../../src/shared/traffic';
import { Track, K, F, type OpenRef, type Lane, type HandleRec, type Row } from './track';
import * as ingest from './ingest';
import * as leaks from './leaks';
import * as layout from './layout';
import * as keys from './keys';
import * as labels from './labels';
import * as traffic from './traffic';
import { ingestColumns } from './ingest-columns';
import type { ColumnEvents } from './columns';

export class Model {
  trace: Trace;
  live: boolean;
  now = 0;
  lanes: Lane[] = [];
  laneByPid = new Map<number, Lane>();
  run: Track;
  /** Kubernetes preStop hook bar(s). */
  k8s: Track;
  /** load-start / load-summary markers (the header of the "requests (load)" group). */
  loadMarks: Track;
  /** Plain load requests, packed into sub-rows (the last takes the overflow). */
  load: Track[] = [];
  /** SSE streams of the load generator. */
  sse: Track[] = [];
  /** Outcome counts of the load requests seen so far (plain requests). */
  loadSeen: Partial<Record<LoadOutcome, number>> = {};
  loadSummaryEv = -1;
  /** Kubernetes: termination start (the grace period counts from here) and when the kubelet would SIGKILL. */
  terminationT = NaN;
  k8sKillT = NaN;
  prestopOpen: OpenRef | null = null;
  handles: HandleRec[] = [];
  /** pid → handle id → index into handles. */
  handleIdx = new Map<number, Map<string, number>>();
  /**
   * pid → request id → open bar, packed as index * 8 + row (no object per request). While a trace
   * is read from its columns, keyed by the id's string-table index instead (no string per request;
   * ingest-columns.ts puts the ids of those still open back at its end).
   */
  reqOpen = new Map<number, Map<string | number, number>>();
  phases: PhaseTiming[] = [];
  phasesFromAnalysis = false;
  open = new Map<string, OpenRef>();
  listenerOpen = new Map<string, OpenRef[]>();
  phaseOpen = new Map<string, { ref: OpenRef; pi: number }>();
  phaseStack = new Map<number, string[]>();
  firstSignalT = NaN;
  firstSignalName = '';
  deadlineT = NaN;
  killT = NaN;
  signalTs: number[] = [];
  graceMs = 0;
  tMin = 0;
  tMax = 0;
  rows: Row[] = [];
  height = 0;
  layoutDirty = true;
  /** Bumped whenever drawn content changes. */
  version = 0;
  leaks: HandleRec[] = [];
  /**
   * The analysis' leaks (`analysis.leaks`, the one definition, in verdict order) with their
   * handles on the timeline. Empty for traces whose analysis predates it; `leaks` is then
   * read from the findings' handles.
   */
  leakList: { leak: Leak; index: number; handles: HandleRec[] }[] = [];
  /**
   * The analysis' leak each of its handles belongs to, and the handle as the leak lists it (one
   * entry may stand for several made at one line): a leak row reads its label, owner and user line there.
   */
  leakOfHandle = new Map<HandleRec, { leak: Leak; info: HandleInfo }>();
  unidentified: { type: string; count: number }[] = [];
  eventsSeen = 0;
  outputSeen = 0;
  /** A trace loaded from columns: its events [0, cols.n) are made from them on first use (ev()). */
  readonly cols: ColumnEvents | null;

  /** `cols`: `trace` is cols.trace(), whose events are made on demand. */
  constructor(trace: Trace, live: boolean, cols: ColumnEvents | null = null) {
    // events/output arrays are adopted, not copied (they can hold a million entries)
    this.trace = { ...trace, events: trace.events, output: trace.output, processes: [] };
    this.cols = cols;
    this.live = live;
    this.graceMs = trace.meta?.plan?.graceMs ?? 0;
    this.run = new Track('run', 'run', null);
    this.k8s = new Track('k8s', 'preStop hook', null);
    this.loadMarks = new Track('loadmarks', 'requests (load)', null);
    this.readK8sMeta();
    for (const p of trace.processes) this.upsertProcess({ ...p });
    this.ingest(0, 0);
    this.now = live ? this.tMax : (trace.meta?.durationMs ?? 0);
    if (trace.analysis) this.setAnalysis(trace.analysis);
    else this.finalize();
  }

  readK8sMeta(): void {
    const k = this.trace.meta?.k8s;
    if (!k || k.startedAt === undefined) return;
    if (this.terminationT !== this.terminationT) this.terminationT = k.startedAt;
    if (k.schedule) this.k8sKillT = k.startedAt + k.schedule.killAtMs;
  }

  /** Where the grace period starts: termination start on Kubernetes, else the first signal (the analysis' window when it has one). */
  graceStart(): number {
    const w = this.trace.analysis?.window;
    if (w && typeof w.start === 'number') return w.start;
    return this.terminationT === this.terminationT ? this.terminationT : this.firstSignalT;
  }

  /**
   * What "after the signal" counts from, for every time shown relative to it: the analysis'
   * shutdown window (whose start its signal → exit is measured from), else the first signal.
   * So the exit is shown at exactly the analysis' signal → exit after it.
   */
  signalRef(): { t: number; name: string } {
    const w = this.trace.analysis?.window;
    if (w && typeof w.start === 'number') return { t: w.start, name: w.opener || this.firstSignalName };
    return { t: this.firstSignalT, name: this.firstSignalName };
  }

  /** Load request counts as the gutter and details show them (traffic.ts: the analysis' numbers). */
  loadCountsText(): string {
    return traffic.loadCountsText(this);
  }
  /** Cache of traffic.lostRequestEvents. */
  lostCache: { analysis: Analysis | undefined; events: ReadonlySet<number> } | null = null;

  loadTrack(group: Track[], label: string): Track {
    return new Track('load', label, null, group === this.load ? 256 : 16);
  }

  get events(): TraceEvent[] {
    return this.trace.events;
  }
  /** Event i (undefined past the end). Read events through this: from columns they are made here, on first use. */
  ev(i: number): TraceEvent {
    const evs = this.trace.events;
    const e = evs[i];
    const c = this.cols;
    if (e !== undefined || !c || !(i >= 0 && i < c.n)) return e;
    return (evs[i] = c.event(i));
  }
  /** The indexes of the events of a kind, in order, without making the others (from columns: a scan of the kind column). */
  eventsOfKind(kind: string): number[] {
    const out: number[] = [];
    const c = this.cols;
    let i = 0;
    if (c) {
      const ki = c.kindIndex(kind);
      const kinds = c.kind;
      if (ki >= 0) for (; i < c.n; i++) if (kinds[i] === ki) out.push(i);
      i = c.n;
    }
    const evs = this.trace.events;
    for (; i < evs.length; i++) if (evs[i].kind === kind) out.push(i);
    return out;
  }
  /** Event i's kind, without making the event. */
  evKind(i: number): string | undefined {
    const c = this.cols;
    if (c && i >= 0 && i < c.n) return c.kinds[c.kind[i]];
    return this.trace.events[i]?.kind;
  }
  get cwd(): string {
    return this.trace.meta?.cwd ?? '';
  }

  // ---------------------------------------------------------------- building

  lane(pid: number): Lane {
    const l = this.laneByPid.get(pid);
    if (l) return l;
    const info: ProcessInfo = { pid, ppid: 0, command: pid === 0 ? 'launcher' : `pid ${pid}`, traced: false, isMain: pid === this.trace.meta?.mainPid };
    this.trace.processes.push(info);
    return this.addLane(info);
  }

  addLane(info: ProcessInfo): Lane {
    const l = {} as Lane;
    l.pid = info.pid;
    l.info = info;
    l.depth = 0;
    l.main = new Track('lane', '', l);
    l.life = null;
    l.listeners = [];
    l.phases = [];
    l.server = new Track('server', 'server', l);
    l.conns = new Track('conns', 'connections', l);
    l.requests = [];
    l.leaks = [];
    l.handles = [];
    l.counts = new Track('counts', 'live handles', l);
    l.logs = new Track('logs', 'logs', l);
    l.exitMarked = false;
    l.handleCount = 0;
    l.sentWaiting = new Map();
    l.recvWaiting = new Map();
    this.lanes.push(l);
    this.laneByPid.set(info.pid, l);
    this.layoutDirty = true;
    if (info.start !== undefined) this.startLife(l, info.start);
    return l;
  }

  startLife(l: Lane, t: number): void {
    if (l.life) return;
    const i = l.main.push(t, l.info.end ?? Infinity, K.process, F.LIFE, l.pid);
    if (l.info.end === undefined) {
      l.life = { tr: l.main, i };
      l.main.pending.add(l.life);
    } else l.life = { tr: l.main, i: -1 };
  }

  closeLife(l: Lane, t: number): void {
    if (!l.life || l.life.i < 0) return;
    l.life.tr.setEnd(l.life.i, t);
    l.main.pending.delete(l.life);
    l.life.i = -1;
  }

  upsertProcess(p: ProcessInfo): void {
    const l = this.laneByPid.get(p.pid);
    if (!l) {
      this.trace.processes.push(p);
      this.addLane(p);
      return;
    }
    const idx = this.trace.processes.indexOf(l.info);
    l.info = { ...l.info, ...p };
    if (idx >= 0) this.trace.processes[idx] = l.info;
    if (p.start !== undefined) this.startLife(l, p.start);
    if (p.end !== undefined) this.closeLife(l, p.end);
    this.layoutDirty = true;
  }

  openAt(key: string, tr: Track, i: number): void {
    const r = { tr, i };
    tr.pending.add(r);
    this.open.set(key, r);
  }

  closeAt(key: string, t: number): OpenRef | undefined {
    const r = this.open.get(key);
    if (!r) return undefined;
    r.tr.setEnd(r.i, t);
    r.tr.pending.delete(r);
    this.open.delete(key);
    return r;
  }

  /** The handle record index for a process's handle id, or undefined. */
  handleIndex(pid: number, id: string): number | undefined {
    return this.handleIdx.get(pid)?.get(id);
  }

  perPid<K, V>(m: Map<number, Map<K, V>>, pid: number): Map<K, V> {
    let x = m.get(pid);
    if (!x) m.set(pid, (x = new Map()));
    return x;
  }

  /** First-fit packing into a group of tracks; the last track takes the overflow. */
  pack(group: Track[], make: () => Track, max: number, s: number): Track {
    return this.packIn(group, max, s) ?? this.addTrack(group, make());
  }

  /** pack() without the maker (no closure per item, for the kinds a big trace is made of): null when a new track is due (addTrack). */
  packIn(group: Track[], max: number, s: number): Track | null {
    for (let k = 0; k < group.length; k++) if (group[k].lastEnd <= s) return group[k];
    if (group.length < max) return null;
    let best = group[0];
    for (const tr of group) if (tr.lastEnd < best.lastEnd) best = tr;
    best.overlaps = true;
    return best;
  }

  addTrack(group: Track[], tr: Track): Track {
    group.push(tr);
    this.layoutDirty = true;
    return tr;
  }

  /** Incremental update (live `append`): O(new events), nothing already laid out is redone. */
  apply(events: TraceEvent[], output: OutputLine[], processes: ProcessInfo[], now: number): void {
    for (const p of processes) this.upsertProcess(p);
    const evFrom = this.trace.events.length;
    const outFrom = this.trace.output.length;
    for (let j = 0; j < events.length; j++) this.trace.events.push(events[j]);
    for (let j = 0; j < output.length; j++) this.trace.output.push(output[j]);
    this.ingest(evFrom, outFrom);
    if (now > this.now) this.now = now;
    if (this.now > this.tMax) this.tMax = this.now;
  }

  ingest(evFrom: number, outFrom: number): void {
    const evs = this.trace.events;
    let i = evFrom;
    const c = this.cols;
    if (c && i < c.n) {
      ingestColumns(this, c, i, c.n);
      i = c.n;
    }
    for (; i < evs.length; i++) this.addEvent(evs[i], i);
    const outs = this.trace.output;
    let lastLogLane: Lane | null = null;
    for (let j = outFrom; j < outs.length; j++) {
      const o = outs[j];
      const l = lastLogLane && lastLogLane.pid === o.pid ? lastLogLane : (lastLogLane = this.lane(o.pid));
      l.logs.push(o.t, NaN, K.log, o.stream === 'stderr' ? F.BAD : 0, j);
      if (o.t > this.tMax) this.tMax = o.t;
    }
    this.eventsSeen = evs.length;
    this.outputSeen = outs.length;
    this.version++;
  }

  /** The final analysis: phases from the analysis replace the ones derived live; leaks get marked. */
  setAnalysis(a: Analysis): void {
    this.trace.analysis = a;
    if (a.graceMs) this.graceMs = a.graceMs;
    if (a.phases) {
      this.phasesFromAnalysis = true;
      for (const l of this.lanes) l.phases = [];
      this.phases = a.phases.slice().sort((x, y) => x.start - y.start);
      for (let pi = 0; pi < this.phases.length; pi++) {
        const p = this.phases[pi];
        const l = this.lane(p.pid);
        const tr = this.phaseTrack(l, Math.max(0, Math.min(20, p.depth | 0)), p.start);
        const end = p.end ?? (p.durationMs !== undefined ? p.start + p.durationMs : Infinity);
        tr.push(p.start, end, K.phase, p.error ? F.BAD : p.end === undefined && p.durationMs === undefined ? F.WARN : 0, pi);
      }
      this.layoutDirty = true;
    }
    this.finalize();
  }

  /** After a full build or a final analysis: exits, open intervals, leaks, deadline. */
  finalize(): void {
    const meta = this.trace.meta;
    if (!this.live && meta?.durationMs && meta.durationMs > this.tMax) this.tMax = meta.durationMs;
    for (const l of this.lanes) {
      if (l.info.end !== undefined) this.closeLife(l, l.info.end);
      if (!l.exitMarked && l.info.exit && l.info.end !== undefined && !this.live) {
        l.main.push(l.info.end, NaN, K.exit, l.info.exit.code !== 0 ? F.BAD | F.COMPUTED : F.COMPUTED, l.pid);
        l.exitMarked = true;
      }
      if (l.info.end !== undefined && l.info.end > this.tMax) this.tMax = l.info.end;
    }
    this.readK8sMeta();
    // Deadline from the plan when the launcher did not record one (Kubernetes: the kubelet's SIGKILL time).
    if (this.deadlineT !== this.deadlineT && this.k8sKillT === this.k8sKillT && this.firstSignalT === this.firstSignalT) {
      const ends = this.lanes.map((l) => l.info.end ?? Infinity);
      if (this.live || Math.max(...ends) >= this.k8sKillT * 0.5) {
        this.run.push(this.k8sKillT, NaN, K.deadline, F.COMPUTED, -1);
        this.deadlineT = this.k8sKillT;
      }
    }
    if (this.deadlineT !== this.deadlineT && this.firstSignalT === this.firstSignalT && this.graceMs > 0) {
      const dl = this.firstSignalT + this.graceMs;
      const ends = this.lanes.map((l) => l.info.end ?? Infinity);
      const mainEnd = Math.max(...ends);
      // Only show a computed deadline if the run lasted long enough to reach it or is live.
      if (this.live || mainEnd >= dl * 0.5 || mainEnd === Infinity) {
        this.run.push(dl, NaN, K.deadline, F.COMPUTED, -1);
        this.deadlineT = dl;
      }
    }
    if (!this.live) {
      // what is still open at the end of a finished run was cut off
      for (const [key, r] of this.open) if (key.startsWith('S:')) r.tr.flags[r.i] |= F.WARN;
      for (const [pid, open] of this.reqOpen) {
        const l = this.laneByPid.get(pid);
        if (l) for (const v of open.values()) l.requests[v & 7].flags[(v - (v & 7)) / 8] |= F.BAD;
      }
      for (const list of this.listenerOpen.values()) for (const r of list) r.tr.flags[r.i] |= F.WARN;
      if (this.prestopOpen) this.prestopOpen.tr.flags[this.prestopOpen.i] |= F.WARN;
    }
    this.computeLeaks();
    traffic.applyRequestRoles(this);
    // flags changed above without an end changing: the tracks' level-of-detail caches follow
    for (const tr of this.allTracks()) tr.stamp++;
    this.layoutDirty = true;
    this.version++;
  }

  // ---------------------------------------------------------------- in their own files

  addEvent(e: TraceEvent, i: number): void {
    return ingest.addEvent(this, e, i);
  }
  openHandle(pid: number, info: HandleInfo, t: number, ev: number): void {
    return ingest.openHandle(this, pid, info, t, ev);
  }
  requestTrack(l: Lane): Track {
    return ingest.requestTrack(this, l);
  }
  handleTrack(l: Lane): Track {
    return ingest.handleTrack(this, l);
  }
  phaseTrack(l: Lane, depth: number, start: number): Track {
    return ingest.phaseTrack(this, l, depth, start);
  }
  computeLeaks(): void {
    return leaks.computeLeaks(this);
  }
  findHandle(id: string): number {
    return leaks.findHandle(this, id);
  }
  layout(): void {
    return layout.layout(this);
  }
  orderedLanes(): Lane[] {
    return layout.orderedLanes(this);
  }
  allTracks(): Track[] {
    return layout.allTracks(this);
  }
  openEnd(l: Lane | null): number {
    return layout.openEnd(this, l);
  }
  extent(): [number, number] {
    return layout.extent(this);
  }
  keyOf(tr: Track, i: number): string {
    return keys.keyOf(this, tr, i);
  }
  locate(key: string): { tr: Track; i: number }[] {
    return keys.locate(this, key);
  }
  timeOfKey(key: string): number {
    return keys.timeOfKey(this, key);
  }
  keyForEvent(idx: number): string | null {
    return keys.keyForEvent(this, idx);
  }
  eventOfKey(key: string): number {
    return keys.eventOfKey(this, key);
  }
  findingKeys(f: Finding): string[] {
    return keys.findingKeys(this, f);
  }
  deadlineKey(): string {
    return keys.deadlineKey(this);
  }
  label(tr: Track, i: number): string {
    return labels.label(this, tr, i);
  }
  tipLines(tr: Track, i: number): string[] {
    return labels.tipLines(this, tr, i);
  }
  shortLabel(tr: Track, i: number): string | undefined {
    return labels.shortLabel(this, tr, i);
  }
  siteText(h: HandleRec): string {
    return labels.siteText(this, h);
  }
  kindName(tr: Track, i: number): string {
    return labels.kindName(this, tr, i);
  }
}
