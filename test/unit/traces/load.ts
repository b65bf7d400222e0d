/** Shared helpers for the unit tests of the core modules: fixture traces, loaded fresh each time. */
import fs from 'node:fs';
import path from 'node:path';
import { parseTrace } from '../../../src/shared/trace-file';
import type { Trace } from '../../../src/shared/trace';

export const TRACES_DIR = __dirname;

/**
 * leaked-interval and graceful-two-processes are real runs of today's CLI, written by
 * scripts/regen-fixtures.ts (its FIXTURES list holds each one's options and service, its top
 * comment what is normalized after the run: paths, pids, ports, createdAt, node version,
 * node:internal frames, the analysis recomputed); test/unit/fixtures.test.ts checks they are
 * what it writes. Regenerate: `node scripts/build.mjs && node --import tsx scripts/regen-fixtures.ts`.
 *
 * load-drop, load-sse, k8s-prestop-sleep and k8s-prestop-overrun are still the older real runs
 * trimmed by hand (node-internal frames dropped, load-drop's exit snapshot cut to 6 handles,
 * paths under /home/dev/shop-api, the analysis recomputed, `pid: 0` added to prestop-start):
 * the script marks them pending. Regenerated, k8s-prestop-sleep trips agreement.test.ts (the
 * endpoint-lag analysis counts refusals as lost without listing them in requests.roles.lost), and
 * the export tests still assert these files' numbers.
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
