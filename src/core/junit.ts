/**
 * JUnit XML, the report format CI systems (GitHub Actions test reporters, GitLab, Jenkins,
 * Azure Pipelines, CircleCI) show as test results. One <testsuite> per check run, one
 * <testcase> per budget. Every string is escaped for XML 1.0: markup characters become
 * entities, characters XML 1.0 cannot carry (control characters, lone surrogates, U+FFFE/F)
 * are dropped, ANSI colour sequences are removed, and in attributes line breaks and tabs are
 * kept as character references.
 */

export interface JUnitFailure {
  message: string;
  type: string;
  /** Longer text: the evidence. */
  body?: string;
}

export interface JUnitCase {
  name: string;
  classname: string;
  timeMs?: number;
  failure?: JUnitFailure;
  /** Why the case did not apply (e.g. no load was configured). */
  skipped?: string;
  systemOut?: string;
}

export interface JUnitSuite {
  name: string;
  /** ISO 8601 start time. */
  timestamp?: string;
  timeMs?: number;
  hostname?: string;
  properties?: Record<string, string | number | boolean>;
  cases: JUnitCase[];
  systemOut?: string;
  systemErr?: string;
}

// ANSI CSI / OSC sequences (colours from a service's output or our own report).
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g;
// Characters XML 1.0 does not allow, including unpaired surrogates.
const INVALID = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function clean(s: string): string {
  return String(s).replace(ANSI, '').replace(INVALID, '');
}

/** Text content: & < > escaped (and > too, so "]]>" can never appear). */
export function escapeText(s: string): string {
  return clean(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Attribute values (always written in double quotes): also quotes, and whitespace kept as references. */
export function escapeAttr(s: string): string {
  return escapeText(s).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

const secs = (ms: number | undefined) => ((ms ?? 0) / 1000).toFixed(3);

export function junitXml(suites: JUnitSuite[]): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const count = (f: (c: JUnitCase) => boolean) => suites.reduce((n, s) => n + s.cases.filter(f).length, 0);
  const total = suites.reduce((n, s) => n + s.cases.length, 0);
  const totalMs = suites.reduce((n, s) => n + (s.timeMs ?? 0), 0);
  out.push(
    `<testsuites name="${escapeAttr(suites[0]?.name ?? 'shutdown-trace')}" tests="${total}" failures="${count((c) => !!c.failure)}" errors="0" skipped="${count((c) => !c.failure && !!c.skipped)}" time="${secs(totalMs)}">`,
  );
  for (const s of suites) {
    const failures = s.cases.filter((c) => c.failure).length;
    const skipped = s.cases.filter((c) => !c.failure && c.skipped).length;
    const attrs = [`name="${escapeAttr(s.name)}"`, `tests="${s.cases.length}"`, `failures="${failures}"`, 'errors="0"', `skipped="${skipped}"`, `time="${secs(s.timeMs)}"`];
    if (s.timestamp) attrs.push(`timestamp="${escapeAttr(s.timestamp)}"`);
    if (s.hostname) attrs.push(`hostname="${escapeAttr(s.hostname)}"`);
    out.push(`  <testsuite ${attrs.join(' ')}>`);
    const props = Object.entries(s.properties ?? {});
    if (props.length) {
      out.push('    <properties>');
      for (const [k, v] of props) out.push(`      <property name="${escapeAttr(k)}" value="${escapeAttr(String(v))}"/>`);
      out.push('    </properties>');
    }
    for (const c of s.cases) {
      const open = `    <testcase name="${escapeAttr(c.name)}" classname="${escapeAttr(c.classname)}" time="${secs(c.timeMs)}"`;
      const inner: string[] = [];
      if (c.failure) inner.push(`      <failure message="${escapeAttr(c.failure.message)}" type="${escapeAttr(c.failure.type)}">${escapeText(c.failure.body ?? c.failure.message)}</failure>`);
      else if (c.skipped) inner.push(`      <skipped message="${escapeAttr(c.skipped)}"/>`);
      if (c.systemOut) inner.push(`      <system-out>${escapeText(c.systemOut)}</system-out>`);
      out.push(inner.length ? `${open}>\n${inner.join('\n')}\n    </testcase>` : `${open}/>`);
    }
    if (s.systemOut) out.push(`    <system-out>${escapeText(s.systemOut)}</system-out>`);
    if (s.systemErr) out.push(`    <system-err>${escapeText(s.systemErr)}</system-err>`);
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}
