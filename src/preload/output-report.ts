/**
 * Output attribution for processes that share their parent's stdout and stderr (cluster workers,
 * forked children with inherited stdio): the launcher reads one pipe and cannot tell who wrote a
 * line. Each write is reported with its first characters, so the launcher can file the line
 * under the pid that wrote it. Only the report is sent; the write itself is untouched.
 *
 * process.stdout/stderr are created lazily by Node; creating them here would open handles the
 * service never asked for, so the streams are wrapped when the service first reads them.
 */
import { disguise } from './native-look';

const PREFIX = 160;

export function reportOutput(report: (stream: 'stdout' | 'stderr', text: string) => void): void {
  for (const name of ['stdout', 'stderr'] as const) {
    const d = Object.getOwnPropertyDescriptor(process, name);
    if (!d || !d.get || !d.configurable) continue;
    const origGet = d.get;
    let wrapped = false;
    const get = disguise(function (this: unknown) {
      const stream = origGet.call(this) as NodeJS.WriteStream;
      if (!wrapped && stream && typeof stream.write === 'function') {
        wrapped = true;
        try {
          const origWrite = stream.write;
          const write = function (this: unknown, chunk: unknown) {
            try {
              if (typeof chunk === 'string') report(name, chunk.slice(0, PREFIX));
              else if (chunk instanceof Uint8Array) report(name, Buffer.from(chunk.buffer, chunk.byteOffset, Math.min(chunk.byteLength, PREFIX)).toString('utf8'));
            } catch {}
            // eslint-disable-next-line prefer-rest-params
            return origWrite.apply(this, arguments as never);
          };
          stream.write = disguise(write, origWrite) as typeof stream.write;
        } catch {}
      }
      return stream;
    }, origGet);
    Object.defineProperty(process, name, { ...d, get });
  }
}
