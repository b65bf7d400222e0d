/**
 * Attribution, at snapshot time only, for the handles with no user frame (owners.ts records the
 * owners):
 *  - reachable: a bounded walk over own data properties, arrays, Maps and Sets from each live
 *    owner finds the handle objects (no getters, no proxy traps, no user code runs);
 *  - nesting: an owner constructed inside another owner's constructor (BullMQ's Worker builds
 *    its ioredis clients) belongs to it;
 *  - method-frame: a handle whose stack runs through a method of an owner's class, when one
 *    live owner of that class exists (timers armed from closures: BullMQ's stalled checker).
 * The owner shown is the outermost one created by the same user call.
 */
import type { HandleOwner } from '../shared/wire';
import type { Site } from '../shared/frames';
import { resolveSite } from './site';
import { packageOf, RELEASE_METHODS } from './library-code';
import type { OwnerRecord } from './owners';

// A snapshot at process.exit() runs before the process ends: the walk is bounded to tens of ms.
const WALK_NODES_PER_OWNER = 3000;
const WALK_NODES_TOTAL = 30_000;
const WALK_DEPTH = 8;

const NEW_FRAME = /^new (.+)$/;

/**
 * Finds owners for handle objects among the recorded owners. `targets` maps each handle object
 * to the handle's own stack (resolved). Returns an owner per handle it could tie.
 */
export function attributeOwners(records: readonly OwnerRecord[], targets: Map<object, Site | undefined>, selfFile: string): Map<object, HandleOwner> {
  const out = new Map<object, HandleOwner>();
  const live: { rec: OwnerRecord; obj: object }[] = [];
  for (const rec of records) {
    const obj = rec.ref.deref();
    if (obj) live.push({ rec, obj });
  }
  if (live.length === 0) return out;
  const util = require('util') as typeof import('util');
  const isProxy = util.types.isProxy;
  const ModuleClass = require('module') as unknown as Function;
  const mapEntries = Map.prototype.entries;
  const setValues = Set.prototype.values;
  const recOf = new Map<object, OwnerRecord>();
  for (const l of live) recOf.set(l.obj, l.rec);

  // ---- reachability: owner → handles, owner → owners
  const reach = new Map<object, { rec: OwnerRecord; path: string; depth: number }>();
  /** For each owner, the owners whose walk reached it (each once, at its least depth). */
  const reachedBy = new Map<OwnerRecord, Map<OwnerRecord, number>>();
  let budget = WALK_NODES_TOTAL;
  for (const { rec, obj } of live) {
    if (budget <= 0) break;
    const seen = new Set<object>([obj]);
    let frontier: { o: object; path: string }[] = [{ o: obj, path: '' }];
    let nodes = 0;
    for (let depth = 1; depth <= WALK_DEPTH && frontier.length && nodes < WALK_NODES_PER_OWNER && budget > 0; depth++) {
      const next: typeof frontier = [];
      const visit = (v: unknown, path: string) => {
        if (!v || (typeof v !== 'object' && typeof v !== 'function') || seen.has(v as object)) return;
        seen.add(v as object);
        nodes++;
        budget--;
        if (typeof v === 'function') return;
        if (targets.has(v as object)) {
          const cur = reach.get(v as object);
          if (!cur || depth < cur.depth) reach.set(v as object, { rec, path, depth });
          return;
        }
        const other = recOf.get(v as object);
        if (other) {
          // An owner reached from an older one was made after it, for it. One recorded at its
          // first call may be older than what it made (bull's Queue and its ioredis clients).
          if (other.seq > rec.seq || rec.byCall) {
            let by = reachedBy.get(other);
            if (!by) reachedBy.set(other, (by = new Map()));
            if (!by.has(rec)) by.set(rec, depth);
          }
          return;
        }
        // Never into proxies (their traps are code), the global scope, module records, or binary data.
        if (isProxy(v) || v === globalThis || v === process || v instanceof ModuleClass || ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return;
        next.push({ o: v as object, path });
      };
      for (const { o, path } of frontier) {
        if (nodes >= WALK_NODES_PER_OWNER || budget <= 0) break;
        try {
          // An object made with Object.create(owner) holds it as its prototype (node-redis's
          // createClient() returns one over the RedisClient): only a recorded one is followed.
          const proto = Object.getPrototypeOf(o) as object | null;
          if (proto && recOf.has(proto)) visit(proto, `${path}.<prototype>`);
          if (Array.isArray(o)) {
            const n = Math.min(o.length, 1000);
            for (let i = 0; i < n; i++) {
              const d = Object.getOwnPropertyDescriptor(o, i);
              if (d && 'value' in d) visit(d.value, `${path}[${i}]`);
            }
            continue;
          }
          // The intrinsic iterators: a subclass's overrides never run. At most 1,000 entries.
          if (o instanceof Map) {
            const it = mapEntries.call(o) as IterableIterator<[unknown, unknown]>;
            for (let i = 0; i < 1000; i++) {
              const n = it.next();
              if (n.done) break;
              visit(n.value[0], `${path}.<key>`);
              visit(n.value[1], `${path}.get()`);
            }
          } else if (o instanceof Set) {
            const it = setValues.call(o) as IterableIterator<unknown>;
            for (let i = 0; i < 1000; i++) {
              const n = it.next();
              if (n.done) break;
              visit(n.value, `${path}.<entry>`);
            }
          }
          const keys = Reflect.ownKeys(o);
          if (keys.length > 2000) continue;
          for (const k of keys) {
            const d = Object.getOwnPropertyDescriptor(o, k);
            if (!d || !('value' in d)) continue;
            visit(d.value, path ? `${path}.${String(k)}` : String(k));
          }
        } catch {}
      }
      frontier = next;
    }
  }

  // ---- parents: reached from an older owner, else constructed inside one
  const sites = new Map<OwnerRecord, Site | undefined>();
  const siteOf = (r: OwnerRecord) => {
    if (!sites.has(r)) sites.set(r, resolveSite(r.site, selfFile));
    return sites.get(r);
  };
  const userKey = (r: OwnerRecord) => {
    const s = siteOf(r);
    const f = s && s.user >= 0 ? s.frames[s.user] : undefined;
    return f && !packageOf(f.file) && !f.file.startsWith('node:') ? `${f.file}:${f.line}:${f.col}` : undefined;
  };
  const parent = new Map<OwnerRecord, OwnerRecord>();
  for (const { rec } of live) {
    // Of the owners that reach this one, the parent: one the user made or called directly first
    // (nats' connection, not the heartbeat that points back at its protocol handler), then the
    // nearest, then the older. Two that reach each other (typeorm's DataSource and its driver):
    // the one the user made is the parent; else the older.
    let best: { rec: OwnerRecord; user: boolean; depth: number } | undefined;
    for (const [other, depth] of reachedBy.get(rec) ?? []) {
      const user = madeByUser(other, siteOf);
      if (reachedBy.get(other)?.has(rec)) {
        const mine = madeByUser(rec, siteOf);
        if (mine !== user ? !user : other.seq > rec.seq) continue;
      }
      if (!best || (user !== best.user ? user : depth !== best.depth ? depth < best.depth : other.seq < best.rec.seq)) best = { rec: other, user, depth };
    }
    if (best) {
      parent.set(rec, best.rec);
      continue;
    }
    const nest = constructedInside(rec, live, siteOf);
    if (nest) {
      parent.set(rec, nest);
      continue;
    }
    // Made in a method of another owner's class (engine.io's Server handling an upgrade).
    const site = siteOf(rec);
    if (!site) continue;
    const k = ctorIndex(site);
    for (let i = k + 1; i < site.frames.length; i++) {
      const f = site.frames[i];
      const pkg = packageOf(f.file);
      if (!pkg) {
        if (f.file.startsWith('node:')) continue;
        break;
      }
      const type = /^(?:async )?([\w$]+)\./.exec(f.fn || '')?.[1];
      if (!type) continue;
      const matches = live.filter((l) => l.rec !== rec && l.rec.seq < rec.seq && l.rec.cls.name === type && l.rec.cls.pkg === pkg);
      if (matches.length === 1) parent.set(rec, matches[0].rec);
      if (matches.length) break;
    }
  }
  /** Made by library code (the constructor's caller is in node_modules): a library's internals, not the user's own object. */
  const libraryMade = (r: OwnerRecord) => {
    const site = siteOf(r);
    if (!site) return false;
    const k = ctorIndex(site);
    const caller = site.frames[k + 1];
    return !!caller && (!!packageOf(caller.file) || caller.file.startsWith('node:'));
  };
  /**
   * The owner to show: climbs from the owner found to its parent while the child is the
   * parent's internals (made by library code) or was made by the same user call, so BullMQ's
   * ioredis clients group under the Worker and tarn's pool under knex, but an ioredis client
   * that a user's class made is not folded into the framework that holds that class.
   */
  const root = (rec: OwnerRecord): OwnerRecord => {
    let cur = rec;
    for (let i = 0; i < 16; i++) {
      const p = parent.get(cur);
      if (!p) break;
      const key = userKey(cur);
      if (libraryMade(cur) || (key !== undefined && userKey(p) === key)) {
        cur = p;
        continue;
      }
      break;
    }
    return cur;
  };

  /**
   * Where the user made an owner. One recorded at its first call (`nc.subscribe()`) was made
   * earlier, by the call that made what folds into it before that first call (nats' connect(),
   * which built the protocol handler the connection holds): the earliest such user line.
   */
  const madeAt = (rec: OwnerRecord): Site | undefined => {
    if (!rec.byCall) return siteOf(rec);
    let first: OwnerRecord | undefined;
    for (const { rec: m } of live) if (m.seq < rec.seq && (!first || m.seq < first.seq) && userKey(m) !== undefined && root(m) === rec) first = m;
    return siteOf(first ?? rec);
  };
  const owners = new Map<OwnerRecord, HandleOwner>();
  const ownerInfo = (rec: OwnerRecord, via: HandleOwner['via'], path?: string): HandleOwner => {
    let base = owners.get(rec);
    if (!base) {
      const obj = rec.ref.deref();
      base = { id: `own${rec.seq}`, name: rec.cls.label ?? `${rec.cls.pkg} ${rec.cls.name}`, package: rec.cls.pkg, site: madeAt(rec), via, release: obj ? releaseMethods(obj) : undefined };
      owners.set(rec, base);
    }
    return { ...base, via, path };
  };

  const unowned: [object, Site][] = [];
  const active = new Set<OwnerRecord>();
  for (const [h, ownSite] of targets) {
    const r = reach.get(h);
    if (r) {
      const top = root(r.rec);
      active.add(top);
      out.set(h, ownerInfo(top, 'reachable', top === r.rec ? r.path : undefined));
      continue;
    }
    // method-frame: the handle's stack runs through the owner class's own code.
    if (!ownSite) continue;
    let found: OwnerRecord | undefined;
    let ambiguous = false;
    for (const f of ownSite.frames) {
      const pkg = packageOf(f.file);
      if (!pkg) continue;
      // "Server.bindPort" / "async Worker.run": the receiver's class, in this package.
      const type = methodClass(f.fn);
      for (const { rec } of live) {
        if (!rec.cls.files.has(f.file) && !(type && type === rec.cls.name && pkg === rec.cls.pkg)) continue;
        const top = root(rec);
        if (found && found !== top) ambiguous = true;
        found = top;
      }
      if (found) break;
    }
    if (found && !ambiguous) {
      active.add(found);
      out.set(h, ownerInfo(found, 'method-frame'));
    } else unowned.push([h, ownSite]);
  }
  // package: made by a package of which exactly one object holds leaked handles (BullMQ's
  // job watchdog, armed from a promise chain inside the Worker's backend); else of which the
  // user made exactly one live object (postgres.js keeps its connections in closures that no
  // walk can enter: the client that `postgres()` returned is the only one that can hold them).
  let madeRoots: OwnerRecord[] | undefined;
  for (const [h, ownSite] of unowned) {
    for (const f of ownSite.frames) {
      const pkg = packageOf(f.file);
      if (!pkg) continue;
      let candidates = [...active].filter((r) => r.cls.pkg === pkg);
      if (candidates.length === 0) {
        madeRoots ??= live.map((l) => l.rec).filter((r) => root(r) === r && madeByUser(r, siteOf));
        candidates = madeRoots.filter((r) => r.cls.pkg === pkg);
      }
      if (candidates.length === 1) {
        active.add(candidates[0]);
        out.set(h, ownerInfo(candidates[0], 'package'));
      }
      if (candidates.length) break;
    }
  }
  return out;
}

/** The latest older live owner whose constructor call is on this owner's construction stack. */
function constructedInside(rec: OwnerRecord, live: { rec: OwnerRecord; obj: object }[], siteOf: (r: OwnerRecord) => Site | undefined): OwnerRecord | undefined {
  const s = siteOf(rec);
  if (!s) return undefined;
  let best: OwnerRecord | undefined;
  for (const { rec: other } of live) {
    if (other.seq >= rec.seq) continue;
    const os = siteOf(other);
    if (!os) continue;
    // The other's outermost constructor frame and its caller, found on this stack: the caller at
    // the same position, the constructor the same function (at whichever of its lines made this one).
    const k = ctorIndex(os);
    if (k < 0 || k + 1 >= os.frames.length) continue;
    const a = os.frames[k];
    const b = os.frames[k + 1];
    for (let i = 0; i + 1 < s.frames.length; i++) {
      const x = s.frames[i];
      const y = s.frames[i + 1];
      if (x.file === a.file && x.fn === a.fn && y.file === b.file && y.line === b.line && y.col === b.col) {
        if (!best || other.seq > best.seq) best = other;
        break;
      }
    }
  }
  return best;
}

/** The user's code made it or called it with no other library code between: only its own class's frames above the user's. */
function madeByUser(rec: OwnerRecord, siteOf: (r: OwnerRecord) => Site | undefined): boolean {
  const s = siteOf(rec);
  if (!s || s.user < 0 || packageOf(s.frames[s.user].file)) return false;
  const name = rec.cls.name;
  for (let i = 0; i < s.user; i++) {
    const f = s.frames[i];
    if (f.file.startsWith('node:')) continue;
    if (f.fn !== `new ${name}` && methodClass(f.fn) !== name) return false;
  }
  return true;
}

/** The receiver's class of a method frame: "Server.bindPort", "async Worker.run", "new Foo.bar". */
function methodClass(fn: string | undefined): string | undefined {
  return /^(?:async )?(?:new )?([\w$]+)\./.exec(fn || '')?.[1];
}

/** Index of the outermost consecutive `new X` frame at the top of a construction stack. */
function ctorIndex(s: Site): number {
  let k = -1;
  for (let i = 0; i < s.frames.length; i++) {
    const fn = s.frames[i].fn || '';
    if (NEW_FRAME.test(fn)) k = i;
    else if (!s.frames[i].file.startsWith('node:')) break;
  }
  return k;
}

/** Methods that release an owner, found on its prototype chain as plain functions (no getter runs). */
function releaseMethods(obj: object): string[] | undefined {
  const found: string[] = [];
  try {
    const EE = (require('events') as { prototype: object }).prototype;
    for (const name of RELEASE_METHODS) {
      let p: object | null = obj;
      for (let depth = 0; p && p !== Object.prototype && p !== EE && depth < 10; depth++, p = Object.getPrototypeOf(p)) {
        const d = Object.getOwnPropertyDescriptor(p, name);
        if (d) {
          if (typeof d.value === 'function') found.push(name);
          break;
        }
      }
      if (found.length >= 3) break;
    }
  } catch {}
  // cancel() releases a job (node-schedule's Job); beside a stop() or close() it cancels something else.
  const cancel = found.indexOf('cancel');
  if (cancel >= 0 && found.length > 1) found.splice(cancel, 1);
  return found.length ? found : undefined;
}
