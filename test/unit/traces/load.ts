/** Shared helpers for the unit tests of the core modules: fixture traces, loaded fresh each time. */
import fs from 'node:fs';
import path from 'node:path';
import { parseTrace } from '../../../src/shared/trace-file';
import type { Trace } from '../../../src/shared/trace';

export const TRACES_DIR = __dirname;

/**
 * leaked-interval and graceful-two-processes are hand-made. The traffic and Kubernetes ones are real runs
 * (`shutdown-trace run`, 2-core Linux, Node 20), trimmed: node-internal stack frames dropped,
 * the process-exit snapshot of load-drop cut to 6 handles, paths under /home/dev/shop-api,
 * the analysis recomputed after trimming, and `pid: 0` added to prestop-start (the launcher
 * leaves it out for sleep hooks):
 *   load-drop            --load --rate 50 --listen-delay 600 -- node test/fixtures/load-drop.js
 *   load-sse             --sse 2 --sse-path /events --load --rate 5 --grace 1s -- node test/fixtures/load-sse.js
 *   k8s-prestop-sleep    --k8s --prestop-sleep 1s --termination-grace 3 --load --rate 20 -- node test/fixtures/k8s-app.js
 *   k8s-prestop-overrun  HANG=1 … --k8s --prestop-exec "echo draining; sleep 5" --termination-grace 2 --load --rate 5 -- node test/fixtures/k8s-app.js
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
