/**
 * Where process.stdin was first asked for. Node makes the stream on the first read of its getter,
 * after the tool loaded, so that line is the one that started using it:
 * `readline.createInterface({ input: process.stdin })`, `process.stdin.on('data', …)`. The getter
 * is replaced by one that records that first stack and returns what Node's returns; the property
 * keeps its attributes, and the stream itself is not touched.
 */
import { captureSite, type SiteHolder } from './site';
import { disguise } from './native-look';

export function installStdinSite(): () => SiteHolder | undefined {
  const d = Object.getOwnPropertyDescriptor(process, 'stdin');
  const orig = d?.get;
  if (!d || typeof orig !== 'function' || !d.configurable) return () => undefined;
  let site: SiteHolder | undefined;
  let asked = false;
  const get = function stdinGetter(this: unknown) {
    if (!asked) {
      asked = true;
      try {
        site = captureSite(get);
      } catch {}
    }
    return orig.call(this);
  };
  Object.defineProperty(process, 'stdin', { configurable: d.configurable, enumerable: d.enumerable, get: disguise(get, orig), set: d.set });
  return () => site;
}
