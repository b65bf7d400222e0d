/** Shared helpers for the unit tests of the core modules: fixture traces, loaded fresh each time. */
import fs from 'node:fs';
import path from 'node:path';
import { parseTrace } from '../../../src/shared/trace-file';
import type { Trace } from '../../../src/shared/trace';

export const TRACES_DIR = __dirname;

/**
 * Every trace here is a real run of today's CLI, written by scripts/regen-fixtures.ts (its
 * FIXTURES list holds each one's options and service under test/fixtures/, its top comment what
 * is normalized after the run: paths, pids, ports, createdAt, node version, node:internal
 * frames, the analysis recomputed); test/unit/fixtures.test.ts checks they are what it writes.
 * Regenerate: `node scripts/build.mjs && node --import tsx scripts/regen-fixtures.ts unit/NAME`.
 *
 * The tests read their numbers from the file (times, pids, counts, the analysis' roles) and the
 * creation sites from the fixture services' source, so a regeneration changes no assertion about
 * what users see. A case no run records (a failed preStop hook, an older preload's field, a
 * trace without an analysis) is made in the test from a loaded copy, with a comment why.
 */
export type FixtureName = 'leaked-interval' | 'graceful-two-processes' | 'load-drop' | 'load-drain-busy' | 'load-sse' | 'k8s-prestop-sleep' | 'k8s-prestop-overrun' | 'k8s-endpoint-lag';

export function fixturePath(name: FixtureName): string {
  return path.join(TRACES_DIR, `${name}.shutdown-trace.json`);
}

export function fixtureText(name: FixtureName): string {
  return fs.readFileSync(fixturePath(name), 'utf8');
}

/** A fresh, parsed copy of a fixture trace (tests may mutate it). */
export function loadFixture(name: FixtureName): Trace {
  return parseTrace(fixtureText(name), `${name}.shutdown-trace.json`);
}
