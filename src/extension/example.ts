/**
 * The walkthrough's runnable example: a small HTTP service whose SIGTERM handler closes the
 * server, names its phases, and forgets an interval. Written to the extension's storage, never
 * into the user's project.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const EXAMPLE_NAME = 'shutdown-trace-example.js';
/** Short enough that the walkthrough's run ends in seconds. */
export const EXAMPLE_GRACE_MS = 3000;

export const EXAMPLE_SOURCE = `// Shutdown Trace example: an HTTP service whose SIGTERM handler forgets a timer.
// Click "Run with shutdown trace" above process.on('SIGTERM') below (or the editor-title button).
const http = require('node:http');
const dc = require('node:diagnostics_channel');

// Name your own shutdown steps: they show up as phases on the timeline.
const phase = dc.tracingChannel('shutdown-trace:phase');

const server = http.createServer((req, res) => res.end('ok\\n'));
server.listen(0, '127.0.0.1', () => console.log(\`listening on 127.0.0.1:\${server.address().port}\`));

// Refreshes a cache every second. Nobody clears it on shutdown: that is the leak.
const refresh = setInterval(() => {}, 1000);

process.on('SIGTERM', async () => {
  console.log('SIGTERM: shutting down');
  await phase.tracePromise(async () => {
    await phase.tracePromise(() => new Promise((done) => server.close(done)), { name: 'close http server' });
    await phase.tracePromise(() => new Promise((done) => setTimeout(done, 150)), { name: 'flush logs' });
  }, { name: 'graceful shutdown' });
  // The fix: clearInterval(refresh);
});
`;

/** Writes the example if it is missing (a user's edits to it are kept); returns its path. */
export function ensureExample(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, EXAMPLE_NAME);
  if (!fs.existsSync(file)) fs.writeFileSync(file, EXAMPLE_SOURCE);
  return file;
}
