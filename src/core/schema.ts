/**
 * A small checker toolkit for data that crosses a trust boundary: frames from the preload
 * (validate-wire.ts) and trace files (validate-trace.ts). No Node or vscode imports (the
 * webview bundles it).
 *
 * A checker takes an unknown value and returns it typed, or throws a SchemaError naming the
 * first bad field as a path (`events[12].handles`). Two modes:
 *  - copy: returns a fresh object holding only the known fields (unknown ones are dropped), so
 *    nothing unchecked, deep or prototype-shaped reaches the run;
 *  - check: returns the value itself, unchanged, and bounds the nesting of unknown fields (a
 *    reader must not blow its stack on them later).
 *
 * `Spec<T>` lists a checker for every key of T, optional ones included: adding a field to a
 * protocol or trace type without saying how to check it fails to compile.
 */

export class SchemaError extends Error {
  constructor(public path: string, public problem: string) {
    super(`${path} ${problem}`);
    this.name = 'SchemaError';
  }
}

export interface Ctx {
  /** Build a clean copy (only known fields) instead of checking in place. */
  copy: boolean;
  /** Copy mode: every string passes through this (the collector removes its own token). */
  scrub?: (s: string) => string;
}

export type Checker<T> = (v: unknown, cx: Ctx) => T;
/** A checker for every key of T; for an optional key the checker must accept `undefined`. */
export type Spec<T> = { [K in keyof Required<T>]: Checker<T[K]> };

/** Unknown fields may nest at most this deep (a trace's own fields nest about 8 deep). */
export const MAX_UNKNOWN_DEPTH = 32;

function fail(problem: string): never {
  throw new SchemaError('', problem);
}

/** Prefixes the path of a SchemaError thrown below `step` (".name" or "[3]"). */
function under(e: unknown, step: string): unknown {
  if (e instanceof SchemaError) {
    e.path = step + e.path;
    e.message = `${e.path} ${e.problem}`;
  }
  return e;
}

const kindOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : typeof v);

export const str: Checker<string> = (v, cx) => {
  if (typeof v !== 'string') fail(v === undefined ? 'is missing' : `is not a string (${kindOf(v)})`);
  return cx.copy && cx.scrub ? cx.scrub(v) : v;
};

export const num: Checker<number> = (v) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(v === undefined ? 'is missing' : `is not a number (${kindOf(v)})`);
  return v;
};

export const int: Checker<number> = (v) => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(v === undefined ? 'is missing' : typeof v === 'number' ? 'is not a whole number' : `is not a number (${kindOf(v)})`);
  return v;
};

/** A whole number ≥ 0 (counts, pids, sequence numbers). */
export const count: Checker<number> = (v, cx) => {
  const n = int(v, cx);
  if (n < 0) fail('is negative');
  return n;
};

export const bool: Checker<boolean> = (v) => {
  if (typeof v !== 'boolean') fail(v === undefined ? 'is missing' : `is not true or false (${kindOf(v)})`);
  return v;
};

/** A field that may be absent. JSON has no `undefined`, so `null` counts as absent too. */
export function opt<T>(c: Checker<T>): Checker<T | undefined> {
  return (v, cx) => (v === undefined || v === null ? undefined : c(v, cx));
}

export function nullable<T>(c: Checker<T>): Checker<T | null> {
  return (v, cx) => (v === null ? null : c(v, cx));
}

export function oneOf<T extends string>(...values: readonly T[]): Checker<T> {
  const set = new Set<string>(values);
  return (v) => {
    if (typeof v !== 'string' || !set.has(v)) fail(v === undefined ? 'is missing' : `is not one of ${values.join(', ')}`);
    return v as T;
  };
}

export function lit<T extends string>(value: T): Checker<T> {
  return (v) => {
    if (v !== value) fail(`is not "${value}"`);
    return value;
  };
}

/** The first checker that accepts the value; the error of the last one otherwise. */
export function either<A, B>(a: Checker<A>, b: Checker<B>): Checker<A | B> {
  return (v, cx) => {
    try {
      return a(v, cx);
    } catch {
      return b(v, cx);
    }
  };
}

export function list<T>(c: Checker<T>): Checker<T[]> {
  return (v, cx) => {
    if (!Array.isArray(v)) fail(v === undefined ? 'is missing' : `is not a list (${kindOf(v)})`);
    const out: T[] | undefined = cx.copy ? new Array(v.length) : undefined;
    let i = 0;
    try {
      for (; i < v.length; i++) {
        const r = c(v[i], cx);
        if (out) out[i] = r;
      }
    } catch (e) {
      throw under(e, `[${i}]`);
    }
    return out ?? (v as T[]);
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Check mode: a value under a key the schema does not know is tolerated, but may not nest
 * deeper than MAX_UNKNOWN_DEPTH (iterative: hostile nesting cannot blow this stack either).
 */
function boundDepth(v: unknown): void {
  if (typeof v !== 'object' || v === null) return;
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (d > MAX_UNKNOWN_DEPTH) fail(`is nested more than ${MAX_UNKNOWN_DEPTH} levels deep`);
    if (Array.isArray(x)) {
      for (const y of x) if (typeof y === 'object' && y !== null) stack.push([y, d + 1]);
    } else {
      for (const k in x as Record<string, unknown>) {
        const y = (x as Record<string, unknown>)[k];
        if (typeof y === 'object' && y !== null) stack.push([y, d + 1]);
      }
    }
  }
}

const hasOwn = Object.prototype.hasOwnProperty;

export function obj<T>(spec: Spec<T>): Checker<T> {
  const keys = Object.keys(spec);
  const checks = keys.map((k) => (spec as Record<string, Checker<unknown>>)[k]);
  return (v, cx) => {
    if (!isPlainObject(v)) fail(v === undefined ? 'is missing' : `is not an object (${kindOf(v)})`);
    const out: Record<string, unknown> | undefined = cx.copy ? {} : undefined;
    let i = 0;
    try {
      for (; i < keys.length; i++) {
        // Spec keys are never Object.prototype names, so a plain read is an own-field read.
        const r = checks[i](v[keys[i]], cx);
        if (out && r !== undefined) out[keys[i]] = r;
      }
    } catch (e) {
      throw under(e, `.${keys[i]}`);
    }
    if (out) return out as T;
    for (const k in v) {
      if (hasOwn.call(spec, k)) continue;
      try {
        boundDepth(v[k]);
      } catch (e) {
        throw under(e, `.${k}`);
      }
    }
    return v as T;
  };
}

/** A union told apart by one string field, e.g. `mode` or `action`. */
export function variant<T extends Record<K, string>, K extends string>(key: K, specs: { [V in T[K]]: Checker<Extract<T, Record<K, V>>> }): Checker<T> {
  const table = specs as Record<string, Checker<T>>;
  const names = Object.keys(table);
  return (v, cx) => {
    if (!isPlainObject(v)) fail(v === undefined ? 'is missing' : `is not an object (${kindOf(v)})`);
    const tag = v[key];
    if (typeof tag !== 'string' || !hasOwn.call(table, tag)) throw new SchemaError(`.${key}`, `is not one of ${names.join(', ')}`);
    return table[tag](v, cx);
  };
}

/** An object used as a map: any keys, every value checked. */
export function record<T>(c: Checker<T>): Checker<Record<string, T>> {
  return (v, cx) => {
    if (!isPlainObject(v)) fail(v === undefined ? 'is missing' : `is not an object (${kindOf(v)})`);
    const out: Record<string, T> | undefined = cx.copy ? {} : undefined;
    for (const k of Object.keys(v)) {
      let r: T;
      try {
        r = c(v[k], cx);
      } catch (e) {
        throw under(e, `.${k}`);
      }
      // Own data property even for a key like "__proto__".
      if (out && r !== undefined) Object.defineProperty(out, k, { value: r, enumerable: true, writable: true, configurable: true });
    }
    return out ?? (v as Record<string, T>);
  };
}

/** Runs a checker at the top: the value or a SchemaError whose path starts with `root`. */
export function checkAt<T>(c: Checker<T>, v: unknown, root: string, cx: Ctx): T {
  try {
    return c(v, cx);
  } catch (e) {
    throw under(e, root);
  }
}
