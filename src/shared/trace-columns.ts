/**
 * A trace in columns, for handing big traces from the extension host to the webview: the events
 * and output lines as typed-array columns (one ArrayBuffer each, so postMessage moves bytes, not
 * a graph of a million objects) with a string table; everything else (meta, processes, analysis)
 * as the plain objects it is. Browser-safe.
 *
 * Layout: every event has `t`, `pid` and a kind (index into `kinds`); the kind's other fields
 * are columns of that kind's table, `row[i]` being event i's row in it. Field values are typed
 * per column: numbers (Float64, with a presence byte when some rows lack the field), strings
 * (index into the string table, 0xffffffff for none), booleans (0/1, 2 for none), and anything else
 * (objects, null, mixed types) as one JSON text per column. So any kind and any field, including
 * those of a newer trace version, round-trips without the codec knowing them.
 *
 * VS Code webviews (engines ^1.57) transfer ArrayBuffers inside a posted message as bytes and
 * revive them as ArrayBuffers; typed-array views are rebuilt here from the buffers, so the codec
 * does not depend on how views are revived.
 */
import { TRACE_FORMAT, TRACE_VERSION, type Trace, type TraceEvent, type OutputLine } from './trace';

export const COLUMNS_FORMAT = 'shutdown-trace-columns';
export const COLUMNS_VERSION = 2;

type NumType = 'f64' | 'u32' | 'i32' | 'u8';

/** One column: its bytes and how to read them. */
export interface Column {
  type: NumType;
  buf: ArrayBuffer;
}

export interface FieldColumn {
  name: string;
  /**
   * num: Float64 (+ `present` where some rows lack it); str: string-table index (0xffffffff: none);
   * bool: 0/1 (2: none); obj: a plain object per row, its fields as columns of their own (+ `present`);
   * json: string-table index of the value's JSON text (0xffffffff: none).
   */
  enc: 'num' | 'str' | 'bool' | 'obj' | 'json';
  data?: Column;
  present?: Column;
  fields?: FieldColumn[];
}

export interface KindTable {
  kind: string;
  rows: number;
  fields: FieldColumn[];
}

export interface TraceColumns {
  format: typeof COLUMNS_FORMAT;
  version: typeof COLUMNS_VERSION;
  /** The trace without its events and output. */
  head: Omit<Trace, 'events' | 'output'>;
  /**
   * The string table as one text and each entry's end in it (UTF-16 code units): one string to
   * clone or to put through VS Code's JSON instead of hundreds of thousands, and entries are cut
   * from it only when read.
   */
  strings: { text: string; ends: Column };
  events: { n: number; t: Column; pid: Column; kind: Column; row: Column; tables: KindTable[] };
  output: { n: number; t: Column; pid: Column; stream: Column; text: Column };
}

/** A string column's "no value". */
export const NONE = 0xffffffff;

function col(a: Float64Array | Uint32Array | Int32Array | Uint8Array, type: NumType): Column {
  // a buffer of its own (never a view into a pooled Node Buffer: the whole pool would travel)
  return { type, buf: a.buffer.byteLength === a.byteLength ? (a.buffer as ArrayBuffer) : (a.slice().buffer as ArrayBuffer) };
}

export function view(c: Column, n: number, what: string): Float64Array | Uint32Array | Int32Array | Uint8Array {
  if (!c || !(c.buf instanceof ArrayBuffer)) throw new ColumnsError(`${what} is not a buffer`);
  const a = c.type === 'f64' ? new Float64Array(c.buf) : c.type === 'u32' ? new Uint32Array(c.buf) : c.type === 'i32' ? new Int32Array(c.buf) : c.type === 'u8' ? new Uint8Array(c.buf) : null;
  if (!a) throw new ColumnsError(`${what} has an unknown column type ${JSON.stringify(c.type)}`);
  if (a.length < n) throw new ColumnsError(`${what} has ${a.length} values, expected ${n}`);
  return a;
}

export class ColumnsError extends Error {
  constructor(message: string) {
    super(`The trace columns are damaged: ${message}`);
    this.name = 'TraceFormatError';
  }
}

/** Every ArrayBuffer in a TraceColumns (the transfer list for postMessage). */
export function columnBuffers(c: TraceColumns): ArrayBuffer[] {
  const out: ArrayBuffer[] = [c.strings.ends.buf, c.events.t.buf, c.events.pid.buf, c.events.kind.buf, c.events.row.buf, c.output.t.buf, c.output.pid.buf, c.output.stream.buf, c.output.text.buf];
  const walk = (fields: FieldColumn[]): void => {
    for (const f of fields) {
      if (f.data) out.push(f.data.buf);
      if (f.present) out.push(f.present.buf);
      if (f.fields) walk(f.fields);
    }
  };
  for (const tb of c.events.tables) walk(tb.fields);
  return out;
}

class Strings {
  private readonly list: string[] = [];
  private index = new Map<string, number>();
  table(): TraceColumns['strings'] {
    const ends = new Uint32Array(this.list.length);
    let at = 0;
    for (let k = 0; k < this.list.length; k++) ends[k] = at += this.list[k].length;
    return { text: this.list.join(''), ends: col(ends, 'u32') };
  }
  id(s: string): number {
    let k = this.index.get(s);
    if (k === undefined) {
      k = this.list.length;
      this.list.push(s);
      this.index.set(s, k);
    }
    return k;
  }
}

const MAX_DEPTH = 2;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v) && !(v instanceof ArrayBuffer);
}

/** The field names of `rows`, in the order first seen (`skip`: names that are not fields). */
function fieldNames(rows: (Record<string, unknown> | undefined)[], skip?: Set<string>): string[] {
  const names: string[] = [];
  const seen = new Set(skip);
  for (let j = 0; j < rows.length; j++) {
    const r = rows[j];
    if (r)
      for (const key in r)
        if (!seen.has(key)) {
          seen.add(key);
          names.push(key);
        }
  }
  return names;
}

/**
 * Columns for the named fields of `rows` (undefined: no record in that row); plain-object fields
 * become tables of their own. Each field's values are read from the records once, into an array
 * that the type checks and the column fills then walk (a keyed read per row and field, not four).
 */
function encodeFields(names: string[], rows: (Record<string, unknown> | undefined)[], strings: Strings, depth: number): FieldColumn[] {
  const n = rows.length;
  return names.map((name): FieldColumn => {
    const vals: unknown[] = new Array(n);
    let allNum = true,
      allStr = true,
      allBool = true,
      allObj = true,
      missing = false;
    for (let j = 0; j < n; j++) {
      const r = rows[j];
      const v = r === undefined ? undefined : r[name];
      vals[j] = v;
      if (v === undefined) {
        missing = true;
        continue;
      }
      const ty = typeof v;
      if (ty !== 'number') allNum = false;
      if (ty !== 'string') allStr = false;
      if (ty !== 'boolean') allBool = false;
      if (allObj && !isPlainObject(v)) allObj = false;
    }
    let present: Column | undefined;
    if (missing) {
      const p = new Uint8Array(n);
      for (let j = 0; j < n; j++) if (vals[j] !== undefined) p[j] = 1;
      present = col(p, 'u8');
    }
    if (allNum) {
      const d = new Float64Array(n);
      for (let j = 0; j < n; j++) {
        const v = vals[j];
        if (v !== undefined) d[j] = v as number;
      }
      return { name, enc: 'num', data: col(d, 'f64'), present };
    }
    if (allStr) {
      const d = new Uint32Array(n);
      // a repeat of the row before (a server, a method, a stream) skips the table's look-up
      let last: unknown = undefined;
      let lastId = NONE;
      for (let j = 0; j < n; j++) {
        const v = vals[j];
        if (v !== last) {
          last = v;
          lastId = v === undefined ? NONE : strings.id(v as string);
        }
        d[j] = lastId;
      }
      return { name, enc: 'str', data: col(d, 'u32') };
    }
    if (allBool) {
      const d = new Uint8Array(n);
      for (let j = 0; j < n; j++) {
        const v = vals[j];
        d[j] = v === undefined ? 2 : v ? 1 : 0;
      }
      return { name, enc: 'bool', data: col(d, 'u8') };
    }
    if (allObj && depth < MAX_DEPTH) {
      const sub = vals as (Record<string, unknown> | undefined)[];
      return { name, enc: 'obj', present, fields: encodeFields(fieldNames(sub), sub, strings, depth + 1) };
    }
    // anything else: its JSON text in the string table (equal values share one entry and one parse)
    const d = new Uint32Array(n);
    for (let j = 0; j < n; j++) {
      const v = vals[j];
      d[j] = v === undefined ? NONE : strings.id(JSON.stringify(v));
    }
    return { name, enc: 'json', data: col(d, 'u32') };
  });
}

/** Columns from a trace. O(events × fields); nothing is kept from the trace. */
export function encodeTraceColumns(trace: Trace): TraceColumns {
  const { events: evs, output: outs, ...head } = trace;
  const strings = new Strings();
  const n = evs.length;
  const t = new Float64Array(n);
  const pid = new Int32Array(n);
  const kindCol = new Uint8Array(n);
  const row = new Uint32Array(n);
  const kinds = new Map<string, { k: number; idx: number[] }>();
  for (let i = 0; i < n; i++) {
    const e = evs[i];
    t[i] = e.t;
    pid[i] = e.pid;
    let g = kinds.get(e.kind);
    if (!g) {
      if (kinds.size >= 255) throw new Error('encodeTraceColumns: more than 255 event kinds');
      kinds.set(e.kind, (g = { k: kinds.size, idx: [] }));
    }
    kindCol[i] = g.k;
    row[i] = g.idx.length;
    g.idx.push(i);
  }
  const tables: KindTable[] = [];
  const notFields = new Set(['kind', 't', 'pid']);
  for (const [kind, g] of kinds) {
    const rows = g.idx.map((i) => evs[i] as unknown as Record<string, unknown>);
    tables.push({ kind, rows: rows.length, fields: encodeFields(fieldNames(rows, notFields), rows, strings, 0) });
  }
  const m = outs.length;
  const ot = new Float64Array(m);
  const opid = new Int32Array(m);
  const ostream = new Uint8Array(m);
  const otext = new Uint32Array(m);
  for (let j = 0; j < m; j++) {
    const o = outs[j];
    ot[j] = o.t;
    opid[j] = o.pid;
    ostream[j] = o.stream === 'stderr' ? 1 : 0;
    otext[j] = strings.id(typeof o.text === 'string' ? o.text : String(o.text));
  }
  return {
    format: COLUMNS_FORMAT,
    version: COLUMNS_VERSION,
    head,
    strings: strings.table(),
    events: { n, t: col(t, 'f64'), pid: col(pid, 'i32'), kind: col(kindCol, 'u8'), row: col(row, 'u32'), tables },
    output: { n: m, t: col(ot, 'f64'), pid: col(opid, 'i32'), stream: col(ostream, 'u8'), text: col(otext, 'u32') },
  };
}

export function isTraceColumns(x: unknown): x is TraceColumns {
  return !!x && typeof x === 'object' && (x as { format?: unknown }).format === COLUMNS_FORMAT;
}

/** The string table of a TraceColumns, its entries cut from the text on first read. */
export class StringTable {
  readonly count: number;
  private readonly cache: (string | undefined)[];
  constructor(
    private readonly text: string,
    private readonly ends: Uint32Array,
  ) {
    this.count = ends.length;
    this.cache = new Array<string | undefined>(this.count);
  }
  /** Entry k, undefined if there is none. */
  get(k: number): string | undefined {
    let s = this.cache[k];
    if (s === undefined && k >= 0 && k < this.count) s = this.cache[k] = this.text.slice(k > 0 ? this.ends[k - 1] : 0, this.ends[k]);
    return s;
  }
}

function openStrings(st: TraceColumns['strings'] | undefined): StringTable {
  if (!st || typeof st.text !== 'string' || !st.ends) throw new ColumnsError('no string table');
  const ends = view(st.ends, 0, 'strings.ends') as Uint32Array;
  if (st.ends.type !== 'u32') throw new ColumnsError('strings.ends is not u32');
  let at = 0;
  for (let k = 0; k < ends.length; k++) {
    if (ends[k] < at) throw new ColumnsError(`string ${k} ends before it starts`);
    at = ends[k];
  }
  if (at !== st.text.length) throw new ColumnsError(`the string table's text has ${st.text.length} characters, its entries ${at}`);
  return new StringTable(st.text, ends);
}

/** The checked envelope of a TraceColumns: its head, string table and the events' own columns as views. */
export interface OpenedColumns {
  head: Omit<Trace, 'events' | 'output'>;
  strings: StringTable;
  n: number;
  t: Float64Array;
  pid: Int32Array;
  kind: Uint8Array;
  row: Uint32Array;
  tables: KindTable[];
}

/** Checks the envelope (format, versions, head) and views the events' columns; the kind tables are read by their users. */
export function openTraceColumns(c: TraceColumns): OpenedColumns {
  if (!isTraceColumns(c)) throw new ColumnsError('not a trace in columns');
  if (c.version !== COLUMNS_VERSION) throw new ColumnsError(`version ${String(c.version)}, this viewer reads ${COLUMNS_VERSION}`);
  const strings = openStrings(c.strings);
  const h = c.head as Partial<Trace> | undefined;
  if (!h || h.format !== TRACE_FORMAT) throw new ColumnsError('its head is not a Shutdown Trace');
  if (typeof h.version !== 'number' || h.version > TRACE_VERSION || h.version < 1) throw new ColumnsError(`its trace format version ${String(h.version)} is not ${TRACE_VERSION}`);
  if (!h.meta || typeof h.meta !== 'object' || !Array.isArray(h.processes)) throw new ColumnsError('its head has no meta or processes');
  const E = c.events;
  if (!E || !Array.isArray(E.tables)) throw new ColumnsError('no event tables');
  const n = E.n;
  return {
    head: c.head,
    strings,
    n,
    t: view(E.t, n, 'events.t') as Float64Array,
    pid: view(E.pid, n, 'events.pid') as Int32Array,
    kind: view(E.kind, n, 'events.kind') as Uint8Array,
    row: view(E.row, n, 'events.row') as Uint32Array,
    tables: E.tables,
  };
}

/** The output lines back from their columns (checked). */
export function decodeOutputColumns(c: TraceColumns, strings: StringTable): OutputLine[] {
  const O = c.output;
  const m = O.n;
  const ot = view(O.t, m, 'output.t');
  const opid = view(O.pid, m, 'output.pid');
  const ostream = view(O.stream, m, 'output.stream');
  const otext = view(O.text, m, 'output.text');
  const output: OutputLine[] = new Array(m);
  for (let j = 0; j < m; j++) {
    const text = strings.get(otext[j]);
    if (text === undefined) throw new ColumnsError(`output.text names string ${otext[j]} of ${strings.count}`);
    output[j] = { t: ot[j], pid: opid[j], stream: ostream[j] ? 'stderr' : 'stdout', text };
  }
  return output;
}

/**
 * The trace back from its columns: events and output lines as plain objects, fields in the
 * order they were first seen for their kind. The envelope is checked here; the event fields
 * have the types their columns give them (numbers, strings, booleans, JSON values).
 */
export function decodeTraceColumns(c: TraceColumns): Trace {
  const { strings, n, t, pid, kind, row } = openTraceColumns(c);
  const str = (k: number, what: string): string => {
    const s = strings.get(k);
    if (s === undefined) throw new ColumnsError(`${what} names string ${k} of ${strings.count}`);
    return s;
  };
  const E = c.events;
  // per kind: a row → object maker
  const parsed = new Map<number, unknown>();
  const fromJson = (k: number, what: string): unknown => {
    let v = parsed.get(k);
    if (v === undefined) {
      try {
        v = JSON.parse(str(k, what));
      } catch {
        throw new ColumnsError(`${what} holds text that is not JSON`);
      }
      parsed.set(k, v);
    }
    return v;
  };
  // Column by column: each loop stores one field name into every row's object, so the stores
  // stay monomorphic and the objects of a kind share their shapes.
  const fill = (objs: (Record<string, unknown> | undefined)[], fields: FieldColumn[], rows: number, path: string): void => {
    for (const f of fields) {
      const what = `${path}.${f.name}`;
      const name = f.name;
      const present = f.present ? view(f.present, rows, what + ' presence') : null;
      switch (f.enc) {
        case 'obj': {
          const sub: (Record<string, unknown> | undefined)[] = new Array(rows);
          for (let j = 0; j < rows; j++) {
            const o = objs[j];
            if (o && (!present || present[j])) o[name] = sub[j] = {};
          }
          fill(sub, f.fields ?? [], rows, what);
          break;
        }
        case 'num': {
          const d = view(f.data!, rows, what);
          for (let j = 0; j < rows; j++) {
            const o = objs[j];
            if (o && (!present || present[j])) o[name] = d[j];
          }
          break;
        }
        case 'str': {
          const d = view(f.data!, rows, what);
          for (let j = 0; j < rows; j++) {
            const o = objs[j];
            const k = d[j];
            if (o && k !== NONE) o[name] = str(k, what);
          }
          break;
        }
        case 'bool': {
          const d = view(f.data!, rows, what);
          for (let j = 0; j < rows; j++) {
            const o = objs[j];
            const v = d[j];
            if (o && v !== 2) o[name] = v === 1;
          }
          break;
        }
        case 'json': {
          const d = view(f.data!, rows, what);
          for (let j = 0; j < rows; j++) {
            const o = objs[j];
            const k = d[j];
            if (o && k !== NONE) o[name] = fromJson(k, what);
          }
          break;
        }
        default:
          throw new ColumnsError(`${what} has an unknown encoding ${JSON.stringify((f as { enc?: unknown }).enc)}`);
      }
    }
  };
  const byKind: Record<string, unknown>[][] = E.tables.map(() => []);
  const counts = new Uint32Array(E.tables.length);
  for (let i = 0; i < n; i++) {
    const k = kind[i];
    if (k >= byKind.length) throw new ColumnsError(`event ${i} has kind ${k} of ${byKind.length}`);
    counts[k]++;
  }
  E.tables.forEach((tb, k) => {
    if (counts[k] !== tb.rows) throw new ColumnsError(`events(${tb.kind}) has ${tb.rows} rows for ${counts[k]} events`);
    const objs: Record<string, unknown>[] = (byKind[k] = new Array(tb.rows));
    const name = String(tb.kind);
    for (let j = 0; j < tb.rows; j++) objs[j] = { kind: name, t: 0, pid: 0 };
  });
  const events: TraceEvent[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const j = row[i];
    const o = byKind[kind[i]][j];
    if (!o) throw new ColumnsError(`event ${i} points past its kind's table`);
    o.t = t[i];
    o.pid = pid[i];
    events[i] = o as unknown as TraceEvent;
  }
  E.tables.forEach((tb, k) => fill(byKind[k], tb.fields, tb.rows, `events(${tb.kind})`));
  return { ...(c.head as Trace), events, output: decodeOutputColumns(c, strings) };
}
