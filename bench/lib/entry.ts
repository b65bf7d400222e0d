// The TypeScript pieces the benchmark uses, bundled by bench/lib/build.mjs into bench/.build/.
export { Collector } from '../../src/core/collector';
export { startRun } from '../../src/core/launcher';
export { renderWebviewHtml, makeNonce, webviewCsp } from '../../src/core/webview-html';
export { userFrame, formatFrame } from '../../src/shared/frames';
export { generateTrace } from '../../test/webview/gen-trace';
// The real-library suite's throw-away Redis and PostgreSQL (free ports, temp dirs, stopped by pid/pg_ctl).
export { startRedis, startPostgres } from '../../test/real/servers';
