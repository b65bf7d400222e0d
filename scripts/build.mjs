// One esbuild entry per runtime: preload (low target, everything bundled; its body carried as text by its loader), CLI, extension host, webview.
import * as esbuild from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';
import { createHash } from 'node:crypto';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const production = process.argv.includes('--production');
const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning', absWorkingDir: root };

// ws tries optional native addons; in the preload they must never resolve from the user's node_modules.
const stubNativeAddons = {
  name: 'stub-ws-native-addons',
  setup(build) {
    build.onResolve({ filter: /^(bufferutil|utf-8-validate)$/ }, (a) => ({ path: a.path, namespace: 'stub' }));
    build.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({ contents: 'throw new Error("not bundled")', loader: 'js' }));
    // ws loads https, tls and zlib at require time for wss:// and compression, which the preload
    // never uses: loaded on first use instead, they stay off the traced service's start-up.
    build.onResolve({ filter: /^(https|tls|zlib)$/ }, (a) => (/[\\/]node_modules[\\/]ws[\\/]/.test(a.importer) ? { path: a.path, namespace: 'lazy-core' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'lazy-core' }, (a) => ({
      contents: `let m; module.exports = new Proxy({}, { get(_, k) { m = m || require(${JSON.stringify(a.path)}); return m[k]; } });`,
      loader: 'js',
    }));
  },
};

// Code carried as text is scanned as a string literal on every traced start-up, before the
// service's first line: without blanks and comments it is 140 kB instead of 226 kB. Names are kept: they
// are what a stack trace through the preload shows.
const compactText = { minifyWhitespace: true };

// The preload's WebSocket client (ws's client only), built first and carried in the preload as
// text: compiled when the preload connects, after the service's main module, so that its
// ~100 kB of functions are not parsed on the service's start-up path (src/preload/ws-client.ts).
const wsClient = await esbuild.build({
  ...common,
  ...compactText,
  sourcemap: false,
  write: false,
  entryPoints: ['node_modules/ws/lib/websocket.js'],
  platform: 'node',
  target: 'node14',
  format: 'cjs',
  plugins: [stubNativeAddons],
});
const wsClientSource = {
  name: 'ws-client-source',
  setup(build) {
    build.onResolve({ filter: /^shutdown-trace:ws-client-source$/ }, (a) => ({ path: a.path, namespace: 'ws-client-source' }));
    build.onLoad({ filter: /.*/, namespace: 'ws-client-source' }, () => ({ contents: `module.exports = ${JSON.stringify(wsClient.outputFiles[0].text)};`, loader: 'js' }));
  },
};

// The preload's body, carried as text by the file NODE_OPTIONS requires (src/preload/loader.ts),
// which compiles it with V8's code cache. The hash names the cache: V8 checks only a source's
// length, so a cache must never outlive the exact text it was made from.
const preloadBody = await esbuild.build({
  ...common,
  ...compactText,
  sourcemap: false,
  write: false,
  entryPoints: ['src/preload/index.ts'],
  platform: 'node',
  target: 'node14',
  format: 'cjs',
  plugins: [stubNativeAddons, wsClientSource],
  inject: ['src/preload/own-timers.ts'],
});
const preloadBodyText = preloadBody.outputFiles[0].text;
const preloadBodySource = {
  name: 'preload-body-source',
  setup(build) {
    build.onResolve({ filter: /^shutdown-trace:preload-body-source$/ }, (a) => ({ path: a.path, namespace: 'preload-body-source' }));
    build.onLoad({ filter: /.*/, namespace: 'preload-body-source' }, () => ({ contents: `module.exports = ${JSON.stringify(preloadBodyText)};`, loader: 'js' }));
  },
};

const builds = [
  {
    ...common,
    entryPoints: ['src/preload/loader.ts'],
    outfile: 'dist/preload.js',
    platform: 'node',
    target: 'node14',
    format: 'cjs',
    plugins: [preloadBodySource],
    define: { PRELOAD_BODY_HASH: JSON.stringify(createHash('sha256').update(preloadBodyText).digest('hex').slice(0, 16)) },
    sourcemap: false,
  },
  {
    ...common,
    entryPoints: ['src/cli/main.ts'],
    outfile: 'dist/cli.js',
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['bufferutil', 'utf-8-validate'],
    banner: { js: '#!/usr/bin/env node' },
  },
  // Run only when a launcher died mid-run: stops its service and rebuilds the trace (src/core/journal.ts).
  { ...common, entryPoints: ['src/core/watchdog.ts'], outfile: 'dist/watchdog.js', platform: 'node', target: 'node20', format: 'cjs', external: ['bufferutil', 'utf-8-validate'] },
  { ...common, entryPoints: ['webview/src/main.ts'], outfile: 'media/webview.js', platform: 'browser', target: 'es2020', format: 'iife' },
];
if (fs.existsSync(path.join(root, 'src/extension/extension.ts'))) {
  builds.push({
    ...common,
    entryPoints: ['src/extension/extension.ts'],
    outfile: 'dist/extension.js',
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['vscode', 'bufferutil', 'utf-8-validate'],
  });
}
const present = builds.filter((b) => fs.existsSync(path.join(root, b.entryPoints[0])));
await Promise.all(present.map((b) => esbuild.build(b)));
if (fs.existsSync(path.join(root, 'dist/cli.js'))) fs.chmodSync(path.join(root, 'dist/cli.js'), 0o755);
console.log(`built ${present.map((b) => b.outfile).join(', ')}${production ? ' (production)' : ''}`);
