/**
 * Factories: clients that no class makes. postgres.js's `postgres()` returns a function whose
 * connections live in closures; `Hapi.server()` and `createPool()` return objects made inside
 * the library. Neither EventEmitter.init nor a class's methods see the user's call, so the
 * functions a module that user code requires exports are wrapped: a result with a release
 * method is recorded as an owner made at that call, and named by it (`postgres()`). The owner
 * then holds the handles the walk reaches from it, or, failing that, the handles its package
 * makes when the user made no other object of that package (owner-attribution.ts).
 */
import type { Owners, ClassInfo } from './owners';
import { hasReleaseMethod } from './library-code';
import { showSourceOf } from './native-look';

// A module with more functions than this is a toolbox (lodash), not a client's API: its
// functions run on hot paths and none returns a client.
const MAX_FACTORIES = 40;
const reflectApply = Reflect.apply;

type Mod = { exports?: unknown };

/**
 * A function the user calls to get a client, not a class: no `prototype`, or one without
 * methods. A `class` (its `prototype` is not writable) or an ES5 constructor with methods is
 * left to package-classes.ts.
 */
function isFactory(F: Function): boolean {
  const d = Object.getOwnPropertyDescriptor(F, 'prototype');
  if (!d) return true;
  if (d.writable === false || !d.value || typeof d.value !== 'object') return false;
  const names = Object.getOwnPropertyNames(d.value);
  return names.length === 0 || (names.length === 1 && names[0] === 'constructor');
}

/** Returns the function that wraps the factories of a module user code required, once it has loaded. */
export function createFactoryWrapping(owners: Owners): (pkg: string, mod: Mod) => void {
  const util = require('util') as typeof import('util');
  const { isPromise, isProxy } = util.types;
  const hasOwn = Object.prototype.hasOwnProperty;
  const lookupGetter = (Object.prototype as { __lookupGetter__(k: string): unknown }).__lookupGetter__;
  const wrapped = new WeakMap<Function, Function>();

  /**
   * The factory as a Proxy of itself: its name, length, properties and source are the
   * original's, and a call returns what the original returns. Promises are not followed: a
   * reaction on one would change which rejections go unhandled. A Proxy result is not asked
   * for its methods: that would run its traps.
   */
  const wrap = (F: Function, pkg: string, label: string): Function => {
    const known = wrapped.get(F);
    if (known) return known;
    const cls: ClassInfo = { kind: 1, name: label, label, pkg, files: new Set(), seen: 0 };
    const handler: ProxyHandler<Function> = {
      apply(target, self, args) {
        const r: unknown = reflectApply(target, self, args);
        if (r !== null && (typeof r === 'object' || typeof r === 'function')) {
          try {
            if (!isPromise(r) && !isProxy(r) && hasReleaseMethod(r as object)) owners.recordMade(r as object, handler.apply!, cls);
          } catch {}
        }
        return r;
      },
    };
    const w = new Proxy(F, handler);
    showSourceOf(w, F);
    wrapped.set(F, w);
    return w;
  };

  /** The module's own export (replaced on the module, before `require` returns it) and its named functions with lower-case names. */
  return (pkg, mod) => {
    const exp = mod.exports;
    if (!exp || (typeof exp !== 'object' && typeof exp !== 'function') || isProxy(exp)) return;
    const named: string[] = [];
    const selves: string[] = [];
    let n = 0;
    // As package-classes.ts reads exports: enumerable own data properties, no getter run.
    for (const k in exp as object) {
      if (++n > 500) return;
      if (!hasOwn.call(exp, k) || lookupGetter.call(exp, k) !== undefined) continue;
      const c = k.charCodeAt(0);
      if (c < 97 || c > 122) continue;
      const v: unknown = (exp as Record<string, unknown>)[k];
      if (v === exp) selves.push(k);
      if (typeof v !== 'function' || v === exp) continue;
      named.push(k);
      if (named.length > MAX_FACTORIES) return;
    }
    for (const k of named) {
      const d = Object.getOwnPropertyDescriptor(exp, k);
      if (!d || !d.writable || !d.configurable || typeof d.value !== 'function' || !isFactory(d.value)) continue;
      (exp as Record<string, unknown>)[k] = wrap(d.value as Function, pkg, `${pkg}.${k}()`);
    }
    if (typeof exp !== 'function' || !isFactory(exp)) return;
    const main = wrap(exp, pkg, `${pkg}()`);
    // `module.exports = fastify; fastify.fastify = fastify`: each name the module exports it by.
    for (const k of selves) {
      const d = Object.getOwnPropertyDescriptor(exp, k);
      if (d && d.writable && d.configurable) (exp as unknown as Record<string, unknown>)[k] = main;
    }
    mod.exports = main;
  };
}
