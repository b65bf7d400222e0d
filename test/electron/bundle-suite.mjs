// Bundles the extension-host suite (suite/index.ts) into one CommonJS file. Shared by run.mjs
// (@vscode/test-electron) and run-in-code-server.mjs, so both hosts run the very same suite.
import * as esbuild from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export async function bundleSuite(outfile) {
  await esbuild.build({
    entryPoints: [path.join(here, 'suite', 'index.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['vscode'],
    sourcemap: 'inline',
    logLevel: 'warning',
  });
  return outfile;
}
