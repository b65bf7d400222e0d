/**
 * The analysis is the one source: for every trace checked into the repository, each consumer
 * (the CLI report, the Markdown and Chrome exports, `check` and its JUnit, OpenMetrics) shows
 * the same figures as the analysis. The figures are parsed back out of each consumer's output,
 * so a consumer that counts or times something itself fails here.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseTrace } from '../../src/shared/trace-file';
import type { Analysis, Trace } from '../../src/shared/trace';
import { formatDuration } from '../../src/shared/duration';
import { headline } from '../../src/shared/headline';
import { analyze, analysisOf } from '../../src/core/analysis';
import { toMarkdown } from '../../src/core/export-md';
import { toChromeTrace } from '../../src/core/export-chrome';
import { toOpenMetrics } from '../../src/core/export-openmetrics';
import { renderReport } from '../../src/cli/report';
import { evaluateBudgets, checkJUnit, type Budgets } from '../../src/cli/check';

const ROOT = path.resolve(__dirname, '../..');

/** Every trace file under test/ (the unit, webview and electron fixtures), except the deliberately broken ones. */
function fixtureFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.shutdown-trace.json') && !e.name.startsWith('broken')) out.push(p);
    }
  };
  walk(path.join(ROOT, 'test'));
  return out.sort();
}

/** What every consumer must agree on. */
interface Figures {
  exitReason: string;
  signalToExit: string;
  leakedHandles: number;
  leaks: number;
  lost?: number;
}

function expected(a: Analysis): Figures {
  return {
    exitReason: a.exitReason,
    signalToExit: formatDuration(a.signalToExitMs),
    leakedHandles: a.leakedHandleCount,
    leaks: a.leaks?.length ?? 0,
    ...(a.requests ? { lost: a.requests.lost } : {}),
  };
}

const num = (s: string | undefined): number | undefined => (s === undefined ? undefined : Number(s));
const grab = (text: string, re: RegExp): string | undefined => re.exec(text)?.[1];

function fromReport(text: string): Partial<Figures> {
  return {
    exitReason: grab(text, /^ {2}exit reason +(\S+)/m),
    signalToExit: grab(text, /^ {2}signal → exit +(.+?) of /m),
    leakedHandles: num(grab(text, /^ {2}leaked handles +(\d+)$/m)),
    leaks: num(grab(text, /^ {2}Leaks \((\d+)\)/m) ?? '0'),
    lost: num(grab(text, /^ {2}traffic +(\d+) lost/m)),
  };
}

function fromMarkdown(md: string): Partial<Figures> {
  const row = (name: string) => grab(md, new RegExp(`^\\| ${name} \\| (.*?) \\|$`, 'm'));
  const leakSection = md.split('\n### ').find((s) => s.startsWith('Leaked handles ('));
  return {
    exitReason: row('Exit reason')?.replace(/`/g, ''),
    signalToExit: row('Signal → exit'),
    leakedHandles: num(row('Leaked handles')),
    leaks: leakSection ? leakSection.split('\n').filter((l) => l.startsWith('- ')).length : 0,
    lost: num(grab(md, /^- \S+ \*\*Lost: (\d+)\*\*/m)),
  };
}

function fromChrome(trace: Trace): Partial<Figures> {
  const ct = toChromeTrace(trace);
  const m = ct.metadata as Record<string, unknown>;
  const leakEvents = ct.traceEvents.filter((e) => e.cat === 'leak');
  const accounting = (m.load as { accounting?: { lost: number } } | undefined)?.accounting;
  const lostSpans = ct.traceEvents.filter((e) => e.ph === 'b' && e.cat === 'load' && (e.args as { counted?: string } | undefined)?.counted === 'lost').length;
  if (accounting) assert.equal(lostSpans, accounting.lost, 'Chrome: spans drawn as lost');
  return {
    exitReason: m.exitReason as string,
    signalToExit: formatDuration(m.signalToExitMs as number | undefined),
    leakedHandles: m.leakedHandleCount as number,
    // One instant per leaked handle, each naming its leak's place in the analysis' list.
    leaks: new Set(leakEvents.map((e) => (e.args as { leakIndex: number }).leakIndex)).size,
    ...(accounting ? { lost: accounting.lost } : {}),
  };
}

const BUDGETS: Budgets = { allowLeak: [], allowLeaks: false, allowOrphans: false, maxLost: 0 };

function fromCheck(trace: Trace): Partial<Figures> {
  const results = evaluateBudgets(trace, BUDGETS);
  const by = (id: string) => results.find((r) => r.id === id);
  const graceful = by('graceful-exit')!;
  const leaks = by('leaked-handles')!;
  const time = by('shutdown-time')!;
  const lost = by('lost-requests');
  return {
    exitReason: grab(graceful.message, /^(\S+) \(/) ?? grab(graceful.message, /\((\S+)\)$/),
    // With --k8s the budget is held from the start of termination, not from the signal.
    signalToExit: trace.analysis!.k8s ? formatDuration(trace.analysis!.signalToExitMs) : (grab(time.message, /^signal → exit (.+?) \(limit/) ?? '–'),
    leakedHandles: leaks.message === 'none' ? 0 : num(grab(leaks.message, /^(\d+) leaked/)),
    lost: lost && lost.status !== 'skip' ? num(grab(lost.message, /^(\d+) lost/)) : undefined,
  };
}

function fromJUnit(trace: Trace): Partial<Figures> {
  const xml = checkJUnit(trace, evaluateBudgets(trace, BUDGETS), { tracePath: 'x.shutdown-trace.json', timestamp: '2026-01-01T00:00:00', elapsedMs: 1 });
  const prop = (name: string) => grab(xml, new RegExp(`<property name="${name}" value="([^"]*)"`));
  const leakCase = grab(xml, /<testcase name="no leaked handles"[^>]*>([\s\S]*?)<\/testcase>/) ?? '';
  return {
    exitReason: prop('exitReason'),
    leakedHandles: /<failure/.test(leakCase) ? num(grab(leakCase, /message="(\d+) leaked/)) : 0,
    lost: num(prop('lostRequests')),
  };
}

function fromOpenMetrics(trace: Trace): Partial<Figures> {
  const text = toOpenMetrics([trace]);
  const samples = (name: string) => [...text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))].map((m) => ({ labels: m[1], value: Number(m[2]) }));
  const duration = samples('shutdown_trace_duration_seconds')[0];
  const lost = samples('shutdown_trace_requests_lost').find((s) => s.labels.includes('view="client"'));
  return {
    exitReason: grab(samples('shutdown_trace_exit_reason').find((s) => s.value === 1)?.labels ?? '', /reason="([^"]+)"/),
    signalToExit: formatDuration(duration ? duration.value * 1000 : undefined),
    leakedHandles: samples('shutdown_trace_leaked_handles').reduce((n, s) => n + s.value, 0),
    ...(lost ? { lost: lost.value } : {}),
  };
}

/** The figures a consumer shows, only those it shows. */
function agree(consumer: string, got: Partial<Figures>, want: Figures): void {
  for (const k of Object.keys(got) as (keyof Figures)[]) {
    if (got[k] === undefined && want[k] === undefined) continue;
    assert.equal(got[k], want[k], `${consumer} shows ${k} = ${got[k]}, the analysis ${want[k]}`);
  }
}

const files = fixtureFiles();

test('the fixtures are found', () => {
  assert.ok(files.length >= 10, files.join('\n'));
});

for (const file of files) {
  for (const as of ['analysed now', 'as stored'] as const)
    describe(`agreement: ${path.relative(ROOT, file)}, ${as}`, () => {
      const load = (): Trace => {
        const t = parseTrace(fs.readFileSync(file, 'utf8'), path.basename(file));
        // Analysed now: today's analysis. As stored: the file's own, completed where it predates a field, as every reader completes it.
        t.analysis = as === 'analysed now' ? analyze(t) : analysisOf(t);
        return t;
      };
      const want = expected(load().analysis!);

      test('CLI report', () => agree('report', fromReport(renderReport(load())), want));
      test('Markdown export', () => {
        const t = load();
        const md = toMarkdown(t);
        agree('Markdown', fromMarkdown(md), want);
        assert.ok(
          md.startsWith(`## `) && md.split('\n')[0].endsWith(headline(t.analysis, { signal: t.meta.plan.signal, complete: t.meta.complete }).text.replace(/[<&]/g, '')),
          'Markdown heading is the headline',
        );
      });
      test('Chrome export', () => agree('Chrome', fromChrome(load()), want));
      test('check', () => agree('check', fromCheck(load()), want));
      test('JUnit', () => agree('JUnit', fromJUnit(load()), want));
      test('OpenMetrics', () => agree('OpenMetrics', fromOpenMetrics(load()), want));
    });
}
