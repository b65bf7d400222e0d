/**
 * The timeline model derived from a Trace: one group of tracks per process (lane), each track a
 * struct-of-arrays of items sorted by start time, so the renderer can find the visible window by
 * binary search and draw 1M items without allocating per item.
 *
 * Items reference their source (event index, output line, phase, handle record, process) by
 * number; labels and details are derived on demand, only for what is on screen.
 *
 * Live runs: `apply()` adds events incrementally (amortised O(1) per event, no re-layout of
 * what exists); `setAnalysis()` swaps in the final phases and leaks.
 */
import type { Trace, TraceEvent, OutputLine, ProcessInfo, Analysis, PhaseTiming, Finding, Leak } from '../../src/shared/trace';
import type { HandleInfo } from '../../src/shared/wire';
import { userFrame, formatFrame } from '../../src/shared/frames';
import { lowerBound, fmtDur, displayText } from './util';

/** Item kinds; names are the `data-kind` values of the UI contract. */
export const K = {
  process: 0,
  signal: 1,
  phase: 2,
  handle: 3,
  leak: 4,
  listener: 5,
  request: 6,
  conn: 7,
  log: 8,
  deadline: 9,
  kill: 10,
  exit: 11,
  error: 12,
  /** Kubernetes preStop hook (a bar). */
  prestop: 13,
  /** Kubernetes termination start / grace extension (markers in the run row). */
  k8s: 14,
} as const;
export const KIND_NAME = ['process', 'signal', 'phase', 'handle', 'leak', 'listener', 'request', 'conn', 'log', 'deadline', 'kill', 'exit', 'error', 'prestop', 'k8s'];

/** Item flags. */
export const F = {
  BAD: 1, // aborted, threw, 5xx, stderr, crashed
  WARN: 2, // 4xx, unfinished, unref'd
  UNREF: 4,
  /** Load requests (track type 'load'): refused, "turned away" (shares the bit with UNREF, used by handle rows only). */
  TURNED: 4,
  LIFE: 8, // the process lifecycle bar (ref = pid)
  LEAK: 16, // a handle that leaked
  SENT: 32, // a signal sent by the launcher (ref2 = the matching 'signal' event, if any)
  COMPUTED: 64, // deadline from the plan / exit from ProcessInfo (no event)
  SYNC_END: 128, // listener: ref2 is its listener-end; the bar runs to listener-settled
} as const;

export type TrackType = 'run' | 'k8s' | 'loadmarks' | 'load' | 'lane' | 'listeners' | 'phases' | 'server' | 'conns' | 'requests' | 'leaks' | 'handles' | 'counts' | 'logs';

interface OpenRef {
  tr: Track;
  i: number;
}

export class Track {
  n = 0;
  start: Float64Array;
  /** NaN = instant; Infinity = still open (drawn to the lane's end or "now"). */
  end: Float64Array;
  kind: Uint8Array;
  flags: Uint8Array;
  ref: Int32Array;
  ref2: Int32Array;
  /** prefix max of effective end; valid for [0, maxValid). */
  maxEnd: Float64Array;
  maxValid = 0;
  sorted = true;
  /** End of the last pushed item, for first-fit packing. */
  lastEnd = -Infinity;
  overlaps = false;
  pending = new Set<OpenRef>();
  /** Called after a (rare) re-sort with old index → new index, for indexes kept outside. */
  onReorder: ((inv: Int32Array) => void) | null = null;
  /** Count series (type 'counts'): values per item. */
  value: Float64Array | null = null;
  vmax = 0;
  /** Phase tracks: the nesting depth they show. */
  depth = 0;
  constructor(
    readonly type: TrackType,
    readonly label: string,
    readonly lane: Lane | null,
    cap = 16,
  ) {
    this.start = new Float64Array(cap);
    this.end = new Float64Array(cap);
    this.kind = new Uint8Array(cap);
    this.flags = new Uint8Array(cap);
    this.ref = new Int32Array(cap);
    this.ref2 = new Int32Array(cap);
    this.maxEnd = new Float64Array(cap);
    if (type === 'counts') this.value = new Float64Array(cap);
  }
  private grow(): void {
    const cap = this.start.length * 2;
    const g = <T extends Float64Array | Uint8Array | Int32Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(cap);
      b.set(a);
      return b;
    };
    this.start = g(this.start);
    this.end = g(this.end);
    this.kind = g(this.kind);
    this.flags = g(this.flags);
    this.ref = g(this.ref);
    this.ref2 = g(this.ref2);
    this.maxEnd = g(this.maxEnd);
    if (this.value) this.value = g(this.value);
  }
  push(s: number, e: number, k: number, f: number, r: number, r2 = -1): number {
    const n = this.n;
    if (n === this.start.length) this.grow();
    if (n > 0 && s < this.start[n - 1]) this.sorted = false;
    this.start[n] = s;
    this.end[n] = e;
    this.kind[n] = k;
    this.flags[n] = f;
    this.ref[n] = r;
    this.ref2[n] = r2;
    this.lastEnd = e !== e ? s : e;
    this.n = n + 1;
    return n;
  }
  setEnd(i: number, e: number): void {
    this.end[i] = e;
    if (i < this.maxValid) this.maxValid = i;
    if (i === this.n - 1) this.lastEnd = e;
  }
  /** Sort (rarely needed: out-of-order appends) and bring the prefix-max index up to date. */
  ensure(): void {
    if (!this.sorted) this.sort();
    const n = this.n;
    if (this.maxValid >= n) return;
    const st = this.start;
    const en = this.end;
    const mx = this.maxEnd;
    let m = this.maxValid > 0 ? mx[this.maxValid - 1] : -Infinity;
    for (let i = this.maxValid; i < n; i++) {
      const e = en[i];
      const ee = e !== e ? st[i] : e;
      if (ee > m) m = ee;
      mx[i] = m;
    }
    this.maxValid = n;
  }
  private sort(): void {
    const n = this.n;
    const st = this.start;
    const idx = new Int32Array(n);
    for (let i = 0; i < n; i++) idx[i] = i;
    const order = Array.from(idx).sort((a, b) => st[a] - st[b] || a - b);
    const inv = new Int32Array(n);
    for (let i = 0; i < n; i++) inv[order[i]] = i;
    const perm = <T extends Float64Array | Uint8Array | Int32Array>(a: T): void => {
      const copy = a.slice(0, n) as T;
      for (let i = 0; i < n; i++) a[i] = copy[order[i]];
    };
    perm(this.start);
    perm(this.end);
    perm(this.kind);
    perm(this.flags);
    perm(this.ref);
    perm(this.ref2);
    if (this.value) perm(this.value);
    for (const p of this.pending) p.i = inv[p.i];
    this.onReorder?.(inv);
    this.sorted = true;
    this.maxValid = 0;
  }
  /** First index whose item may reach t (prefix max end >= t). Call ensure() first. */
  firstReaching(t: number): number {
    return lowerBound(this.maxEnd, this.n, t);
  }
}

export interface Lane {
  pid: number;
  info: ProcessInfo;
  depth: number;
  main: Track;
  life: OpenRef | null;
  listeners: Track[];
  phases: Track[];
  server: Track;
  conns: Track;
  requests: Track[];
  leaks: Track[];
  handles: Track[];
  counts: Track;
  logs: Track;
  exitMarked: boolean;
  /** Handles seen in this process (the "handles (N)" label). */
  handleCount: number;
  /** signal-sent items by signal name, waiting for the process to report receipt */
  sentWaiting: Map<string, number[]>;
}

export interface HandleRec {
  pid: number;
  info: HandleInfo;
  start: number;
  end: number; // Infinity while open
  openEv: number;
  closeEv: number;
  leaked: boolean;
  /** Where it was last seen in a snapshot (event index), if any. */
  snapEv: number;
  /** Its bar: lane.handles[row], index idx. */
  row: number;
  idx: number;
}

export interface Row {
  track: Track;
  lane: Lane | null;
  label: string;
  /** Label shown once per group (first row of a multi-row group). */
  first: boolean;
  y: number;
  h: number;
  header: boolean;
}

const MAX_LISTENER_ROWS = 3;
const MAX_REQUEST_ROWS = 4;
const MAX_HANDLE_ROWS = 6;
const MAX_LEAK_ROWS = 8;
const MAX_LOAD_ROWS = 4;
const MAX_SSE_ROWS = 3;

/** Load outcomes that count as lost (refusals are "turned away", apart). */
export const LOST_OUTCOMES = new Set(['reset', 'timeout', 'http-5xx', 'other-error']);

export interface LoadCounts {
  ok: number;
  lost: number;
  turnedAway: number;
  total: number;
}

const LEAK_CODES = new Set(['leaked-handles', 'masked-leak', 'killed-at-deadline', 'stalled']);
const LEAK_SNAPSHOTS = new Set(['deadline', 'stalled', 'process-exit', 'exit']);

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
  loadSeen: Record<string, number> = {};
  loadSummaryEv = -1;
  /** Kubernetes: termination start (the grace period counts from here) and when the kubelet would SIGKILL. */
  terminationT = NaN;
  k8sKillT = NaN;
  private prestopOpen: OpenRef | null = null;
  handles: HandleRec[] = [];
  /** pid → handle id → index into handles. */
  private handleIdx = new Map<number, Map<string, number>>();
  /** pid → request id → open bar, packed as index * 8 + row (no object per request). */
  private reqOpen = new Map<number, Map<string, number>>();
  phases: PhaseTiming[] = [];
  phasesFromAnalysis = false;
  private open = new Map<string, OpenRef>();
  private listenerOpen = new Map<string, OpenRef[]>();
  private phaseOpen = new Map<string, { ref: OpenRef; pi: number }>();
  private phaseStack = new Map<number, string[]>();
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
  unidentified: { type: string; count: number }[] = [];
  eventsSeen = 0;
  outputSeen = 0;

  constructor(trace: Trace, live: boolean) {
    // events/output arrays are adopted, not copied (they can hold a million entries)
    this.trace = { ...trace, events: trace.events, output: trace.output, processes: [] };
    this.live = live;
    this.graceMs = trace.meta?.plan?.graceMs ?? 0;
    this.run = new Track('run', 'run', null);
    this.k8s = new Track('k8s', 'preStop hook', null);
    this.loadMarks = new Track('loadmarks', 'requests (load)', null);
    this.readK8sMeta();
    for (const p of trace.processes) this.upsertProcess({ ...p });
    this.ingest(0, 0);
    this.now = live ? this.tMax : trace.meta?.durationMs ?? 0;
    if (trace.analysis) this.setAnalysis(trace.analysis);
    else this.finalize();
  }

  private readK8sMeta(): void {
    const k = this.trace.meta?.k8s;
    if (!k || k.startedAt === undefined) return;
    if (this.terminationT !== this.terminationT) this.terminationT = k.startedAt;
    if (k.schedule) this.k8sKillT = k.startedAt + k.schedule.killAtMs;
  }

  /** Where the grace period starts: termination start on Kubernetes, else the first signal. */
  graceStart(): number {
    return this.terminationT === this.terminationT ? this.terminationT : this.firstSignalT;
  }

  /** Load request counts: the launcher's load-summary when there is one, else what was seen. */
  loadCounts(): LoadCounts {
    const ev = this.trace.events[this.loadSummaryEv];
    const by: Record<string, number> = ev && ev.kind === 'load-summary' ? ev.byOutcome : this.loadSeen;
    let ok = 0, lost = 0, turnedAway = 0, total = 0;
    for (const k of Object.keys(by)) {
      const n = Number(by[k]) || 0;
      total += n;
      if (k === 'ok') ok += n;
      else if (k === 'refused') turnedAway += n;
      else if (LOST_OUTCOMES.has(k)) lost += n;
    }
    return { ok, lost, turnedAway, total };
  }

  loadCountsText(): string {
    const c = this.loadCounts();
    return `${c.ok} ok · ${c.lost} lost · ${c.turnedAway} turned away`;
  }

  private loadTrack(group: Track[], label: string): Track {
    return new Track('load', label, null, group === this.load ? 256 : 16);
  }

  get events(): TraceEvent[] {
    return this.trace.events;
  }
  get cwd(): string {
    return this.trace.meta?.cwd ?? '';
  }

  // ---------------------------------------------------------------- building

  private lane(pid: number): Lane {
    let l = this.laneByPid.get(pid);
    if (l) return l;
    const info: ProcessInfo = { pid, ppid: 0, command: pid === 0 ? 'launcher' : `pid ${pid}`, traced: false, isMain: pid === this.trace.meta?.mainPid };
    this.trace.processes.push(info);
    return this.addLane(info);
  }

  private addLane(info: ProcessInfo): Lane {
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
    this.lanes.push(l);
    this.laneByPid.set(info.pid, l);
    this.layoutDirty = true;
    if (info.start !== undefined) this.startLife(l, info.start);
    return l;
  }

  private startLife(l: Lane, t: number): void {
    if (l.life) return;
    const i = l.main.push(t, l.info.end ?? Infinity, K.process, F.LIFE, l.pid);
    if (l.info.end === undefined) {
      l.life = { tr: l.main, i };
      l.main.pending.add(l.life);
    } else l.life = { tr: l.main, i: -1 };
  }

  private closeLife(l: Lane, t: number): void {
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

  private openAt(key: string, tr: Track, i: number): void {
    const r = { tr, i };
    tr.pending.add(r);
    this.open.set(key, r);
  }

  private closeAt(key: string, t: number): OpenRef | undefined {
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

  private perPid<V>(m: Map<number, Map<string, V>>, pid: number): Map<string, V> {
    let x = m.get(pid);
    if (!x) m.set(pid, (x = new Map()));
    return x;
  }

  /** First-fit packing into a group of tracks; the last track takes the overflow. */
  private pack(group: Track[], make: () => Track, max: number, s: number): Track {
    for (const tr of group) if (tr.lastEnd <= s) return tr;
    if (group.length < max) {
      const tr = make();
      group.push(tr);
      this.layoutDirty = true;
      return tr;
    }
    let best = group[0];
    for (const tr of group) if (tr.lastEnd < best.lastEnd) best = tr;
    best.overlaps = true;
    return best;
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

  private ingest(evFrom: number, outFrom: number): void {
    const evs = this.trace.events;
    for (let i = evFrom; i < evs.length; i++) this.addEvent(evs[i], i);
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

  private addEvent(e: TraceEvent, i: number): void {
    const t = e.t;
    if (t > this.tMax) this.tMax = t;
    if (t < this.tMin) this.tMin = t;
    switch (e.kind) {
      // ------------------------------------------------ launcher events (pid 0)
      case 'spawned': {
        const l = this.lane(e.pid);
        if (e.command && (l.info.command.startsWith('pid ') || !l.info.command)) l.info.command = e.command;
        if (l.info.start === undefined) l.info.start = t;
        this.startLife(l, t);
        break;
      }
      case 'signal-sent': {
        const l = this.lane(e.target);
        const k = l.main.push(t, NaN, K.signal, F.SENT, i, -1);
        const w = l.sentWaiting.get(e.signal);
        if (w) w.push(k);
        else l.sentWaiting.set(e.signal, [k]);
        this.signalTs.push(t);
        if (!(this.firstSignalT <= t)) {
          this.firstSignalT = t;
          this.firstSignalName = e.signal;
        }
        break;
      }
      case 'deadline': {
        // A live run shows a computed deadline (signal + grace) before the event arrives: the
        // event adopts that marker instead of adding a second one at the same place.
        let adopted = false;
        for (let k = 0; k < this.run.n; k++) {
          if (this.run.kind[k] === K.deadline && this.run.flags[k] & F.COMPUTED) {
            this.run.flags[k] &= ~F.COMPUTED;
            this.run.ref[k] = i;
            adopted = true;
            break;
          }
        }
        if (!adopted) this.run.push(t, NaN, K.deadline, 0, i);
        this.deadlineT = t;
        if (e.graceMs) this.graceMs = e.graceMs;
        break;
      }
      case 'kill-sent':
        this.run.push(t, NaN, K.kill, 0, i);
        if (!(this.killT <= t)) this.killT = t;
        break;
      case 'process-exit': {
        const l = this.lane(e.pid);
        l.main.push(t, NaN, K.exit, e.code !== 0 ? F.BAD : 0, i);
        l.exitMarked = true;
        if (l.info.exit === undefined) l.info.exit = { code: e.code, signal: e.signal };
        if (l.info.end === undefined) l.info.end = t;
        this.closeLife(l, t);
        break;
      }
      case 'orphan': {
        const l = this.lane(e.pid);
        if (l.info.command.startsWith('pid ')) l.info.command = e.command;
        l.main.push(t, NaN, K.process, F.WARN, i);
        break;
      }
      case 'collector-rejected':
        this.run.push(t, NaN, K.process, F.WARN, i);
        break;
      // ------------------------------------------------ traffic during shutdown (pid 0)
      case 'load-start':
        this.loadMarks.push(t, NaN, K.process, 0, i);
        this.layoutDirty = true;
        break;
      case 'load-summary':
        this.loadMarks.push(t, NaN, K.process, 0, i);
        this.loadSummaryEv = i;
        this.layoutDirty = true;
        break;
      case 'load-request': {
        const end = typeof e.end === 'number' && e.end >= t ? e.end : t;
        if (end > this.tMax) this.tMax = end;
        const o = e.outcome;
        const f = o === 'ok' ? 0 : o === 'refused' ? F.TURNED : o === 'timeout' ? F.WARN : F.BAD;
        const group = e.sse ? this.sse : this.load;
        const tr = this.pack(group, () => this.loadTrack(group, e.sse ? 'SSE streams' : 'requests'), e.sse ? MAX_SSE_ROWS : MAX_LOAD_ROWS, t);
        tr.push(t, end, K.request, f, i);
        if (!e.sse) this.loadSeen[o] = (this.loadSeen[o] ?? 0) + 1;
        break;
      }
      // ------------------------------------------------ Kubernetes termination (pid 0)
      case 'termination-start':
        this.run.push(t, NaN, K.k8s, 0, i);
        if (this.terminationT !== this.terminationT) this.terminationT = t;
        break;
      case 'grace-extension':
        this.run.push(t, NaN, K.k8s, F.WARN, i);
        break;
      case 'prestop-start': {
        const k = this.k8s.push(t, Infinity, K.prestop, 0, i);
        this.prestopOpen = { tr: this.k8s, i: k };
        this.k8s.pending.add(this.prestopOpen);
        this.layoutDirty = true;
        break;
      }
      case 'prestop-end': {
        const r = this.prestopOpen;
        if (!r) break;
        this.prestopOpen = null;
        r.tr.pending.delete(r);
        r.tr.setEnd(r.i, t);
        r.tr.ref2[r.i] = i;
        if (!e.ok) r.tr.flags[r.i] |= F.BAD;
        if (e.overran) r.tr.flags[r.i] |= F.WARN;
        break;
      }
      case 'note':
      case 'platform':
        this.run.push(t, NaN, K.process, 0, i);
        break;
      // ------------------------------------------------ preload events
      case 'signal': {
        const l = this.lane(e.pid);
        // A 'signal' the launcher sent shows as one marker: attach receipt to the sent marker.
        const w = l.sentWaiting.get(e.signal);
        if (w && w.length) {
          const k = w.shift()!;
          l.main.ref2[k] = i;
        } else {
          l.main.push(t, NaN, K.signal, 0, i);
          this.signalTs.push(t);
          if (!(this.firstSignalT <= t)) {
            this.firstSignalT = t;
            this.firstSignalName = e.signal;
          }
        }
        break;
      }
      case 'listener-start': {
        const l = this.lane(e.pid);
        const tr = this.pack(l.listeners, () => new Track('listeners', 'listeners', l), MAX_LISTENER_ROWS, t);
        const k = tr.push(t, Infinity, K.listener, 0, i);
        const r = { tr, i: k };
        tr.pending.add(r);
        const key = `${e.pid}:${e.id}`;
        const list = this.listenerOpen.get(key);
        if (list) list.push(r);
        else this.listenerOpen.set(key, [r]);
        break;
      }
      case 'listener-end':
      case 'listener-settled': {
        const list = this.listenerOpen.get(`${e.pid}:${e.id}`);
        if (!list || !list.length) break;
        const r = list[0];
        if (e.kind === 'listener-end') {
          if (e.threw) r.tr.flags[r.i] |= F.BAD;
          r.tr.ref2[r.i] = i;
          if (e.returnedPromise && !e.threw) {
            // async listener: the bar runs until its promise settles
            r.tr.flags[r.i] |= F.SYNC_END;
            break;
          }
        } else {
          if (!e.ok) r.tr.flags[r.i] |= F.BAD;
          if (r.tr.ref2[r.i] < 0) r.tr.ref2[r.i] = i;
        }
        r.tr.setEnd(r.i, t);
        r.tr.pending.delete(r);
        list.shift();
        break;
      }
      case 'listen': {
        const l = this.lane(e.pid);
        l.server.push(t, NaN, K.conn, 0, i);
        break;
      }
      case 'server-close': {
        const l = this.lane(e.pid);
        const k = l.server.push(t, Infinity, K.conn, 0, i);
        this.openAt(`S:${e.pid}:${e.server}`, l.server, k);
        break;
      }
      case 'server-closed': {
        const r = this.closeAt(`S:${e.pid}:${e.server}`, t);
        if (r) r.tr.ref2[r.i] = i;
        break;
      }
      case 'conn-end': {
        const l = this.lane(e.pid);
        l.conns.push(t, NaN, K.conn, e.how === 'error' ? F.BAD : e.how === 'destroyed' || (e.hadRequest && e.how === 'server-ended') ? F.WARN : 0, i);
        break;
      }
      case 'request-start': {
        const l = this.lane(e.pid);
        const tr = this.pack(l.requests, () => this.requestTrack(l), MAX_REQUEST_ROWS, t);
        const k = tr.push(t, Infinity, K.request, 0, i);
        this.perPid(this.reqOpen, e.pid).set(e.req, k * 8 + l.requests.indexOf(tr));
        break;
      }
      case 'request-end': {
        const open = this.reqOpen.get(e.pid);
        const v = open?.get(e.req);
        if (v === undefined) break;
        open!.delete(e.req);
        const tr = this.lane(e.pid).requests[v & 7];
        const k = (v - (v & 7)) / 8;
        tr.setEnd(k, t);
        tr.ref2[k] = i;
        if (e.aborted || e.status >= 500) tr.flags[k] |= F.BAD;
        else if (e.status >= 400) tr.flags[k] |= F.WARN;
        break;
      }
      case 'phase-start': {
        if (this.phasesFromAnalysis) break;
        const l = this.lane(e.pid);
        const stack = this.phaseStack.get(e.pid) ?? [];
        this.phaseStack.set(e.pid, stack);
        const depth = stack.length;
        stack.push(e.id);
        const pi = this.phases.length;
        this.phases.push({ id: e.id, pid: e.pid, name: e.name, start: t, depth, auto: !!e.auto });
        const tr = this.phaseTrack(l, depth, t);
        const k = tr.push(t, Infinity, K.phase, 0, pi, i);
        const r = { tr, i: k };
        tr.pending.add(r);
        this.phaseOpen.set(`${e.pid}:${e.id}`, { ref: r, pi });
        break;
      }
      case 'phase-end': {
        if (this.phasesFromAnalysis) break;
        const key = `${e.pid}:${e.id}`;
        const o = this.phaseOpen.get(key);
        if (!o) break;
        this.phaseOpen.delete(key);
        o.ref.tr.setEnd(o.ref.i, t);
        o.ref.tr.pending.delete(o.ref);
        const ph = this.phases[o.pi];
        ph.end = t;
        ph.durationMs = t - ph.start;
        if (e.error) {
          ph.error = e.error;
          o.ref.tr.flags[o.ref.i] |= F.BAD;
        }
        const stack = this.phaseStack.get(e.pid);
        if (stack) {
          const at = stack.lastIndexOf(e.id);
          if (at >= 0) stack.splice(at, 1);
        }
        break;
      }
      case 'exit-call': {
        const l = this.lane(e.pid);
        l.main.push(t, NaN, K.exit, e.code !== undefined && e.code !== 0 && e.code !== '0' ? F.BAD : F.WARN, i);
        break;
      }
      case 'before-exit':
        this.lane(e.pid).main.push(t, NaN, K.process, 0, i);
        break;
      case 'exit': {
        const l = this.lane(e.pid);
        if (l.info.exit === undefined) l.info.exit = { code: e.code, signal: null };
        break;
      }
      case 'error':
        this.lane(e.pid).main.push(t, NaN, K.error, F.BAD, i);
        break;
      case 'handle-open':
        this.openHandle(e.pid, e.handle, t, i);
        break;
      case 'handle-close': {
        const hi = this.handleIndex(e.pid, e.id);
        if (hi === undefined) break;
        const h = this.handles[hi];
        if (h.end !== Infinity) break;
        h.end = t;
        h.closeEv = i;
        this.lane(e.pid).handles[h.row].setEnd(h.idx, t);
        break;
      }
      case 'spawn':
        this.lane(e.pid).main.push(t, NaN, K.process, 0, i);
        break;
      case 'snapshot': {
        const l = this.lane(e.pid);
        l.main.push(t, NaN, K.process, 0, i);
        for (const h of e.handles) {
          const hi = this.handleIndex(e.pid, h.id);
          if (hi === undefined) {
            const start = h.createdAt ?? l.info.start ?? 0;
            this.openHandle(e.pid, h, start, -1);
            this.handles[this.handleIndex(e.pid, h.id)!].snapEv = i;
          } else {
            const rec = this.handles[hi];
            rec.snapEv = i;
            if (!rec.info.site && h.site) rec.info = { ...rec.info, site: h.site };
          }
        }
        break;
      }
      case 'active-count': {
        const l = this.lane(e.pid);
        const k = l.counts.push(t, NaN, 0, 0, i);
        l.counts.value![k] = e.count;
        if (e.count > l.counts.vmax) l.counts.vmax = e.count;
        break;
      }
      case 'dropped':
        this.lane(e.pid).main.push(t, NaN, K.process, F.WARN, i);
        break;
      default:
        break;
    }
  }

  private openHandle(pid: number, info: HandleInfo, t: number, ev: number): void {
    const l = this.lane(pid);
    const byId = this.perPid(this.handleIdx, pid);
    const old = byId.get(info.id);
    if (old !== undefined && this.handles[old].end === Infinity) return; // reopened id while open: keep the first
    const hi = this.handles.length;
    const tr = this.pack(l.handles, () => this.handleTrack(l), MAX_HANDLE_ROWS, t);
    const k = tr.push(t, Infinity, K.handle, info.ref === false ? F.UNREF : 0, hi);
    this.handles.push({ pid, info, start: t, end: Infinity, openEv: ev, closeEv: -1, leaked: false, snapEv: -1, row: l.handles.indexOf(tr), idx: k });
    l.handleCount++;
    this.layoutDirty = true;
    byId.set(info.id, hi);
  }

  private requestTrack(l: Lane): Track {
    const tr = new Track('requests', 'requests', l, 256);
    const row = l.requests.length;
    tr.onReorder = (inv) => {
      const open = this.reqOpen.get(l.pid);
      if (!open) return;
      for (const [req, v] of open) if ((v & 7) === row) open.set(req, inv[(v - row) / 8] * 8 + row);
    };
    return tr;
  }

  private handleTrack(l: Lane): Track {
    const tr = new Track('handles', 'handles', l, 256);
    const row = l.handles.length;
    tr.onReorder = (inv) => {
      for (let k = 0; k < tr.n; k++) {
        const h = this.handles[tr.ref[k]];
        if (h && h.pid === l.pid && h.row === row) h.idx = k;
      }
      void inv;
    };
    return tr;
  }

  /** The phase row for a depth: nested phases go one row down, overlapping ones at the same depth get a row of their own. */
  private phaseTrack(l: Lane, depth: number, start: number): Track {
    let at = 0;
    for (let k = 0; k < l.phases.length; k++) {
      const t = l.phases[k];
      if (t.depth === depth && t.lastEnd <= start) return t;
      if (t.depth <= depth) at = k + 1;
    }
    const tr = new Track('phases', 'phases', l);
    tr.depth = depth;
    l.phases.splice(at, 0, tr);
    this.layoutDirty = true;
    return tr;
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
    this.layoutDirty = true;
    this.version++;
  }

  private computeLeaks(): void {
    const leakedIdx = new Set<number>();
    const a = this.trace.analysis;
    const unidentified = new Map<string, number>();
    this.leakList = [];
    if (a && Array.isArray(a.leaks)) {
      a.leaks.forEach((leak, index) => {
        const recs: HandleRec[] = [];
        for (const h of leak.handles ?? []) {
          if (!h || h.ref === false) continue;
          let hi = this.handleIndex(leak.pid, h.id);
          if (hi === undefined) {
            this.openHandle(leak.pid, h, h.createdAt ?? this.lane(leak.pid).info.start ?? 0, -1);
            hi = this.handleIndex(leak.pid, h.id);
          }
          if (hi === undefined) continue;
          leakedIdx.add(hi);
          recs.push(this.handles[hi]);
        }
        this.leakList.push({ leak, index, handles: recs });
      });
    } else if (a) {
      for (const f of a.findings ?? []) {
        if (!LEAK_CODES.has(f.code) || !f.handles) continue;
        for (const h of f.handles) {
          if (h.ref === false) continue;
          let hi = this.findHandle(h.id);
          if (hi < 0) {
            const pid = this.trace.meta?.mainPid ?? this.lanes[0]?.pid ?? 0;
            this.openHandle(pid, h, h.createdAt ?? this.lane(pid).info.start ?? 0, -1);
            hi = this.handles.length - 1;
          }
          leakedIdx.add(hi);
        }
      }
    }
    if (!a || leakedIdx.size === 0) {
      // No analysis: the last "should have exited" snapshot of each process names the leaks.
      const lastSnap = new Map<number, number>();
      const evs = this.trace.events;
      for (let i = 0; i < evs.length; i++) {
        const e = evs[i];
        if (e.kind === 'snapshot' && LEAK_SNAPSHOTS.has(e.reason)) lastSnap.set(e.pid, i);
      }
      if (!a && !this.live) {
        for (const [pid, si] of lastSnap) {
          const e = evs[si];
          if (e.kind !== 'snapshot') continue;
          for (const h of e.handles) {
            if (h.ref === false) continue;
            const hi = this.handleIndex(pid, h.id);
            if (hi !== undefined && this.handles[hi].end === Infinity) leakedIdx.add(hi);
          }
        }
      }
      for (const [, si] of lastSnap) {
        const e = evs[si];
        if (e.kind === 'snapshot') for (const u of e.unidentified ?? []) unidentified.set(u.type, (unidentified.get(u.type) ?? 0) + u.count);
      }
    } else {
      const evs = this.trace.events;
      const lastSnap = new Map<number, number>();
      for (let i = 0; i < evs.length; i++) {
        const e = evs[i];
        if (e.kind === 'snapshot' && LEAK_SNAPSHOTS.has(e.reason)) lastSnap.set(e.pid, i);
      }
      for (const [, si] of lastSnap) {
        const e = evs[si];
        if (e.kind === 'snapshot') for (const u of e.unidentified ?? []) unidentified.set(u.type, (unidentified.get(u.type) ?? 0) + u.count);
      }
    }
    this.unidentified = [...unidentified].map(([type, count]) => ({ type, count }));
    for (const h of this.handles) h.leaked = false;
    for (const hi of leakedIdx) this.handles[hi].leaked = true;
    // In the analysis' order (the user's leaks first, as the verdict names them), else by creation.
    const order = this.leakList.length ? [...new Set(this.leakList.flatMap((l) => l.handles.map((h) => this.handles.indexOf(h))))] : [...leakedIdx].sort((x, y) => this.handles[x].start - this.handles[y].start);
    this.leaks = order.map((hi) => this.handles[hi]);
    // Mark leaked items in the packed handle tracks, and give each leak its own row.
    for (const l of this.lanes) {
      for (const tr of l.handles) {
        for (let i = 0; i < tr.n; i++) {
          if (this.handles[tr.ref[i]].leaked) tr.flags[i] |= F.LEAK;
          else tr.flags[i] &= ~F.LEAK;
        }
      }
      l.leaks = [];
    }
    for (const hi of order) {
      const h = this.handles[hi];
      const l = this.lane(h.pid);
      let tr: Track;
      if (l.leaks.length < MAX_LEAK_ROWS) {
        tr = new Track('leaks', 'leaked', l, 2);
        l.leaks.push(tr);
      } else {
        tr = l.leaks[MAX_LEAK_ROWS - 1];
        tr.overlaps = true;
      }
      tr.push(h.start, h.end, K.leak, F.LEAK | F.BAD, hi);
    }
  }

  findHandle(id: string): number {
    const main = this.trace.meta?.mainPid;
    if (main !== undefined) {
      const hi = this.handleIndex(main, id);
      if (hi !== undefined) return hi;
    }
    for (const l of this.lanes) {
      const hi = this.handleIndex(l.pid, id);
      if (hi !== undefined) return hi;
    }
    return -1;
  }

  // ---------------------------------------------------------------- layout

  /** Rows top to bottom. Cheap (a few dozen rows); rebuilt only when the set of tracks changes. */
  layout(): void {
    if (!this.layoutDirty) return;
    this.layoutDirty = false;
    const rows: Row[] = [];
    let y = 0;
    const add = (track: Track, lane: Lane | null, label: string, h: number, first: boolean, header = false): void => {
      rows.push({ track, lane, label, first, y, h, header });
      y += h;
    };
    if (this.run.n > 0 || this.firstSignalT === this.firstSignalT) add(this.run, null, this.terminationT === this.terminationT ? 'run · k8s grace period' : 'run · grace period', 40, true, true);
    if (this.k8s.n) add(this.k8s, null, 'preStop hook', 20, true);
    if (this.loadMarks.n || this.load.length || this.sse.length) {
      add(this.loadMarks, null, 'requests (load)', 30, true, true);
      this.load.forEach((t, k) => t.n && add(t, null, 'requests', 14, k === 0));
      this.sse.forEach((t, k) => t.n && add(t, null, 'SSE streams', 14, k === 0));
      y += 6;
    }
    for (const l of this.orderedLanes()) {
      add(l.main, l, laneTitle(l), 44, true, true);
      l.listeners.forEach((t, k) => t.n && add(t, l, 'signal listeners', 16, k === 0));
      l.phases.forEach((t, k) => t.n && add(t, l, 'shutdown phases', 20, k === 0));
      if (l.server.n) add(l.server, l, 'server', 18, true);
      if (l.conns.n) add(l.conns, l, 'connections', 16, true);
      l.requests.forEach((t, k) => t.n && add(t, l, 'requests', 14, k === 0));
      l.leaks.forEach((t, k) => t.n && add(t, l, k === 0 ? `leaks (${this.leaks.filter((h) => h.pid === l.pid).length})` : '', 18, k === 0));
      l.handles.forEach((t, k) => t.n && add(t, l, k === 0 ? `handles (${l.handleCount})` : '', 11, k === 0));
      if (l.counts.n) add(l.counts, l, 'live handles', 34, true);
      if (l.logs.n) add(l.logs, l, 'logs', 16, true);
      y += 6;
    }
    this.rows = rows;
    this.height = y;
  }

  orderedLanes(): Lane[] {
    const byParent = new Map<number, Lane[]>();
    const pids = new Set(this.lanes.map((l) => l.pid));
    const roots: Lane[] = [];
    for (const l of this.lanes) {
      if (l.pid === 0 && l.main.n === 0 && !l.logs.n) continue;
      if (pids.has(l.info.ppid) && l.info.ppid !== l.pid) {
        const list = byParent.get(l.info.ppid) ?? [];
        list.push(l);
        byParent.set(l.info.ppid, list);
      } else roots.push(l);
    }
    const order = (a: Lane, b: Lane): number => Number(b.info.isMain) - Number(a.info.isMain) || (a.info.start ?? 0) - (b.info.start ?? 0) || a.pid - b.pid;
    const out: Lane[] = [];
    const seen = new Set<number>();
    const visit = (l: Lane, depth: number): void => {
      if (seen.has(l.pid)) return;
      seen.add(l.pid);
      l.depth = depth;
      out.push(l);
      for (const c of (byParent.get(l.pid) ?? []).sort(order)) visit(c, depth + 1);
    };
    for (const r of roots.sort(order)) visit(r, 0);
    return out;
  }

  allTracks(): Track[] {
    const out: Track[] = [this.run, this.k8s, this.loadMarks, ...this.load, ...this.sse];
    for (const l of this.lanes) out.push(l.main, ...l.listeners, ...l.phases, l.server, l.conns, ...l.requests, ...l.leaks, ...l.handles, l.counts, l.logs);
    return out;
  }

  /** Where open intervals of this lane end on screen. */
  openEnd(l: Lane | null): number {
    if (this.live) return Math.max(this.now, this.tMax);
    if (l && l.info.end !== undefined) return l.info.end;
    return this.tMax;
  }

  extent(): [number, number] {
    let lo = Math.min(0, this.tMin);
    let hi = Math.max(this.tMax, this.now);
    if (this.deadlineT === this.deadlineT) hi = Math.max(hi, this.deadlineT);
    if (hi - lo < 1) hi = lo + 1;
    return [lo, hi];
  }

  // ---------------------------------------------------------------- items: keys, labels

  /** A stable key for an item: what it refers to, not where it sits. */
  keyOf(tr: Track, i: number): string {
    const k = tr.kind[i];
    const f = tr.flags[i];
    const r = tr.ref[i];
    if (k === K.log) return 'o:' + r;
    if (k === K.phase) return 'p:' + r;
    if (k === K.handle || k === K.leak) return 'h:' + r;
    if (f & F.LIFE) return 'x:' + r;
    if (k === K.exit && f & F.COMPUTED) return 'x:' + r;
    if (k === K.deadline && f & F.COMPUTED) return 'd:0';
    if (tr.type === 'counts') return 'c:' + r;
    return 'e:' + r;
  }

  /** Start time of what a key refers to (for locating it in tracks). */
  timeOfKey(key: string): number {
    const [t, s] = [key[0], Number(key.slice(2))];
    switch (t) {
      case 'o':
        return this.trace.output[s]?.t ?? NaN;
      case 'p':
        return this.phases[s]?.start ?? NaN;
      case 'h':
        return this.handles[s]?.start ?? NaN;
      case 'x': {
        const l = this.laneByPid.get(s);
        return l ? l.info.start ?? NaN : NaN;
      }
      case 'd':
        return this.deadlineT;
      case 'e':
      case 'c':
        return this.trace.events[s]?.t ?? NaN;
    }
    return NaN;
  }

  /** Every (track, index) showing a key. */
  locate(key: string): { tr: Track; i: number }[] {
    const out: { tr: Track; i: number }[] = [];
    const t = this.timeOfKey(key);
    const tracks = this.allTracks();
    for (const tr of tracks) {
      tr.ensure();
      let i = lowerBound(tr.start, tr.n, t);
      if (key[0] === 'x') {
        // lifecycle and computed exit: scan the lane's main track
        if (tr.type !== 'lane' || tr.lane?.pid !== Number(key.slice(2))) continue;
        for (let j = 0; j < tr.n; j++) if (this.keyOf(tr, j) === key) out.push({ tr, i: j });
        continue;
      }
      for (; i < tr.n && tr.start[i] === t; i++) if (this.keyOf(tr, i) === key) out.push({ tr, i });
    }
    return out;
  }

  /** Map any event index (start or end of something) to the key of the item that shows it. */
  keyForEvent(idx: number): string | null {
    const evs = this.trace.events;
    const e = evs[idx];
    if (!e) return null;
    const back = (pred: (x: TraceEvent) => boolean): number => {
      for (let j = idx - 1; j >= 0; j--) if (pred(evs[j])) return j;
      return -1;
    };
    switch (e.kind) {
      case 'request-end': {
        const j = back((x) => x.kind === 'request-start' && x.pid === e.pid && x.req === e.req);
        return j >= 0 ? 'e:' + j : null;
      }
      case 'listener-end':
      case 'listener-settled': {
        const j = back((x) => x.kind === 'listener-start' && x.pid === e.pid && x.id === e.id);
        return j >= 0 ? 'e:' + j : null;
      }
      case 'server-closed': {
        const j = back((x) => x.kind === 'server-close' && x.pid === e.pid && x.server === e.server);
        return j >= 0 ? 'e:' + j : null;
      }
      case 'handle-open':
      case 'handle-close': {
        const hi = this.handleIndex(e.pid, e.kind === 'handle-open' ? e.handle.id : e.id);
        return hi !== undefined ? 'h:' + hi : null;
      }
      case 'phase-start':
      case 'phase-end': {
        const pi = this.phases.findIndex((p) => p.pid === e.pid && p.id === e.id);
        return pi >= 0 ? 'p:' + pi : null;
      }
      case 'exit':
      case 'spawned':
        return 'x:' + e.pid;
      case 'signal': {
        // attached to a sent marker?
        const l = this.laneByPid.get(e.pid);
        if (l) for (let j = 0; j < l.main.n; j++) if (l.main.kind[j] === K.signal && l.main.flags[j] & F.SENT && l.main.ref2[j] === idx) return 'e:' + l.main.ref[j];
        return 'e:' + idx;
      }
      case 'deadline':
        return 'e:' + idx;
      default:
        return 'e:' + idx;
    }
  }

  /** The trace.events index an item key stands for (its start event), or -1. */
  eventOfKey(key: string): number {
    const n = Number(key.slice(2));
    switch (key[0]) {
      case 'e':
      case 'c':
        return n >= 0 && n < this.trace.events.length ? n : -1;
      case 'h': {
        const h = this.handles[n];
        return h ? (h.openEv >= 0 ? h.openEv : h.snapEv) : -1;
      }
      case 'p': {
        const p = this.phases[n];
        if (!p) return -1;
        return this.trace.events.findIndex((e) => e.kind === 'phase-start' && e.pid === p.pid && e.id === p.id);
      }
      default:
        return -1;
    }
  }

  findingKeys(f: Finding): string[] {
    const keys = new Set<string>();
    for (const idx of f.evidence ?? []) {
      const k = this.keyForEvent(idx);
      if (k) keys.add(k);
    }
    for (const h of f.handles ?? []) {
      const hi = this.findHandle(h.id);
      if (hi >= 0) keys.add('h:' + hi);
    }
    if (f.code === 'killed-at-deadline' && this.deadlineT === this.deadlineT && !keys.size) keys.add(this.deadlineKey());
    return [...keys];
  }

  deadlineKey(): string {
    for (let i = 0; i < this.run.n; i++) if (this.run.kind[i] === K.deadline) return this.keyOf(this.run, i);
    return 'd:0';
  }

  /** What a user reads for an item (canvas label and accessible text). */
  label(tr: Track, i: number): string {
    const k = tr.kind[i];
    const f = tr.flags[i];
    const r = tr.ref[i];
    const s = tr.start[i];
    const e = tr.end[i];
    const dur = e === Infinity ? (this.live ? 'running' : 'never ended') : e === e ? fmtDur(e - s) : '';
    const ev = this.trace.events[r];
    switch (k) {
      case K.process:
        if (f & F.LIFE) {
          const l = this.laneByPid.get(r);
          return l ? `${shortCommand(l.info.command)} (pid ${r}) ${dur}` : `pid ${r}`;
        }
        return ev ? eventLabel(ev) : 'process';
      case K.signal: {
        if (!ev || (ev.kind !== 'signal-sent' && ev.kind !== 'signal')) return 'signal';
        const nth = ev.nth > 1 ? ` #${ev.nth}` : '';
        return f & F.SENT ? `${ev.signal}${nth}` : `${ev.signal}${nth} received`;
      }
      case K.deadline:
        return this.k8sKillT === this.k8sKillT ? `SIGKILL due ${fmtDur(this.k8sKillT - this.terminationT)}` : `deadline ${fmtDur(this.graceMs)}`;
      case K.prestop: {
        if (!ev || ev.kind !== 'prestop-start') return 'preStop';
        const end = this.trace.events[tr.ref2[i]];
        const d = end && end.kind === 'prestop-end' ? fmtDur(end.durationMs) : dur;
        const what = displayText(ev.detail || ev.action, 60);
        const tail = f & F.WARN ? (e === Infinity && !(end && end.kind === 'prestop-end') ? ' (never ended)' : ' — overran') : '';
        return `preStop ${what} · ${d}${tail}${f & F.BAD ? ' ✗ failed' : ''}`;
      }
      case K.k8s: {
        if (ev?.kind === 'termination-start') return `termination · grace ${ev.graceSeconds} s`;
        if (ev?.kind === 'grace-extension') return `grace +${ev.seconds} s`;
        return 'kubernetes';
      }
      case K.kill:
        return 'SIGKILL';
      case K.exit: {
        if (f & F.COMPUTED) {
          const l = this.laneByPid.get(r);
          const x = l?.info.exit;
          return x ? exitText(x.code, x.signal) : 'exit';
        }
        if (ev?.kind === 'process-exit') return exitText(ev.code, ev.signal);
        if (ev?.kind === 'exit-call') return `process.exit(${ev.code === undefined ? '' : displayText(String(ev.code), 20)})`;
        return 'exit';
      }
      case K.error:
        return ev && ev.kind === 'error' ? `${ev.origin}: ${displayText(ev.message, 120)}` : 'error';
      case K.listener: {
        if (!ev || ev.kind !== 'listener-start') return 'listener';
        const name = ev.name ? displayText(ev.name, 40) : 'listener';
        return `${name} (${ev.signal}) ${dur}${f & F.BAD ? ' ✗' : ''}`;
      }
      case K.request: {
        if (ev && ev.kind === 'load-request') {
          const st = ev.status !== undefined && ev.outcome !== 'ok' ? ` ${ev.status}` : '';
          const d = fmtDur(ev.end - ev.t);
          if (ev.sse) return `SSE ${ev.outcome}${ev.events !== undefined ? ` · ${ev.events} events` : ''} ${d}`;
          return `GET ${ev.outcome === 'refused' ? 'refused (turned away)' : ev.outcome}${st} ${d}`;
        }
        if (!ev || ev.kind !== 'request-start') return 'request';
        const end = this.trace.events[tr.ref2[i]];
        const st = end && end.kind === 'request-end' ? (end.aborted ? 'aborted' : String(end.status)) : e === Infinity ? (this.live ? '…' : 'cut') : '';
        return `${displayText(ev.method, 10)} ${displayText(ev.path, 60)} ${st} ${dur}`.replace(/\s+/g, ' ').trim();
      }
      case K.conn:
        if (!ev) return 'connection';
        if (ev.kind === 'listen') return `listening ${ev.proto} ${displayText(ev.address, 60)}`;
        if (ev.kind === 'server-close') return e === Infinity ? `server.close() ${this.live ? 'waiting' : 'never finished'}` : `server.close() ${dur}`;
        if (ev.kind === 'conn-end') return `connection ${ev.how} ${displayText(ev.remote, 60)}`;
        return 'connection';
      case K.phase: {
        const p = this.phases[r];
        if (!p) return 'phase';
        const name = displayText(p.name, 60);
        if (e === Infinity) return `${name} ${this.live ? 'running' : '(never finished)'}`;
        return `${name} ${fmtDur(p.durationMs ?? e - s)}${p.error ? ' ✗ failed' : ''}`;
      }
      case K.handle:
      case K.leak: {
        const h = this.handles[r];
        if (!h) return 'handle';
        const lbl = displayText(h.info.label || h.info.type, 80);
        if (k === K.leak) return `leaked: ${lbl} — ${this.siteText(h)}`;
        return `${lbl}${h.info.ref === false ? ' (unref)' : ''} ${dur}`;
      }
      case K.log: {
        const o = this.trace.output[r];
        return o ? `${o.stream}: ${displayText(o.text, 120)}` : 'log';
      }
    }
    return KIND_NAME[k] ?? 'item';
  }

  /** Extra facts for the tooltip of load requests and Kubernetes items. */
  tipLines(tr: Track, i: number): string[] {
    const ev = this.trace.events[tr.ref[i]];
    if (!ev) return [];
    const out: string[] = [];
    if (ev.kind === 'load-request') {
      const o = ev.outcome;
      out.push(`outcome: ${o}${o === 'refused' ? ' (turned away)' : LOST_OUTCOMES.has(o) ? ' (lost)' : ''}`);
      if (ev.status !== undefined) out.push(`status ${ev.status}`);
      if (ev.error) out.push(`error: ${displayText(ev.error, 200)}`);
      out.push(ev.keepAlive ? 'keep-alive connection' : 'new connection (connection: close)');
      if (ev.sse) out.push(`SSE stream${ev.events !== undefined ? `, ${ev.events} events` : ''}`);
    } else if (ev.kind === 'prestop-start') {
      const end = this.trace.events[tr.ref2[i]];
      out.push(`action: ${ev.action}`);
      if (end && end.kind === 'prestop-end') {
        out.push(end.ok ? 'ok' : `failed${end.error ? ': ' + displayText(end.error, 200) : ''}`);
        if (end.overran) out.push('overran: still running at the grace deadline');
      }
    } else if (ev.kind === 'termination-start') {
      out.push(`terminationGracePeriodSeconds ${ev.graceSeconds}, stop signal ${ev.stopSignal}${ev.preStop ? `, preStop ${displayText(ev.preStop, 80)}` : ''}`);
      if (this.k8sKillT === this.k8sKillT) out.push(`SIGKILL at ${fmtDur(this.k8sKillT)}`);
    } else if (ev.kind === 'grace-extension') out.push(displayText(ev.reason, 200));
    else if (ev.kind === 'load-summary' || ev.kind === 'load-start') out.push(`requests: ${this.loadCountsText()}`);
    return out;
  }

  /** A bar's label when its full label has no room: the phase's duration. */
  shortLabel(tr: Track, i: number): string | undefined {
    if (tr.kind[i] !== K.phase) return undefined;
    const s = tr.start[i];
    const e = tr.end[i];
    return e === Infinity || e !== e ? undefined : fmtDur(e - s);
  }

  siteText(h: HandleRec): string {
    const fr = userFrame(h.info.site);
    return fr ? displayText(formatFrame(fr, this.cwd), 160) : 'unknown site';
  }

  kindName(tr: Track, i: number): string {
    return KIND_NAME[tr.kind[i]];
  }
}

export function exitText(code: number | null | undefined, signal: string | null | undefined): string {
  if (signal) return `killed by ${signal}`;
  if (code === null || code === undefined) return 'exit';
  return `exit ${code}`;
}

/** "node --flag dist/server.js --port 3" → "node server.js". */
export function shortCommand(cmd: string): string {
  const c = displayText(cmd, 400);
  const parts = c.split(/\s+/).filter(Boolean);
  if (!parts.length) return 'process';
  const base = (p: string): string => p.split('/').pop() || p;
  const exe = base(parts[0]);
  const arg = parts.slice(1).find((p) => !p.startsWith('-'));
  const short = arg ? `${exe} ${base(arg)}` : exe;
  return short.length > 40 ? short.slice(0, 39) + '…' : short;
}

export function laneTitle(l: Lane): string {
  return shortCommand(l.info.command);
}

export function eventLabel(e: TraceEvent): string {
  switch (e.kind) {
    case 'spawn':
      return `spawn pid ${e.childPid}: ${displayText(e.command, 60)}`;
    case 'snapshot':
      return `snapshot (${e.reason}): ${e.handles.length} handle${e.handles.length === 1 ? '' : 's'}`;
    case 'note':
    case 'platform':
      return displayText(e.text, 120);
    case 'orphan':
      return `orphan pid ${e.pid}${e.stopped ? ' (stopped)' : ' left running'}`;
    case 'dropped':
      return `dropped ${e.count} events`;
    case 'before-exit':
      return `beforeExit (code ${e.code})`;
    case 'collector-rejected':
      return `collector rejected: ${displayText(e.reason, 80)}`;
    case 'load-start':
      return `load ${e.rate}/s${e.sse ? ` + ${e.sse} SSE` : ''}`;
    case 'load-summary':
      return `load done: ${e.sent} sent`;
    default:
      return e.kind;
  }
}
