/**
 * The service's stdout and stderr: echoed byte for byte, and cut into timestamped lines for the
 * trace (a pty's colour and cursor sequences removed from the recorded text; very long lines
 * split).
 */
import { stripTerminalControls } from '../terminal';

export const MAX_LINE_CHARS = 16_384;

export function captureLines(stream: NodeJS.ReadableStream, o: { echo?: NodeJS.WritableStream; ptyText?: boolean; now(): number; line(t: number, text: string): void }): void {
  let partial = '';
  stream.on('data', (chunk: Buffer) => {
    if (o.echo) o.echo.write(chunk);
    const t = o.now();
    const text = partial + (o.ptyText ? stripTerminalControls(chunk.toString('utf8')) : chunk.toString('utf8'));
    const lines = text.split('\n');
    partial = lines.pop()!;
    for (const l of lines) o.line(t, l);
    if (partial.length > MAX_LINE_CHARS) {
      o.line(t, partial);
      partial = '';
    }
  });
  stream.on('end', () => {
    if (partial) o.line(o.now(), partial);
    partial = '';
  });
}
