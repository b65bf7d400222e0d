import type { Trace } from '../core/trace';
import { UsageError } from './args';

/** shutdown-trace view <trace> [--port N]: placeholder until the viewer server lands. */
export async function runView(args: string[], read: (f: string) => Trace): Promise<number> {
  const file = args.find((a) => !a.startsWith('--'));
  if (!file) throw new UsageError('view needs a trace file');
  read(file);
  throw new UsageError('view is not available yet');
}
