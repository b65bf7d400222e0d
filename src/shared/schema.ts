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
 *
 * Every checker also describes itself as a JSON Schema (draft 2020-12) fragment, so the trace
 * file's published schema is generated from the same objects that validate it (trace-schema.ts)
 * and cannot drift from them. A hand-written checker must say its schema with `describe`, or
 * the generator throws.
 */

export class SchemaError extends Error {
  constructor(
    public path: string,
    public problem: string,
  ) {
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

/** A JSON Schema (draft 2020-12) object. */
export type JsonSchema = { [keyword: string]: unknown };
/** The schema of another checker; with a name, it goes to `$defs` and a `$ref` comes back. */
export type Emit = (c: Checker<unknown>, name?: string) => JsonSchema;
interface Description {
  schema: (emit: Emit) => JsonSchema;
  /** Set by `named`: emitted once under `$defs`. */
  name?: string;
  /** Set by `opt`: the field may be left out of its object. */
  optional?: boolean;
}
// A side table rather than a property on the function: checkers stay plain functions.
const descriptions = new WeakMap<Checker<unknown>, Description>();

function described<C extends Checker<unknown>>(c: C, d: Description): C {
  descriptions.set(c, d);
  return c;
}

/** States the JSON Schema of a hand-written checker (what it accepts, as far as JSON Schema can say it). */
export function describe<C extends Checker<unknown>>(c: C, schema: JsonSchema | ((emit: Emit) => JsonSchema)): C {
  return described(c, { schema: typeof schema === 'function' ? schema : () => schema });
}

/** The same checker, emitted once under `$defs/<name>` and referenced from every use. */
export function named<T>(name: string, c: Checker<T>): Checker<T> {
  const d = descriptions.get(c);
  if (!d) throw new Error(`named("${name}"): the checker has no JSON Schema`);
  return described<Checker<T>>((v, cx) => c(v, cx), { schema: d.schema, name });
}

/**
 * The JSON Schema of a checker: its own schema, with every named checker below it in `$defs`.
 * Throws for a checker that has no description (a hand-written one without `describe`).
 */
export function jsonSchemaOf(root: Checker<unknown>): { schema: JsonSchema; defs: Record<string, JsonSchema> } {
  const defs: Record<string, JsonSchema> = {};
  const owners = new Map<string, Checker<unknown>>();
  const emit: Emit = (c, as) => {
    const d = descriptions.get(c);
    if (!d) throw new Error('a checker has no JSON Schema: give it one with describe()');
    const name = as ?? d.name;
    if (name === undefined) return d.schema(emit);
    const owner = owners.get(name);
    if (owner !== undefined && owner !== c) throw new Error(`two checkers are named "${name}"`);
    if (owner === undefined) {
      owners.set(name, c);
      defs[name] = {}; // taken before recursing, so a checker that refers to itself ends
      defs[name] = d.schema(emit);
    }
    return { $ref: `#/$defs/${name}` };
  };
  const schema = emit(root);
  return { schema, defs };
}

/**
 * A schema that also accepts null. No `"type": [..., "null"]`: ajv's default strict mode warns
 * on union types, and a third party's validator should compile the schema silently.
 */
function orNull(s: JsonSchema): JsonSchema {
  if (Array.isArray(s.enum)) return s.enum.includes(null) ? s : { ...s, enum: [...s.enum, null] };
  if (Array.isArray(s.anyOf) && s.anyOf.some((x) => (x as JsonSchema).type === 'null')) return s;
  return { anyOf: [s, { type: 'null' }] };
}

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

export const str: Checker<string> = describe(
  (v, cx) => {
    if (typeof v !== 'string') fail(v === undefined ? 'is missing' : `is not a string (${kindOf(v)})`);
    return cx.copy && cx.scrub ? cx.scrub(v) : v;
  },
  { type: 'string' },
);

// JSON cannot hold NaN or Infinity, so "number" is exact.
export const num: Checker<number> = describe(
  (v) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(v === undefined ? 'is missing' : `is not a number (${kindOf(v)})`);
    return v;
  },
  { type: 'number' },
);

export const int: Checker<number> = describe(
  (v) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(v === undefined ? 'is missing' : typeof v === 'number' ? 'is not a whole number' : `is not a number (${kindOf(v)})`);
    return v;
  },
  { type: 'integer' },
);

/** A whole number ≥ 0 (counts, pids, sequence numbers). */
export const count: Checker<number> = describe(
  (v, cx) => {
    const n = int(v, cx);
    if (n < 0) fail('is negative');
    return n;
  },
  { type: 'integer', minimum: 0 },
);

export const bool: Checker<boolean> = describe(
  (v) => {
    if (typeof v !== 'boolean') fail(v === undefined ? 'is missing' : `is not true or false (${kindOf(v)})`);
    return v;
  },
  { type: 'boolean' },
);

/** A field that may be absent. JSON has no `undefined`, so `null` counts as absent too. */
export function opt<T>(c: Checker<T>): Checker<T | undefined> {
  return described<Checker<T | undefined>>((v, cx) => (v === undefined || v === null ? undefined : c(v, cx)), { schema: (emit) => orNull(emit(c)), optional: true });
}

export function nullable<T>(c: Checker<T>): Checker<T | null> {
  return described<Checker<T | null>>((v, cx) => (v === null ? null : c(v, cx)), { schema: (emit) => orNull(emit(c)) });
}

export function oneOf<T extends string>(...values: readonly T[]): Checker<T> {
  const set = new Set<string>(values);
  return describe<Checker<T>>(
    (v) => {
      if (typeof v !== 'string' || !set.has(v)) fail(v === undefined ? 'is missing' : `is not one of ${values.join(', ')}`);
      return v as T;
    },
    { enum: [...values] },
  );
}

/** Exactly this string (a union's tag) or number (a format version). */
export function lit<T extends string | number>(value: T): Checker<T> {
  return describe<Checker<T>>(
    (v) => {
      if (v !== value) fail(`is not ${JSON.stringify(value)}`);
      return value;
    },
    { const: value },
  );
}

/** The first checker that accepts the value; the error of the last one otherwise. */
export function either<A, B>(a: Checker<A>, b: Checker<B>): Checker<A | B> {
  return described<Checker<A | B>>(
    (v, cx) => {
      try {
        return a(v, cx);
      } catch {
        return b(v, cx);
      }
    },
    { schema: (emit) => ({ anyOf: [emit(a), emit(b)] }) },
  );
}

export function list<T>(c: Checker<T>): Checker<T[]> {
  return described<Checker<T[]>>(
    (v, cx) => {
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
    },
    { schema: (emit) => ({ type: 'array', items: emit(c) }) },
  );
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
  return described<Checker<T>>(
    (v, cx) => {
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
    },
    {
      // Fields it does not know are allowed (additionalProperties is left open): the compatibility policy.
      schema: (emit) => {
        const properties: Record<string, JsonSchema> = {};
        for (let j = 0; j < keys.length; j++) properties[keys[j]] = emit(checks[j]);
        const required = keys.filter((_, j) => !descriptions.get(checks[j])?.optional);
        return required.length ? { type: 'object', properties, required } : { type: 'object', properties };
      },
    },
  );
}

/** A union told apart by one string field, e.g. `mode` or `action`. */
export function variant<T extends Record<K, string>, K extends string>(key: K, specs: { [V in T[K]]: Checker<Extract<T, Record<K, V>>> }): Checker<T> {
  const table = specs as Record<string, Checker<T>>;
  const names = Object.keys(table);
  return described<Checker<T>>(
    (v, cx) => {
      if (!isPlainObject(v)) fail(v === undefined ? 'is missing' : `is not an object (${kindOf(v)})`);
      const tag = v[key];
      if (typeof tag !== 'string' || !hasOwn.call(table, tag)) throw new SchemaError(`.${key}`, `is not one of ${names.join(', ')}`);
      return table[tag](v, cx);
    },
    { schema: (emit) => ({ type: 'object', properties: { [key]: { enum: names } }, required: [key], allOf: names.map((n) => whenTag(key, n, emit(table[n]))) }) },
  );
}

/** `if key is value, then this schema`: a tagged union's branch, which ajv reports by its own errors. */
export function whenTag(key: string, value: string, then: JsonSchema): JsonSchema {
  return { if: { properties: { [key]: { const: value } }, required: [key] }, then };
}

/** An object used as a map: any keys, every value checked. */
export function record<T>(c: Checker<T>): Checker<Record<string, T>> {
  return described<Checker<Record<string, T>>>(
    (v, cx) => {
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
    },
    { schema: (emit) => ({ type: 'object', additionalProperties: emit(c) }) },
  );
}

/** Runs a checker at the top: the value or a SchemaError whose path starts with `root`. */
export function checkAt<T>(c: Checker<T>, v: unknown, root: string, cx: Ctx): T {
  try {
    return c(v, cx);
  } catch (e) {
    throw under(e, root);
  }
}
