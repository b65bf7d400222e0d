/**
 * Owners: ties a handle that a library created out of the user's call (in a later tick, so its
 * own stack holds no user frame) to the library object that owns it, and that object to the
 * user's line that created it.
 *
 * Recording: every library object that is an EventEmitter passes through EventEmitter.init
 * when constructed (class `super()` and ES5 `EventEmitter.call(this)` alike). Hooking that one
 * function sees ioredis, BullMQ, pg, knex, node-redis, socket.io, ws, node-cron … without
 * wrapping any class, so `instanceof`, class identity, subclassing and ESM bindings are as
 * untraced. The class is classified once, from one stack: node core and user classes are
 * ignored for good; a class defined under node_modules gets its instances' construction
 * stacks recorded (structured only, formatted at snapshot time), within a budget per class.
 *
 * Attribution, at snapshot time only, for the handles with no user frame:
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
import { captureSite, resolveSite, DEEP_FRAMES, type SiteHolder } from './site';
import { disguise } from './native-look';

export interface ClassInfo {
  /** 0: not recorded (core, user or the tool's own class); 1: a library class. */
  kind: 0 | 1;
  name: string;
  pkg: string;
  /** Files of the constructors in the class chain that live in node_modules. */
  files: Set<string>;
  /** Instances seen, for the recording budget. */
  seen: number;
}

interface OwnerRecord {
  seq: number;
  ref: WeakRef<object>;
  site: SiteHolder;
  cls: ClassInfo;
}

/** Instances of one class always recorded; after that one in SAMPLE (per-request objects). */
const ALWAYS = 32;
const SAMPLE = 256;
const MAX_RECORDS = 4096;
// A snapshot at process.exit() runs before the process ends: the walk is bounded to tens of ms.
const WALK_NODES_PER_OWNER = 3000;
const WALK_NODES_TOTAL = 30_000;
const WALK_DEPTH = 8;
export const RELEASE_METHODS = ['quit', 'close', 'destroy', 'end', 'disconnect', 'stop', 'tryShutdown', 'shutdown', 'terminate'];

const NEW_FRAME = /^new (.+)$/;
const GENERIC_NAME = /^(Class|_class|_a|anonymous|default|Object|<anonymous>)$/;

export function packageOf(file: string): string | undefined {
  const i = file.lastIndexOf('/node_modules/');
  if (i === -1) return undefined;
  const rest = file.slice(i + 14).split('/');
  return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
}

export interface Attribution {
  owner: HandleOwner;
}

export class Owners {
  private classes = new WeakMap<object, ClassInfo>();
  private records: OwnerRecord[] = [];
  private byObject = new WeakMap<object, OwnerRecord>();
  private seq = 0;
  private WeakRefCtor: typeof WeakRef | undefined = (globalThis as { WeakRef?: typeof WeakRef }).WeakRef;

  private readonly plainProto = (require('events') as { prototype: object }).prototype;

  constructor(private readonly selfFile: string) {}

  /** Hooks EventEmitter.init. Returns false when the runtime has no WeakRef (Node < 14.6). */
  install(): boolean {
    if (!this.WeakRefCtor) return false;
    const events = require('events') as { init: Function };
    const origInit = events.init;
    const self = this;
    const init = function init(this: object) {
      // eslint-disable-next-line prefer-rest-params
      const r = origInit.apply(this, arguments);
      try {
        self.onConstruct(this, init);
      } catch {}
      return r;
    };
    Object.defineProperties(init, Object.getOwnPropertyDescriptors(origInit));
    events.init = disguise(init, origInit);
    return true;
  }

  private onConstruct(obj: object, skip: Function): void {
    if (!obj || typeof obj !== 'object') return;
    const proto = Object.getPrototypeOf(obj);
    // A plain `new EventEmitter()` has no class of its own: it is a part of whatever made it,
    // and one prototype would otherwise classify every plain emitter by the first one seen.
    if (!proto || proto === this.plainProto) return;
    let cls = this.classes.get(proto);
    if (cls === undefined) {
      cls = this.classify(skip);
      this.classes.set(proto, cls);
      if (cls.kind === 1) {
        cls.seen++;
        this.add(obj, captureSite(skip, DEEP_FRAMES), cls);
      }
      return;
    }
    if (cls.kind === 0) return;
    const n = ++cls.seen;
    if (n > ALWAYS && n % SAMPLE !== 0) return;
    this.add(obj, captureSite(skip, DEEP_FRAMES), cls);
  }

  /** From the first instance's stack: the run of constructor frames at its top names the class chain. */
  /**
   * From the first instance's stack: the run of constructor frames at its top names the class
   * chain. Read from V8's structured call sites (no text is formatted), with the tool's own
   * prepareStackTrace set just for this capture, so no user code runs.
   */
  private classify(skip: Function): ClassInfo {
    const none: ClassInfo = { kind: 0, name: '', pkg: '', files: new Set(), seen: 0 };
    const frames = callFrames(skip);
    if (!frames) return none;
    let name = '';
    let pkg = '';
    const files = new Set<string>();
    for (const f of frames) {
      if (!f.isNew) {
        // ES5 constructors of node core (EventEmitter, Stream, Readable…) are called, not new'd.
        if (f.file.startsWith('node:')) continue;
        break;
      }
      if (f.file === this.selfFile) return none;
      if (f.file.startsWith('node:')) continue;
      const p = packageOf(f.file);
      if (!p) {
        // The most derived class is the user's own: its own handles carry user frames.
        if (!name) return none;
        break;
      }
      files.add(f.file);
      // Mixins and factories make classes named "Class" or "_class": the nearest real name is the base's.
      if (!name || !GENERIC_NAME.test(f.fn)) name = f.fn;
      pkg = p;
    }
    if (!name) return none;
    return { kind: 1, name, pkg, files, seen: 0 };
  }

  private add(obj: object, site: SiteHolder, cls: ClassInfo): void {
    const rec: OwnerRecord = { seq: ++this.seq, ref: new this.WeakRefCtor!(obj), site, cls };
    this.byObject.set(obj, rec);
    this.records.push(rec);
    if (this.records.length > MAX_RECORDS) this.prune();
  }

  private prune(): void {
    this.records = this.records.filter((r) => r.ref.deref() !== undefined);
    // Still full of live objects: drop the newest half of the sampled ones, keep the oldest.
    if (this.records.length > MAX_RECORDS) this.records.splice(MAX_RECORDS / 2, this.records.length - MAX_RECORDS);
  }

  private skipped = new WeakSet<object>();

  /**
   * A method of a non-EventEmitter library class was called on `obj` (see package-classes.ts):
   * the first call records the instance, with the stack of that call (`server.bindAsync(…)`).
   */
  recordCall(obj: object, skip: Function, cls: ClassInfo): void {
    if (this.byObject.has(obj) || this.skipped.has(obj)) return;
    const n = ++cls.seen;
    if (n > ALWAYS && n % SAMPLE !== 0) {
      this.skipped.add(obj);
      return;
    }
    this.add(obj, captureSite(skip, DEEP_FRAMES), cls);
  }

  get size(): number {
    return this.records.length;
  }

  /**
   * Finds owners for handle objects. `targets` maps each handle object to the handle's own
   * stack (resolved). Returns an owner per handle it could tie.
   */
  attribute(targets: Map<object, Site | undefined>): Map<object, HandleOwner> {
    const out = new Map<object, HandleOwner>();
    if (targets.size === 0 || this.records.length === 0) return out;
    this.prune();
    const live: { rec: OwnerRecord; obj: object }[] = [];
    for (const rec of this.records) {
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
    const reachesOwner = new Map<OwnerRecord, { rec: OwnerRecord; depth: number }>();
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
            const cur = reachesOwner.get(other);
            if (other.seq > rec.seq && (!cur || depth < cur.depth)) reachesOwner.set(other, { rec, depth });
            return;
          }
          // Never into proxies (their traps are code), the global scope, module records, or binary data.
          if (isProxy(v) || v === globalThis || v === process || v instanceof ModuleClass || ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return;
          next.push({ o: v as object, path });
        };
        for (const { o, path } of frontier) {
          if (nodes >= WALK_NODES_PER_OWNER || budget <= 0) break;
          try {
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
      if (!sites.has(r)) sites.set(r, resolveSite(r.site, this.selfFile));
      return sites.get(r);
    };
    const userKey = (r: OwnerRecord) => {
      const s = siteOf(r);
      const f = s && s.user >= 0 ? s.frames[s.user] : undefined;
      return f && !packageOf(f.file) && !f.file.startsWith('node:') ? `${f.file}:${f.line}:${f.col}` : undefined;
    };
    const parent = new Map<OwnerRecord, OwnerRecord>();
    for (const { rec } of live) {
      const r = reachesOwner.get(rec);
      if (r) {
        parent.set(rec, r.rec);
        continue;
      }
      const nest = this.constructedInside(rec, live, siteOf);
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

    const owners = new Map<OwnerRecord, HandleOwner>();
    const ownerInfo = (rec: OwnerRecord, via: HandleOwner['via'], path?: string): HandleOwner => {
      let base = owners.get(rec);
      if (!base) {
        const obj = rec.ref.deref();
        base = { id: `own${rec.seq}`, name: `${rec.cls.pkg} ${rec.cls.name}`, package: rec.cls.pkg, site: siteOf(rec), via, release: obj ? releaseMethods(obj) : undefined };
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
        const type = /^(?:async )?(?:new )?([\w$]+)\./.exec(f.fn || '')?.[1];
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
    // job watchdog, armed from a promise chain inside the Worker's backend).
    for (const [h, ownSite] of unowned) {
      for (const f of ownSite.frames) {
        const pkg = packageOf(f.file);
        if (!pkg) continue;
        const candidates = [...active].filter((r) => r.cls.pkg === pkg);
        if (candidates.length === 1) out.set(h, ownerInfo(candidates[0], 'package'));
        if (candidates.length) break;
      }
    }
    return out;
  }

  /** The latest older live owner whose constructor call is on this owner's construction stack. */
  private constructedInside(rec: OwnerRecord, live: { rec: OwnerRecord; obj: object }[], siteOf: (r: OwnerRecord) => Site | undefined): OwnerRecord | undefined {
    const s = siteOf(rec);
    if (!s) return undefined;
    let best: OwnerRecord | undefined;
    for (const { rec: other } of live) {
      if (other.seq >= rec.seq) continue;
      const os = siteOf(other);
      if (!os) continue;
      // The other's most derived constructor frame and its caller, found on this stack.
      const k = ctorIndex(os);
      if (k < 0 || k + 1 >= os.frames.length) continue;
      const a = os.frames[k];
      const b = os.frames[k + 1];
      for (let i = 0; i + 1 < s.frames.length; i++) {
        const x = s.frames[i];
        const y = s.frames[i + 1];
        if (x.file === a.file && x.line === a.line && x.col === a.col && y.file === b.file && y.line === b.line && y.col === b.col) {
          if (!best || other.seq > best.seq) best = other;
          break;
        }
      }
    }
    return best;
  }
}

interface CallFrame {
  fn: string;
  file: string;
  isNew: boolean;
}

/** The current stack above `skip` as V8's call sites: names, files, and which frames are `new`. */
function callFrames(skip: Function): CallFrame[] | undefined {
  const E = Error as { prepareStackTrace?: unknown; stackTraceLimit: number };
  const prev = E.prepareStackTrace;
  const limit = E.stackTraceLimit;
  try {
    E.prepareStackTrace = (_e: unknown, sites: NodeJS.CallSite[]) => sites;
    E.stackTraceLimit = DEEP_FRAMES;
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, skip);
    const sites = holder.stack as NodeJS.CallSite[] | undefined;
    if (!Array.isArray(sites)) return undefined;
    return sites.map((c) => {
      let file = c.getFileName() || '';
      if (file.startsWith('file://')) {
        try {
          file = decodeURIComponent(new URL(file).pathname);
        } catch {}
      }
      return { fn: c.getFunctionName() || '', file, isNew: c.isConstructor() };
    });
  } catch {
    return undefined;
  } finally {
    E.prepareStackTrace = prev;
    E.stackTraceLimit = limit;
  }
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
  return found.length ? found : undefined;
}
