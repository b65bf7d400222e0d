// A script for a browser page, built from a TypeScript snippet resolved from `root`: an IIFE that
// puts what the page needs on globalThis (the trace generator, the panel's column encoder).
import * as esbuild from 'esbuild';

export async function pageScript(contents, root) {
  const r = await esbuild.build({
    absWorkingDir: root,
    stdin: { contents, loader: 'ts', resolveDir: root },
    bundle: true,
    platform: 'browser',
    target: 'es2020',
    format: 'iife',
    write: false,
    logLevel: 'warning',
  });
  return r.outputFiles[0].text;
}
