/**
 * A trace in columns read in place: the model is built from the typed arrays (ingest-columns.ts)
 * and an event becomes an object only when something asks for it (a label, the details pane, a
 * rare kind the model reads as a whole). A million-event trace so never makes a million objects
 * before its first paint. The object made for event i has the fields, field order and values
 * decodeTraceColumns gives it, so both paths show the same.
 */
import type { Trace, TraceEvent, OutputLine } from '../../../src/shared/trace';
import { openTraceColumns, decodeOutputColumns, view, NONE, ColumnsError, type StringTable, type TraceColumns, type FieldColumn } from '../../../src/shared/trace-columns';

type Num = Float64Array | Uint32Array | Int32Array | Uint8Array;

/** A field with its columns viewed once. */
interface ReadField {
  name: string;
  enc: FieldColumn['enc'];
  what: string;
  rows: number;
  data: Num | null;
  present: Num | null;
  fields: ReadField[];
}

export class ColumnEvents {
  readonly n: number;
  readonly t: Float64Array;
  readonly pid: Int32Array;
  readonly kind: Uint8Array;
  readonly row: Uint32Array;
  readonly strings: StringTable;
  /** Kind name per kind index. */
  readonly kinds: string[];
  readonly head: Omit<Trace, 'events' | 'output'>;
  readonly output: OutputLine[];
  private readonly raw: TraceColumns;
  private readonly fieldsOf: (ReadField[] | undefined)[];
  /** Parsed JSON values by string index: equal values share one object, as in decodeTraceColumns. */
  private readonly parsed = new Map<number, unknown>();

  constructor(c: TraceColumns) {
    const o = openTraceColumns(c);
    this.raw = c;
    this.n = o.n;
    this.t = o.t;
    this.pid = o.pid;
    this.kind = o.kind;
    this.row = o.row;
    this.strings = o.strings;
    this.head = o.head;
    this.kinds = o.tables.map((tb) => String(tb.kind));
    this.fieldsOf = new Array(o.tables.length);
    // every event's kind and row must point into its table (the model trusts them from here on)
    const counts = new Uint32Array(o.tables.length);
    const k = o.kind;
    const row = o.row;
    const nk = o.tables.length;
    for (let i = 0; i < o.n; i++) {
      const ki = k[i];
      if (ki >= nk) throw new ColumnsError(`event ${i} has kind ${ki} of ${nk}`);
      counts[ki]++;
    }
    o.tables.forEach((tb, ki) => {
      if (counts[ki] !== tb.rows) throw new ColumnsError(`events(${tb.kind}) has ${tb.rows} rows for ${counts[ki]} events`);
    });
    for (let i = 0; i < o.n; i++) if (row[i] >= o.tables[k[i]].rows) throw new ColumnsError(`event ${i} points past its kind's table`);
    // every string a field names is in the table and every JSON value parses: a damaged column is refused now, not when an event is first made
    for (let ki = 0; ki < nk; ki++) this.check(this.fields(ki));
    this.output = decodeOutputColumns(c, o.strings);
  }

  /** The trace this stands for, its events to be made on demand: `events` holds undefined until then. */
  trace(): Trace {
    // holes until made (a holey array reads a hole as undefined, at array speed)
    const events: TraceEvent[] = new Array<TraceEvent>(this.n);
    return { ...(this.head as Trace), events, output: this.output };
  }

  private check(fields: ReadField[]): void {
    const count = this.strings.count;
    for (const f of fields) {
      if (f.enc === 'obj') this.check(f.fields);
      if (f.enc !== 'str' && f.enc !== 'json') continue;
      const d = f.data!;
      for (let j = 0; j < f.rows; j++) {
        const k = d[j];
        if (k === NONE) continue;
        if (k >= count) throw new ColumnsError(`${f.what} names string ${k} of ${count}`);
        if (f.enc === 'json') this.json(k, f.what);
      }
    }
  }

  /** Kind index of a name, or -1. */
  kindIndex(name: string): number {
    return this.kinds.indexOf(name);
  }

  /** The viewed fields of a kind. */
  fields(ki: number): ReadField[] {
    let f = this.fieldsOf[ki];
    if (!f) {
      const tb = this.raw.events.tables[ki];
      f = this.fieldsOf[ki] = readFields(tb.fields, tb.rows, `events(${tb.kind})`);
    }
    return f;
  }

  /**
   * A field of a kind ('a.b' inside an object field) if it has the encoding asked for and every
   * row has it (no presence column on the way), else null.
   */
  column(ki: number, path: string, enc: 'num' | 'str' | 'bool'): Num | null {
    const f = this.field(ki, path);
    return f && f.enc === enc && !f.present ? f.data : null;
  }

  /** As column(), for a field rows may lack: `data` null when no row has it (every value undefined). */
  optional(ki: number, path: string, enc: 'str' | 'bool'): { data: Num | null } | null {
    const f = this.field(ki, path);
    if (f === null) return null;
    if (!f) return { data: null };
    return f.enc === enc && !f.present ? { data: f.data } : null;
  }

  /** The field at a path; undefined if only its last step is missing, null if the way to it is not there for every row. */
  private field(ki: number, path: string): ReadField | null | undefined {
    if (ki < 0) return null;
    const steps = path.split('.');
    let fields = this.fields(ki);
    for (let s = 0; s < steps.length - 1; s++) {
      const f = fields.find((x) => x.name === steps[s]);
      if (!f || f.enc !== 'obj' || f.present) return null;
      fields = f.fields;
    }
    return fields.find((x) => x.name === steps[steps.length - 1]);
  }

  /** String-table entry k, undefined for none. */
  str(k: number, what: string): string | undefined {
    if (k === NONE) return undefined;
    const s = this.strings.get(k);
    if (s === undefined) throw new ColumnsError(`${what} names string ${k} of ${this.strings.count}`);
    return s;
  }

  /** Event i as the object decodeTraceColumns makes for it. */
  event(i: number): TraceEvent {
    const ki = this.kind[i];
    const o: Record<string, unknown> = { kind: this.kinds[ki], t: this.t[i], pid: this.pid[i] };
    this.fill(o, this.fields(ki), this.row[i]);
    return o as unknown as TraceEvent;
  }

  /** Events [from, to) as objects (a live run's catch-up). */
  range(from: number, to: number): TraceEvent[] {
    const out: TraceEvent[] = [];
    for (let i = from; i < to; i++) out.push(this.event(i));
    return out;
  }

  private fill(o: Record<string, unknown>, fields: ReadField[], j: number): void {
    for (const f of fields) {
      if (f.present && !f.present[j]) continue;
      switch (f.enc) {
        case 'obj': {
          const sub: Record<string, unknown> = {};
          o[f.name] = sub;
          this.fill(sub, f.fields, j);
          break;
        }
        case 'num':
          o[f.name] = f.data![j];
          break;
        case 'str': {
          const k = f.data![j];
          if (k !== NONE) o[f.name] = this.str(k, f.what);
          break;
        }
        case 'bool': {
          const v = f.data![j];
          if (v !== 2) o[f.name] = v === 1;
          break;
        }
        case 'json': {
          const k = f.data![j];
          if (k !== NONE) o[f.name] = this.json(k, f.what);
          break;
        }
      }
    }
  }

  private json(k: number, what: string): unknown {
    let v = this.parsed.get(k);
    if (v === undefined) {
      try {
        v = JSON.parse(this.str(k, what)!);
      } catch {
        throw new ColumnsError(`${what} holds text that is not JSON`);
      }
      this.parsed.set(k, v);
    }
    return v;
  }
}

function readFields(fields: FieldColumn[], rows: number, path: string): ReadField[] {
  return fields.map((f) => {
    const what = `${path}.${f.name}`;
    if (f.enc !== 'obj' && f.enc !== 'num' && f.enc !== 'str' && f.enc !== 'bool' && f.enc !== 'json')
      throw new ColumnsError(`${what} has an unknown encoding ${JSON.stringify((f as { enc?: unknown }).enc)}`);
    return {
      name: f.name,
      enc: f.enc,
      what,
      rows,
      data: f.enc === 'obj' ? null : view(f.data!, rows, what),
      present: f.present ? view(f.present, rows, what + ' presence') : null,
      fields: f.enc === 'obj' ? readFields(f.fields ?? [], rows, what) : [],
    };
  });
}
