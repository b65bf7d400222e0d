// Bundles the TypeScript the bench needs (Collector, startRun, the webview shell, the trace
// generator) with esbuild, so `node bench/run.mjs` needs no loader. Output: bench/.build/ (ignored).
// The bundle sits two levels under the repo root, so the launcher finds dist/preload.js exactly as
// from dist/ (its __dirname-relative lookup).
import * as esbuild from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pageScript } from './page-script.mjs';
import { createRequire } from 'node:module';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const OUT = path.join(ROOT, 'bench', '.build');

export async function buildHelpers() {
  const outfile = path.join(OUT, 'helpers.cjs');
  await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: ['bench/lib/entry.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['bufferutil', 'utf-8-validate'],
    logLevel: 'warning',
  });
  // The generator again, for the page: an IIFE that sets window.__genTrace.
  const genTraceScript = await pageScript("import { generateTrace } from './test/webview/gen-trace'; (globalThis as any).__genTrace = generateTrace;", ROOT);
  const require = createRequire(import.meta.url);
  const helpers = require(outfile);
  return { ...helpers, genTraceScript };
}
