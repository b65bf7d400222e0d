// The TypeScript pieces the benchmark uses, bundled by bench/lib/build.mjs into bench/.build/.
export { Collector } from '../../src/core/collector';
export { startRun } from '../../src/core/launcher';
export { renderWebviewHtml, makeNonce, webviewCsp } from '../../src/core/webview-html';
export { userFrame, formatFrame } from '../../src/core/trace';
export { generateTrace } from '../../test/webview/gen-trace';
