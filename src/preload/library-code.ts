/** What marks library code: the package a file belongs to, and the methods that release a library object. */

export const RELEASE_METHODS = ['quit', 'close', 'destroy', 'end', 'disconnect', 'stop', 'tryShutdown', 'shutdown', 'terminate', 'cancel'];

export { packageOf } from '../shared/frames';

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
