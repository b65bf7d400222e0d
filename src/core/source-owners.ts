/**
 * Owners read from the user's source, after the run, for the leaked handles that the preload
 * could tie to nothing: a package made them with no line of the user's on the stack, and no
 * object of it was seen being made (an ES module: `import postgres from 'postgres'` loads the
 * package's ESM build, which no CommonJS hook sees). The user's files that the trace names, and
 * the files they import, are read for the names bound to that package (`import`, `require`);
 * when the user's code calls those names at exactly one place, that call made what holds the
 * handles, and it is shown as their owner, marked as found in the source ('source').
 * With two or more such calls the handles stay as they are: the tool does not guess.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isUserFile, madeByPackageAlone, type Site } from '../shared/frames';
import type { HandleInfo, HandleOwner } from '../shared/wire';
import type { Trace } from '../shared/trace';

const MAX_FILES = 300;
const MAX_FILE_BYTES = 1_000_000;
const EXTENSIONS = ['', '.ts', '.tsx', '.mts', '.cts', '.js', '.mjs', '.cjs', '.jsx'];

interface CallSite {
  file: string;
  line: number;
  col: number;
  /** As written: "postgres", "new Cron", "Hapi.server". */
  callee: string;
}

/** Ties unowned library handles to the one call of their package in the user's code. Never throws. */
export function attributeFromSource(trace: Trace): void {
  try {
    const orphans = new Map<string, HandleInfo[]>();
    const files = new Set<string>();
    for (const e of trace.events) {
      collectFiles(e, files, 0);
      if (e.kind !== 'snapshot') continue;
      for (const h of e.handles) {
        if (!h.ref || h.owner || !h.site) continue;
        const pkg = madeByPackageAlone(h.site);
        if (!pkg) continue;
        const list = orphans.get(pkg);
        if (list) list.push(h);
        else orphans.set(pkg, [h]);
      }
    }
    if (orphans.size === 0) return;
    const sources = readUserSources(files);
    for (const [pkg, handles] of orphans) {
      const calls = callsOf(pkg, sources);
      if (calls.length !== 1) continue;
      const c = calls[0];
      const site: Site = { frames: [{ fn: c.callee, file: c.file, line: c.line, col: c.col }], user: 0 };
      const owner: HandleOwner = {
        id: `src:${pkg}:${c.file}:${c.line}:${c.col}`,
        name: c.callee.startsWith('new ') ? `${pkg} ${c.callee.slice(4)}` : `${c.callee}()`,
        package: pkg,
        site,
        via: 'source',
      };
      for (const h of handles) h.owner = owner;
    }
  } catch {
    // The trace stands as the preload reported it.
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any value of an event, walked untyped
function collectFiles(v: any, out: Set<string>, depth: number): void {
  if (v === null || typeof v !== 'object' || depth > 8) return;
  if (Array.isArray(v)) {
    for (const x of v) collectFiles(x, out, depth + 1);
    return;
  }
  if (Array.isArray(v.frames)) {
    for (const f of v.frames) if (f && typeof f.file === 'string' && isUserFile(f.file) && path.isAbsolute(f.file)) out.add(f.file);
    return;
  }
  for (const k in v) if (v[k] !== null && typeof v[k] === 'object') collectFiles(v[k], out, depth + 1);
}

/** The user's files the trace names, and every user file they import by a relative path. */
function readUserSources(seeds: Set<string>): Map<string, string> {
  const out = new Map<string, string>();
  const queue = [...seeds];
  while (queue.length && out.size < MAX_FILES) {
    const file = queue.shift()!;
    if (out.has(file)) continue;
    const text = readSmall(file);
    if (text === undefined) continue;
    out.set(file, text);
    for (const spec of specifiers(text)) {
      if (!spec.startsWith('.')) continue;
      const resolved = resolveRelative(path.dirname(file), spec);
      if (resolved && !out.has(resolved)) queue.push(resolved);
    }
  }
  return out;
}

function readSmall(file: string): string | undefined {
  try {
    const st = fs.statSync(file);
    if (!st.isFile() || st.size > MAX_FILE_BYTES) return undefined;
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** `./db.js` from TypeScript is `./db.ts` on disk; `./lib` may be `./lib/index.ts`. */
function resolveRelative(dir: string, spec: string): string | undefined {
  const base = path.resolve(dir, spec);
  const stems = [base];
  const ext = path.extname(base);
  if (['.js', '.mjs', '.cjs', '.jsx'].includes(ext)) stems.push(base.slice(0, -ext.length));
  for (const stem of stems) {
    for (const e of EXTENSIONS) if (isFile(stem + e) && isUserFile(stem + e)) return stem + e;
    for (const e of EXTENSIONS.slice(1)) if (isFile(path.join(stem, `index${e}`))) return path.join(stem, `index${e}`);
  }
  return undefined;
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

const IMPORT_FROM = /\bimport\s+(?:type\s+)?([\w$]+\s*,?\s*)?(\{[^}]*\}|\*\s*as\s+[\w$]+)?\s*from\s*(['"])([^'"\n]+)\3/g;
const REQUIRE = /\b(?:const|let|var)\s+(\{[^}]*\}|[\w$]+)\s*=\s*(?:await\s+)?(?:require|import)\s*\(\s*(['"])([^'"\n]+)\2\s*\)(\.default\b)?/g;
const BARE_SPEC = /(?:\bfrom\s*|\brequire\s*\(\s*|\bimport\s*\(\s*)(['"])([^'"\n]+)\1/g;

function specifiers(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(BARE_SPEC)) out.push(m[2]);
  return out;
}

/** The names a file binds to a package: callable ones, and namespaces whose members are called. */
function bindingsOf(pkg: string, text: string): { names: Set<string>; namespaces: Set<string> } {
  const names = new Set<string>();
  const namespaces = new Set<string>();
  const ofPkg = (spec: string) => spec === pkg || spec.startsWith(`${pkg}/`);
  const destructured = (list: string, sep: RegExp) => {
    for (const part of list.replace(/[{}]/g, '').split(',')) {
      const p = part.trim().replace(/^type\s+/, '');
      if (!p) continue;
      const [, local] = p.split(sep).map((s) => s.trim());
      const name = (local || p.split(sep)[0]).trim();
      if (/^[\w$]+$/.test(name)) names.add(name);
    }
  };
  for (const m of text.matchAll(IMPORT_FROM)) {
    if (!ofPkg(m[4])) continue;
    const def = m[1]?.replace(',', '').trim();
    if (def) names.add(def);
    const rest = m[2]?.trim();
    if (!rest) continue;
    if (rest.startsWith('*')) namespaces.add(rest.replace(/^\*\s*as\s+/, ''));
    else destructured(rest, /\s+as\s+/);
  }
  for (const m of text.matchAll(REQUIRE)) {
    if (!ofPkg(m[3])) continue;
    const lhs = m[1].trim();
    if (lhs.startsWith('{')) destructured(lhs, /\s*:\s*/);
    else {
      // `const pg = require('pg')`: both `pg(` and `new pg.Pool(` are its calls.
      names.add(lhs);
      if (!m[4]) namespaces.add(lhs);
    }
  }
  return { names, namespaces };
}

/** Every call of the package's bindings in the user's files, de-duplicated by position. */
function callsOf(pkg: string, sources: Map<string, string>): CallSite[] {
  const out = new Map<string, CallSite>();
  for (const [file, raw] of sources) {
    const { names, namespaces } = bindingsOf(pkg, raw);
    if (names.size === 0 && namespaces.size === 0) continue;
    const text = blankCommentsAndStrings(raw);
    const lineStarts = [0];
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lineStarts.push(i + 1);
    const at = (index: number) => {
      let lo = 0;
      let hi = lineStarts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (lineStarts[mid] <= index) lo = mid;
        else hi = mid - 1;
      }
      return { line: lo + 1, col: index - lineStarts[lo] + 1 };
    };
    const add = (index: number, callee: string) => {
      const p = at(index);
      out.set(`${file}:${p.line}:${p.col}`, { file, line: p.line, col: p.col, callee });
    };
    const id = (n: string) => n.replace(/\$/g, '\\$');
    for (const n of names) {
      // A call or `new` of the name itself; not a member of something else (`x.postgres(`), not its declaration.
      const re = new RegExp(`(?<![\\w$.])(new\\s+)?${id(n)}\\s*(?:<[^<>()]*>\\s*)?\\(`, 'g');
      for (const m of text.matchAll(re)) if (!/\bfunction\s*$/.test(text.slice(Math.max(0, m.index! - 12), m.index))) add(m.index!, `${m[1] ? 'new ' : ''}${n}`);
    }
    for (const ns of namespaces) {
      const re = new RegExp(`(?<![\\w$.])(new\\s+)?${id(ns)}\\.([\\w$]+)\\s*(?:<[^<>()]*>\\s*)?\\(`, 'g');
      for (const m of text.matchAll(re)) add(m.index!, `${m[1] ? 'new ' : ''}${ns}.${m[2]}`);
    }
  }
  return [...out.values()];
}

/**
 * The text with comments and the insides of string and template literals replaced by spaces,
 * lengths and newlines kept, so that positions stay the file's. Template substitutions are code.
 */
function blankCommentsAndStrings(src: string): string {
  const out = src.split('');
  const blank = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (out[k] !== '\n') out[k] = ' ';
  };
  const templateDepth: number[] = [];
  let braces = 0;
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    const n = src[i + 1];
    if (c === '/' && n === '/') {
      const end = src.indexOf('\n', i);
      const stop = end === -1 ? src.length : end;
      blank(i, stop);
      i = stop;
    } else if (c === '/' && n === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end === -1 ? src.length : end + 2;
      blank(i, stop);
      i = stop;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== c && src[j] !== '\n') j += src[j] === '\\' ? 2 : 1;
      blank(i + 1, Math.min(j, src.length));
      i = j + 1;
    } else if (c === '`' || (c === '}' && templateDepth.length && templateDepth[templateDepth.length - 1] === braces)) {
      if (c === '}') templateDepth.pop();
      let j = i + 1;
      while (j < src.length && src[j] !== '`' && !(src[j] === '$' && src[j + 1] === '{')) j += src[j] === '\\' ? 2 : 1;
      blank(i + 1, Math.min(j, src.length));
      if (src[j] === '$') {
        templateDepth.push(braces);
        i = j + 2;
      } else i = j + 1;
    } else {
      if (c === '{') braces++;
      else if (c === '}') braces--;
      i++;
    }
  }
  return out.join('');
}
