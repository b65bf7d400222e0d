/** What marks library code: the package a file belongs to, and the methods that release a library object. */

export const RELEASE_METHODS = ['quit', 'close', 'destroy', 'end', 'disconnect', 'stop', 'tryShutdown', 'shutdown', 'terminate', 'cancel'];

export function packageOf(file: string): string | undefined {
  const i = file.lastIndexOf('/node_modules/');
  if (i === -1) return undefined;
  // Called for every module a service loads: index arithmetic, no split.
  const start = i + 14;
  let end = file.indexOf('/', start);
  if (end !== -1 && file.charCodeAt(start) === 64 /* @scope/name */) end = file.indexOf('/', end + 1);
  return end === -1 ? file.slice(start) : file.slice(start, end);
}

/**
 * True when `obj` or its prototype chain has a release method as a plain function (no getter
 * runs). `in` first: a native lookup with no allocation, false for nearly every object asked.
 */
export function hasReleaseMethod(obj: object): boolean {
  for (const name of RELEASE_METHODS) {
    if (!(name in obj)) continue;
    for (let p: object | null = obj, i = 0; p && p !== Object.prototype && i < 10; p = Object.getPrototypeOf(p), i++) {
      const d = Object.getOwnPropertyDescriptor(p, name);
      if (d) {
        if (typeof d.value === 'function') return true;
        break;
      }
    }
  }
  return false;
}
