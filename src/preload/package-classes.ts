/**
 * Library classes that are not EventEmitters (a gRPC Server, a node-cron task), or that take
 * EventEmitter's prototype without calling its constructor (bull's Queue), never pass through
 * EventEmitter.init, so owners.ts would not see them. When a module of a package
 * finishes loading, its exported classes that have a release method (close, shutdown, tryShutdown…) get
 * their prototype methods wrapped: the first call on an instance records it, with the user's
 * line that started it (`server.bindAsync(…)`). The class itself is untouched, so `instanceof`,
 * class identity and subclassing stay as they are.
 *
 * Modules that user code requires also get their factory functions wrapped (package-factories.ts).
 *
 * No frame is added to a module's loading stack: loads are seen through a Proxy on the module
 * cache (a store, not a call) and a one-shot `loaded` setter that Node calls after the module's
 * code has run. Only CommonJS packages (and CommonJS packages imported from ESM) are seen.
 */
import type { Owners, ClassInfo } from './owners';
import { packageOf, hasReleaseMethod } from './library-code';
import { createFactoryWrapping } from './package-factories';
import { showSourceOf } from './native-look';

const MAX_METHODS = 100;
// Taken at load, before user code could replace it.
const reflectApply = Reflect.apply;

export function installPackageClasses(owners: Owners, guard: (what: string, fn: () => void) => void): void {
  const Module = require('module') as { _cache?: Record<string, unknown> };
  const util = require('util') as typeof import('util');
  const cache = Module._cache;
  if (!cache || typeof cache !== 'object' || util.types.isProxy(cache)) return;
  const EEProto = (require('events') as { prototype: object }).prototype;
  const seenFiles = new Set<string>();
  const patched = new WeakSet<object>();

  const EventEmitter = require('events') as Function;
  /**
   * True when every constructor from C up to EventEmitter is a `class` (its `prototype` is not
   * writable): each must call super(), so EventEmitter.init sees every instance. An ES5
   * constructor on the way (util.inherits) may never call its parent.
   */
  const superCallsReachEventEmitter = (C: Function): boolean => {
    let F: Function | null = C;
    for (let i = 0; F && i < 16; i++) {
      if (F === EventEmitter) return true;
      const d = Object.getOwnPropertyDescriptor(F, 'prototype');
      if (!d || d.writable !== false) return false;
      F = Object.getPrototypeOf(F) as Function | null;
    }
    return false;
  };

  const hasOwn = Object.prototype.hasOwnProperty;
  const wrapFactories = createFactoryWrapping(owners);
  const lookupGetter = (Object.prototype as { __lookupGetter__(k: string): unknown }).__lookupGetter__;
  const EEEmit = (EEProto as { emit?: unknown }).emit;
  const wrapClass = (C: Function, pkg: string) => {
    // Cheap refusals first. Arrows, methods and bound functions have no `prototype`; a function
    // with a lower-case name is not a constructor by convention (reading its `prototype` would
    // allocate one: exports hold hundreds of plain functions). Minifiers' one- or two-letter
    // names say nothing, so those are looked at.
    if (!hasOwn.call(C, 'prototype')) return;
    const name = C.name;
    if (typeof name === 'string' && name.length > 2 && name.charCodeAt(0) >= 97 && name.charCodeAt(0) <= 122) return;
    const proto = (C as { prototype?: unknown }).prototype;
    if (!proto || typeof proto !== 'object' || patched.has(proto) || Object.isFrozen(proto)) return;
    patched.add(proto);
    // An EventEmitter class is recorded by EventEmitter.init when it is constructed, if its
    // constructor calls EventEmitter's. Some inherit its prototype or copy its methods in and
    // never call it (bull's Queue, node-schedule's Job, mqtt's client): those are recorded here,
    // at their first call, whether or not their release method is on the prototype (Job's
    // cancel() is set per instance). Which kind a class is shows at that first call; for the
    // first kind the original methods go back on the prototype, so its calls cost nothing after.
    const emitter = Object.prototype.isPrototypeOf.call(EEProto, proto) || (proto as { emit?: unknown }).emit === EEEmit;
    if (emitter ? superCallsReachEventEmitter(C) : !hasReleaseMethod(proto)) return;
    const cls: ClassInfo = { kind: 1, name: owners.classNameOf(C) || 'anonymous class', pkg, files: new Set(), seen: 0 };
    const wrapped: [string, Function, Function][] = [];
    let decided = !emitter;
    const decide = (self: object) => {
      decided = true;
      const own = Object.getPrototypeOf(self);
      if (!owners.constructedThroughInit(own)) return false;
      for (const [k, orig, w] of wrapped) if ((proto as Record<string, unknown>)[k] === w) (proto as Record<string, unknown>)[k] = orig;
      return true;
    };
    // Each method is replaced by a Proxy of itself: to every reader it is the method (its name,
    // length, prototype and own properties are the original's, and toString gives its source,
    // native-look.ts); only a call runs the trap. A function wrapper would need its name and
    // length redefined, which costs V8 5–10 µs a function, on the service's start-up path.
    const handler: ProxyHandler<Function> = {
      apply(target, self, args) {
        if (self !== null && typeof self === 'object') {
          try {
            if (decided || !decide(self)) owners.recordCall(self, handler.apply!, cls);
          } catch {}
        }
        return reflectApply(target, self, args);
      },
    };
    const keys = Object.getOwnPropertyNames(proto);
    let n = 0;
    for (const k of keys) {
      if (k === 'constructor' || ++n > MAX_METHODS) continue;
      const d = Object.getOwnPropertyDescriptor(proto, k);
      if (!d || typeof d.value !== 'function' || !d.configurable || !d.writable) continue;
      const orig = d.value as Function;
      const w = new Proxy(orig, handler);
      showSourceOf(w, orig);
      // A writable own data property: assignment keeps its attributes and costs less than a redefinition.
      (proto as Record<string, unknown>)[k] = w;
      if (emitter) wrapped.push([k, orig, w]);
    }
  };

  const scanExports = (pkg: string, exp: unknown) => {
    if (!exp || (typeof exp !== 'object' && typeof exp !== 'function')) return;
    if (typeof exp === 'function') wrapClass(exp, pkg);
    let n = 0;
    // Enumerable own keys only: exports are; a function's `arguments` and `caller` are not, and
    // reading those walks the stack. Getters are not read: a re-export's getter returns a class
    // of another module of the package, and that module is scanned itself; but a bundle (esbuild,
    // tsup) is one module whose every export is a getter `() => Cron`, which reads a binding and
    // runs nothing else. `for…in` and __lookupGetter__ allocate no key array and no descriptor
    // per key: this runs for every module a service loads, on its start-up path.
    for (const k in exp as object) {
      if (++n > 500) break;
      if (!hasOwn.call(exp, k)) continue;
      const get = lookupGetter.call(exp, k);
      let v: unknown;
      if (get === undefined) v = (exp as Record<string, unknown>)[k];
      else if (typeof get === 'function' && isBindingGetter(get)) v = reflectApply(get, exp, []);
      else continue;
      if (typeof v !== 'function' || v === exp) continue;
      owners.nameExport(v, k);
      wrapClass(v, pkg);
    }
  };

  type Mod = { loaded?: unknown; exports?: unknown };

  // esbuild's export getters: `() => Cron`, and `() => mod[key]` where a bundle re-exports.
  const BINDING_GETTER = /^\(\)\s*=>\s*[\w$]+(?:\[[\w$]+\])?$/;
  const fnToString = Function.prototype.toString;
  const isBindingGetter = (get: Function): boolean => {
    const src = fnToString.call(get);
    return src.length < 40 && BINDING_GETTER.test(src);
  };

  // Modules still loading, in load order: CommonJS loading is synchronous, so the last one that
  // has not finished is the one whose code is calling `require` now, the new module's parent.
  const loading: { mod: Mod; pkg: string | undefined }[] = [];
  // Inner modules of a package (required while another module of the same package loads):
  // scanned once they have finished, at the next module cached or when the module of that
  // package that another package (or the user) required finishes, whichever comes first.
  let inner: { mod: Mod; pkg: string }[] = [];
  const scanFinishedInner = () => {
    if (inner.length === 0) return;
    // Called for every module cached: nothing allocated until one has finished.
    let finished = false;
    for (const m of inner) {
      if (m.mod.loaded === true) {
        finished = true;
        break;
      }
    }
    if (!finished) return;
    const left: typeof inner = [];
    for (const m of inner) {
      if (m.mod.loaded === true) {
        const exp = m.mod.exports;
        guard('package classes', () => scanExports(m.pkg, exp));
      } else left.push(m);
    }
    inner = left;
  };

  // Modules required from outside their package (or at run time) get a `loaded` setter, which
  // Node calls after the module's code has run: their classes are wrapped before the requiring
  // code gets them. One getter and one setter for all of them (not a pair of closures each).
  const entries = new WeakMap<object, { pkg: string; enumerable: boolean | undefined; byUser: boolean }>();
  const loadedAccessor = {
    configurable: true,
    get: () => false,
    set(this: Mod, v: unknown) {
      const p = entries.get(this);
      Object.defineProperty(this, 'loaded', { value: v, writable: true, configurable: true, enumerable: p ? p.enumerable : true });
      if (p && v === true) {
        entries.delete(this);
        scanFinishedInner();
        const exp = this.exports;
        guard('package classes', () => scanExports(p.pkg, exp));
        if (p.byUser) guard('package factories', () => wrapFactories(p.pkg, this));
      }
    },
  };

  // Only the packages that the user's code requires are scanned: the objects a user constructs
  // come from those. What their dependencies make (tarn's pool under knex, ioredis under BullMQ)
  // is found under the user-made owner that reaches it (owner-attribution.ts), or through
  // EventEmitter.init. A dependency's modules are kept aside, and scanned when user code
  // requires that package itself, even as a module already cached.
  const userFacing = new Set<string>();
  const aside = new Map<string, Mod[]>();
  /** The module whose code is running now, if any: the requirer of what is being loaded. */
  const current = () => {
    while (loading.length && loading[loading.length - 1].mod.loaded === true) loading.pop();
    return loading[loading.length - 1];
  };
  const promote = (pkg: string) => {
    userFacing.add(pkg);
    const mods = aside.get(pkg);
    if (!mods) return;
    aside.delete(pkg);
    for (const mod of mods) {
      if (mod.loaded === true) {
        const exp = mod.exports;
        guard('package classes', () => scanExports(pkg, exp));
      } else inner.push({ mod, pkg });
    }
  };

  const watch = (filename: string, mod: Mod) => {
    const parent = current();
    scanFinishedInner();
    // A .json module holds data, never a class (mime-db's has 2,279 keys).
    const pkg = filename.endsWith('.json') ? undefined : packageOf(filename);
    loading.push({ mod, pkg });
    // Every module of a package: owners are often exported from an inner file (node-cron's tasks).
    if (!pkg || seenFiles.has(filename)) return;
    seenFiles.add(filename);
    if (!parent || !parent.pkg) promote(pkg);
    else if (!userFacing.has(pkg)) {
      const mods = aside.get(pkg);
      if (mods) mods.push(mod);
      else aside.set(pkg, [mod]);
      return;
    }
    if (parent && parent.pkg === pkg) {
      inner.push({ mod, pkg });
      return;
    }
    const d = Object.getOwnPropertyDescriptor(mod, 'loaded');
    if (!d || d.value !== false || !d.configurable) return;
    entries.set(mod, { pkg, enumerable: d.enumerable, byUser: !parent || !parent.pkg });
    Object.defineProperty(mod, 'loaded', { ...loadedAccessor, enumerable: d.enumerable });
  };

  Module._cache = new Proxy(cache, {
    // A cached module that user code requires: its package is the user's from now on.
    get(target, key) {
      const v = (target as Record<string | symbol, unknown>)[key];
      if (aside.size > 0 && v && typeof key === 'string') {
        try {
          const by = current();
          if (!by || !by.pkg) {
            const pkg = packageOf(key);
            if (pkg && aside.has(pkg)) promote(pkg);
          }
        } catch {}
      }
      return v;
    },
    set(target, key, value) {
      const ok = Reflect.set(target, key, value);
      if (typeof key === 'string' && value && typeof value === 'object') {
        try {
          watch(key, value as Mod);
        } catch {}
      }
      return ok;
    },
    // A module that threw while loading is taken out of the cache: it will never finish.
    deleteProperty(target, key) {
      const mod = (target as Record<string, unknown>)[key as string];
      try {
        const i = loading.findIndex((m) => m.mod === mod);
        if (i >= 0) loading.splice(i, 1);
        inner = inner.filter((m) => m.mod !== mod);
      } catch {}
      return Reflect.deleteProperty(target, key);
    },
  });
}
