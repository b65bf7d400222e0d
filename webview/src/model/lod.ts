/**
 * Level of detail for a track, so a zoomed-out frame costs what it shows (pixels), not what the
 * track holds (items). Level L has buckets of 2^L ms; at a zoom where a pixel spans at least one
 * bucket, the short items of each colour are drawn from their union (spans merged across gaps
 * under a bucket), and only the long ones (a dozen buckets or more, or still open) one by one.
 * Levels are built on first use, O(items) each, and dropped when the track changes.
 */

/** Items at least this many buckets long are kept apart (drawn one by one, with edges and labels). */
export const LONG_BUCKETS = 12;

export interface LodLevel {
  /** Per colour slot: [start0, end0, start1, end1, …], sorted, disjoint. */
  spans: Float64Array[];
  /** Long and open items, in start order, with the prefix maximum of their ends (open: +Infinity). */
  long: Int32Array;
  longMaxEnd: Float64Array;
}

/** The fields of a track a level is built from (a Track satisfies it). */
export interface LodSource {
  n: number;
  start: Float64Array;
  end: Float64Array;
  stamp: number;
}

export class TrackLod {
  private levels = new Map<number, LodLevel>();
  private stamp = -1;

  /** The level for buckets of 2^level ms; `colour(i)` is item i's colour slot (0 … colours-1). */
  get(src: LodSource, level: number, colours: number, colour: (i: number) => number): LodLevel {
    if (src.stamp !== this.stamp) {
      this.levels.clear();
      this.stamp = src.stamp;
    }
    let lv = this.levels.get(level);
    if (!lv) {
      lv = build(src, Math.pow(2, level), colours, colour);
      if (this.levels.size > 24) this.levels.clear();
      this.levels.set(level, lv);
    }
    return lv;
  }
}

function build(src: LodSource, bucket: number, colours: number, colour: (i: number) => number): LodLevel {
  const { n, start: st, end: en } = src;
  const longMin = bucket * LONG_BUCKETS;
  const out: number[][] = [];
  for (let c = 0; c < colours; c++) out.push([]);
  const curS = new Float64Array(colours).fill(NaN);
  const curE = new Float64Array(colours);
  const long: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = st[i];
    let e = en[i];
    if (e !== e) e = s;
    else if (e === Infinity || e - s >= longMin) {
      long.push(i);
      continue;
    }
    const c = colour(i);
    const cs = curS[c];
    if (cs === cs && s <= curE[c] + bucket) {
      if (e > curE[c]) curE[c] = e;
    } else {
      if (cs === cs) out[c].push(cs, curE[c]);
      curS[c] = s;
      curE[c] = e;
    }
  }
  for (let c = 0; c < colours; c++) if (curS[c] === curS[c]) out[c].push(curS[c], curE[c]);
  const longArr = Int32Array.from(long);
  const longMaxEnd = new Float64Array(longArr.length);
  let m = -Infinity;
  for (let j = 0; j < longArr.length; j++) {
    const i = longArr[j];
    const e = en[i] !== en[i] ? st[i] : en[i];
    if (e > m) m = e;
    longMaxEnd[j] = m;
  }
  return { spans: out.map((a) => Float64Array.from(a)), long: longArr, longMaxEnd };
}

/** The level whose buckets are at most a pixel wide at this scale (px per ms). */
export function levelFor(pxPerMs: number): number {
  return Math.floor(Math.log2(1 / pxPerMs));
}
