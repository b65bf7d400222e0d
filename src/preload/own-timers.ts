/**
 * Injected (esbuild `inject`) into the preload bundle: every bare `setTimeout`/`setInterval`
 * in bundled code (ws arms a 30 s close timer) resolves here instead of to the user's global.
 * Captured before the preload patches the globals, and unref'd so the tool never keeps a
 * service alive or shows up as one of its leaks.
 */
const originalSetTimeout = globalThis.setTimeout;
const originalSetInterval = globalThis.setInterval;

function ownSetTimeout(fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]): NodeJS.Timeout {
  const t = originalSetTimeout(fn, ms, ...args);
  t.unref();
  return t;
}
function ownSetInterval(fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]): NodeJS.Timeout {
  const t = originalSetInterval(fn, ms, ...args);
  t.unref();
  return t;
}
export { ownSetTimeout as setTimeout, ownSetInterval as setInterval };
