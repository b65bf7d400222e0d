/** Shared helpers for the unit tests of the core modules: fixture traces, loaded fresh each time. */
import fs from 'node:fs';
import path from 'node:path';
import { parseTrace, type Trace } from '../../../src/core/trace';

export const TRACES_DIR = __dirname;

export type FixtureName = 'leaked-interval' | 'graceful-two-processes';

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
