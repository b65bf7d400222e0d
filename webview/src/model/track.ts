/**
 * The timeline's storage: a track is a struct-of-arrays of items sorted by start time (start,
 * end, kind, flags, two references), with a prefix maximum of ends, so the renderer finds the
 * visible window by binary search and draws a million items without allocating per item. Items
 * reference their source (event index, output line, phase, handle record, process) by number.
 * Also the shapes built on tracks: lanes (one per process), handle records and layout rows.
 */
import type { ProcessInfo, TraceEvent } from '../../../src/shared/trace';
import type { HandleInfo } from '../../../src/shared/wire';
import { lowerBound } from '../util';
import { TrackLod } from './lod';

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

export interface OpenRef {
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
  /** Bumped on every change of the items (push, end, flags through setFlags, sort): the LOD follows it. */
  stamp = 0;
  /** Per-zoom-level summaries, built by the renderer on first use (lod.ts). */
  readonly lod = new TrackLod();
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
    this.stamp++;
    return n;
  }
  /** Move an item's start; the caller keeps the order (or the track re-sorts on its next ensure()). */
  moveStart(i: number, s: number): void {
    this.start[i] = s;
    if ((i > 0 && s < this.start[i - 1]) || (i + 1 < this.n && s > this.start[i + 1])) this.sorted = false;
    if (i < this.maxValid) this.maxValid = i;
    if (i === this.n - 1 && this.end[i] !== this.end[i]) this.lastEnd = s;
    this.stamp++;
  }
  setEnd(i: number, e: number): void {
    this.end[i] = e;
    this.stamp++;
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
    this.stamp++;
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
  /** Received-signal items with no send yet (a receipt recorded before its send), by signal name. */
  recvWaiting: Map<string, { k: number; t: number }[]>;
}

/** A handle on the timeline. Fields are set in the constructor, not as class fields: one record per handle (100k+), and a class field is an Object.defineProperty each. */
export class HandleRec {
  declare end: number; // Infinity while open
  declare closeEv: number;
  declare leaked: boolean;
  /** Where it was last seen in a snapshot (event index), if any. */
  declare snapEv: number;
  constructor(
    public pid: number,
    /** null: read from its handle-open event (`openEv`) when first asked for (a trace from columns makes that event only then). */
    private known: HandleInfo | null,
    public start: number,
    public openEv: number,
    /** Its bar: lane.handles[row], index idx. */
    public row: number,
    public idx: number,
    private readonly events: { ev(i: number): TraceEvent } | null,
  ) {
    this.end = Infinity;
    this.closeEv = -1;
    this.leaked = false;
    this.snapEv = -1;
  }
  get info(): HandleInfo {
    if (!this.known) this.known = (this.events!.ev(this.openEv) as Extract<TraceEvent, { kind: 'handle-open' }>).handle;
    return this.known;
  }
  set info(v: HandleInfo) {
    this.known = v;
  }
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
