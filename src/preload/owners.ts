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
 * Which owner a handle belongs to is worked out at snapshot time (owner-attribution.ts).
 */
import type { HandleOwner } from '../shared/wire';
import type { Site } from '../shared/frames';
import { captureSite, DEEP_FRAMES, type SiteHolder } from './site';
import { disguise } from './native-look';
import { packageOf } from './library-code';
import { attributeOwners } from './owner-attribution';

export interface ClassInfo {
  /** 0: not recorded (core, user or the tool's own class); 1: a library class; 2: a net.Server (its construction site is kept). */
  kind: 0 | 1 | 2;
  name: string;
  pkg: string;
  /** Files of the constructors in the class chain that live in node_modules. */
  files: Set<string>;
  /** Instances seen, for the recording budget. */
  seen: number;
  /** The owner's whole name, for what a package's factory returned: the call that made it (`postgres()`). */
  label?: string;
}

export interface OwnerRecord {
  seq: number;
  /** Recorded at its first method call (package-classes.ts), not when constructed: its seq says nothing of when it was made. */
  byCall?: boolean;
  ref: WeakRef<object>;
  site: SiteHolder;
  cls: ClassInfo;
}

/** Instances of one class always recorded; after that one in SAMPLE (per-request objects). */
const ALWAYS = 32;
const SAMPLE = 256;
const MAX_RECORDS = 4096;
const GENERIC_NAME = /^(Class|_class|_a|anonymous|default|Object|<anonymous>)$/;
/** A name that says what the class is: not a mixin's placeholder, not a minifier's one or two letters. */
export function isInformativeName(n: string | undefined): n is string {
  return !!n && n.length > 2 && !GENERIC_NAME.test(n);
}

export class Owners {
  private classes = new WeakMap<object, ClassInfo>();
  private records: OwnerRecord[] = [];
  private byObject = new WeakMap<object, OwnerRecord>();
  private seq = 0;
  private WeakRefCtor: typeof WeakRef | undefined = (globalThis as { WeakRef?: typeof WeakRef }).WeakRef;

  private readonly plainProto = (require('events') as { prototype: object }).prototype;
  private readonly serverProto = (require('net') as { Server: { prototype: object } }).Server.prototype;
  /** Where each server was constructed: a framework's factory (fastify()) makes it at the user's call and listens in a later tick. */
  private serverSites = new WeakMap<object, SiteHolder>();

  /** Names that a bundle exports a minified class by (`Cron` for `class S`), keyed by its prototype. */
  private exportedNames = new WeakMap<object, string>();

  constructor(private readonly selfFile: string) {}

  /** The name a package exports a class by, kept when the class's own name says nothing. */
  nameExport(C: Function, key: string): void {
    if (isInformativeName(C.name) || !isInformativeName(key) || key.charCodeAt(0) < 65 || key.charCodeAt(0) > 90) return;
    const proto = (C as { prototype?: unknown }).prototype;
    if (proto && typeof proto === 'object') this.exportedNames.set(proto, key);
  }

  /** An exported class's name to show. */
  classNameOf(C: Function): string {
    const proto = (C as { prototype?: unknown }).prototype;
    return this.nameOf(proto && typeof proto === 'object' ? proto : null, C.name);
  }

  /** The class's name to show: its own, else the name its package exports it by. */
  private nameOf(proto: object | null, own: string): string {
    if (isInformativeName(own) || !proto) return own;
    return this.exportedNames.get(proto) ?? own;
  }

  /** Hooks EventEmitter.init. Returns false when the runtime has no WeakRef (Node < 14.6). */
  install(): boolean {
    if (!this.WeakRefCtor) return false;
    const events = require('events') as { init: Function };
    const origInit = events.init;
    const self = this;
    const init = function init(this: object, opts?: unknown) {
      // EventEmitter's constructor passes one argument; `call` then saves an arguments object per emitter.
      // eslint-disable-next-line prefer-rest-params
      const r = arguments.length === 1 ? origInit.call(this, opts) : origInit.apply(this, arguments);
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
      cls = this.classify(skip, proto);
      this.classes.set(proto, cls);
      if (cls.kind === 1) {
        cls.seen++;
        this.add(obj, captureSite(skip, DEEP_FRAMES), cls);
      }
      if (cls.kind === 2) this.serverSites.set(obj, captureSite(skip, DEEP_FRAMES));
      return;
    }
    if (cls.kind === 0) return;
    if (cls.kind === 2) {
      this.serverSites.set(obj, captureSite(skip, DEEP_FRAMES));
      return;
    }
    const n = ++cls.seen;
    if (n > ALWAYS && n % SAMPLE !== 0) return;
    this.add(obj, captureSite(skip, DEEP_FRAMES), cls);
  }

  /**
   * From the first instance's stack: the run of constructor frames at its top names the class
   * chain. Read from V8's structured call sites (no text is formatted), with the tool's own
   * prepareStackTrace set just for this capture, so no user code runs. A `new` frame of a class
   * that is not on the instance's prototype chain is another object's constructor, which made
   * this one (pg-boss's PgBoss building its Manager): the chain ends there.
   */
  private classify(skip: Function, proto: object): ClassInfo {
    const none: ClassInfo = { kind: 0, name: '', pkg: '', files: new Set(), seen: 0 };
    if (Object.prototype.isPrototypeOf.call(this.serverProto, proto)) return { ...none, kind: 2 };
    const frames = callFrames(skip);
    if (!frames) return none;
    const chain = constructorNames(proto);
    // Trusted only when the innermost constructor is on it: a mixin that copies `constructor`
    // in (ioredis copies EventEmitter's onto Redis) leaves names that are not the chain's.
    let chainHolds: boolean | undefined;
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
      if (chainHolds === undefined) chainHolds = !!chain && chain.has(f.fn);
      else if (chainHolds && !chain!.has(f.fn)) break;
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
    return { kind: 1, name: this.nameOf(proto, name), pkg, files, seen: 0 };
  }

  /** Where a server was constructed, when EventEmitter.init saw it. */
  creationSiteOf(server: object): SiteHolder | undefined {
    return this.serverSites.get(server);
  }

  /** True when EventEmitter.init has seen an instance with exactly this prototype: its constructor calls EventEmitter's. */
  constructedThroughInit(proto: object): boolean {
    return this.classes.has(proto);
  }

  private add(obj: object, site: SiteHolder, cls: ClassInfo): OwnerRecord {
    const rec: OwnerRecord = { seq: ++this.seq, ref: new this.WeakRefCtor!(obj), site, cls };
    this.byObject.set(obj, rec);
    this.records.push(rec);
    if (this.records.length > MAX_RECORDS) this.prune();
    return rec;
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
  recordCall(obj: object, skip: Function, methodClass: ClassInfo): void {
    if (this.byObject.has(obj) || this.skipped.has(obj)) return;
    const cls = this.instanceClass(obj, methodClass);
    const n = ++cls.seen;
    if (n > ALWAYS && n % SAMPLE !== 0) {
      this.skipped.add(obj);
      return;
    }
    this.add(obj, captureSite(skip, DEEP_FRAMES), cls).byCall = true;
  }

  /**
   * What a package's factory function returned to user code (`postgres()`, `Hapi.server()`):
   * closure-based clients have no class to see; the call that made one is its user line.
   */
  recordMade(obj: object, skip: Function, cls: ClassInfo): void {
    if (this.byObject.has(obj)) return;
    const n = ++cls.seen;
    if (n > ALWAYS && n % SAMPLE !== 0) return;
    this.add(obj, captureSite(skip, DEEP_FRAMES), cls);
  }

  private callClasses = new WeakMap<object, ClassInfo>();

  /**
   * The class an instance is shown as: its own, not the base whose method it called first
   * (mqtt's client calls methods of the TypedEventEmitter it extends).
   */
  private instanceClass(obj: object, methodClass: ClassInfo): ClassInfo {
    const proto = Object.getPrototypeOf(obj) as object | null;
    if (!proto) return methodClass;
    let c = this.callClasses.get(proto);
    if (!c) {
      const own = this.nameOf(proto, constructorNames(proto)?.values().next().value ?? '');
      // "EventEmitter": a mixin copied its `constructor` in with its methods; the class's own name is not there.
      c = isInformativeName(own) && own !== methodClass.name && own !== 'EventEmitter' ? { ...methodClass, name: own, files: new Set(methodClass.files), seen: 0 } : methodClass;
      this.callClasses.set(proto, c);
    }
    return c;
  }

  get size(): number {
    return this.records.length;
  }

  /**
   * Finds owners for handle objects. `targets` maps each handle object to the handle's own
   * stack (resolved). Returns an owner per handle it could tie.
   */
  attribute(targets: Map<object, Site | undefined>): Map<object, HandleOwner> {
    if (targets.size === 0 || this.records.length === 0) return new Map();
    this.prune();
    return attributeOwners(this.records, targets, this.selfFile);
  }
}

interface CallFrame {
  fn: string;
  file: string;
  isNew: boolean;
}

/**
 * The names of the constructors on a prototype chain, read from own data properties only (no
 * getter runs); undefined when none can be read, and then every `new` frame counts.
 */
function constructorNames(proto: object): Set<string> | undefined {
  const names = new Set<string>();
  try {
    for (let p: object | null = proto, i = 0; p && p !== Object.prototype && i < 16; p = Object.getPrototypeOf(p), i++) {
      const d = Object.getOwnPropertyDescriptor(p, 'constructor');
      const C = d && 'value' in d ? d.value : undefined;
      if (typeof C !== 'function') continue;
      const n = Object.getOwnPropertyDescriptor(C, 'name');
      if (n && typeof n.value === 'string' && n.value) names.add(n.value);
    }
  } catch {
    return undefined;
  }
  return names.size ? names : undefined;
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
