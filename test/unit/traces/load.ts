/** Shared helpers for the unit tests of the core modules: fixture traces, loaded fresh each time. */
import fs from 'node:fs';
import path from 'node:path';
import { parseTrace } from '../../../src/shared/trace-file';
import type { Trace } from '../../../src/shared/trace';

export const TRACES_DIR = __dirname;

/**
 * Every trace here is a real run of today's CLI, written by scripts/regen-fixtures.ts (its
 * FIXTURES list holds each one's options and service; its top comment says what is normalized
 * after the run: paths, pids, ports, createdAt, node version, node:internal frames, the
 * analysis recomputed). Regenerate with `node scripts/build.mjs && node --import tsx
 * scripts/regen-fixtures.ts`; test/unit/fixtures.test.ts checks they are what it writes. Tests
 * read the facts they check from the trace (times, pids, counts), not numbers of one run.
 * None here is hand-made (test/webview/traces/hostile is, see the script).
 */
export type FixtureName = 'leaked-interval' | 'graceful-two-processes' | 'load-drop' | 'load-sse' | 'k8s-prestop-sleep' | 'k8s-prestop-overrun';

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
