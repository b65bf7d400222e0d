/** What marks library code: the package a file belongs to, and the methods that release a library object. */

export const RELEASE_METHODS = ['quit', 'close', 'destroy', 'end', 'disconnect', 'stop', 'tryShutdown', 'shutdown', 'terminate'];

export function packageOf(file: string): string | undefined {
  const i = file.lastIndexOf('/node_modules/');
  if (i === -1) return undefined;
  const rest = file.slice(i + 14).split('/');
  return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
}
