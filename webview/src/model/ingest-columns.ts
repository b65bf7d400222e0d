/**
 * Building the model straight from a trace's columns: the kinds a big trace is made of (requests,
 * handle closes, connection ends, live-handle counts) go from their typed arrays into the tracks
 * through the same functions ingest.ts uses for event objects, with no object per event; any other
 * kind, or a column not in the shape expected, takes the object path (the event made on demand).
 */
import type { Model } from './model';
import type { ColumnEvents } from './columns';
import { addEvent, activeCount, connEnd, handleClose, openHandleOf, requestEnd, requestStart } from './ingest';

const GENERIC = 0;
const ACTIVE_COUNT = 1;
const REQUEST_START = 2;
const REQUEST_END = 3;
const CONN_END = 4;
const HANDLE_CLOSE = 5;
const HANDLE_OPEN = 6;

/** Events [from, to) of the columns, in order (the model's bars open and close by event order). */
export function ingestColumns(m: Model, c: ColumnEvents, from: number, to: number): void {
  const code = new Uint8Array(c.kinds.length);
  const ac = c.kindIndex('active-count');
  const acCount = c.column(ac, 'count', 'num');
  if (acCount) code[ac] = ACTIVE_COUNT;
  const rs = c.kindIndex('request-start');
  const rsReq = c.column(rs, 'req', 'str');
  if (rsReq) code[rs] = REQUEST_START;
  const re = c.kindIndex('request-end');
  const reReq = c.column(re, 'req', 'str');
  const reStatus = c.column(re, 'status', 'num');
  const reAborted = c.optional(re, 'aborted', 'bool');
  if (reReq && reStatus && reAborted) code[re] = REQUEST_END;
  // both ends of requests from columns: open requests keyed by their id's index, no string made per request
  const byIndex = code[rs] === REQUEST_START && code[re] === REQUEST_END;
  const ce = c.kindIndex('conn-end');
  const ceHow = c.optional(ce, 'how', 'str');
  const ceHad = c.optional(ce, 'hadRequest', 'bool');
  if (ceHow && ceHad) code[ce] = CONN_END;
  const hc = c.kindIndex('handle-close');
  const hcId = c.column(hc, 'id', 'str');
  if (hcId) code[hc] = HANDLE_CLOSE;
  // handle-open: the id and ref make the bar; the handle's other fields are read when shown
  const ho = c.kindIndex('handle-open');
  const hoId = c.column(ho, 'handle.id', 'str');
  const hoRef = c.optional(ho, 'handle.ref', 'bool');
  if (hoId && hoRef) code[ho] = HANDLE_OPEN;
  const bool = (d: Float64Array | Uint32Array | Int32Array | Uint8Array | null, j: number): boolean | undefined => (d && d[j] !== 2 ? d[j] === 1 : undefined);
  const kind = c.kind;
  const time = c.t;
  const pid = c.pid;
  const row = c.row;
  for (let i = from; i < to; i++) {
    const what = code[kind[i]];
    if (what === GENERIC) {
      addEvent(m, m.ev(i), i);
      continue;
    }
    const t = time[i];
    if (t > m.tMax) m.tMax = t;
    if (t < m.tMin) m.tMin = t;
    const j = row[i];
    switch (what) {
      case ACTIVE_COUNT:
        activeCount(m, pid[i], t, i, acCount![j]);
        break;
      case REQUEST_START:
        requestStart(m, pid[i], t, i, byIndex ? rsReq![j] : c.str(rsReq![j], 'request-start.req')!);
        break;
      case REQUEST_END:
        requestEnd(m, pid[i], t, i, byIndex ? reReq![j] : c.str(reReq![j], 'request-end.req')!, reStatus![j], bool(reAborted!.data, j));
        break;
      case CONN_END:
        connEnd(m, pid[i], t, i, ceHow!.data ? c.str(ceHow!.data[j], 'conn-end.how') : undefined, bool(ceHad!.data, j));
        break;
      case HANDLE_OPEN:
        openHandleOf(m, pid[i], c.str(hoId![j], 'handle-open.handle.id')!, bool(hoRef!.data, j), null, t, i);
        break;
      case HANDLE_CLOSE:
        handleClose(m, pid[i], t, i, c.str(hcId![j], 'handle-close.id')!);
        break;
    }
  }
  if (byIndex) {
    // the requests still open get their ids back, for the appends and the analysis that follow
    for (const open of m.reqOpen.values()) {
      const byId = [...open].filter(([k]) => typeof k === 'number');
      for (const [k, v] of byId) {
        open.delete(k);
        open.set(c.str(k as number, 'request-start.req') as string, v);
      }
    }
  }
}
