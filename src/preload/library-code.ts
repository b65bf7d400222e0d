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
