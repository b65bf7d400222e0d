// A correct graceful shutdown: one idempotent handler, server.close(), the loop drains, exit 0.
const http = require('http');
const server = http.createServer((req, res) => res.end('ok'));
server.listen(0, '127.0.0.1', () => console.log('listening'));
if (process.env.FIXTURE_SECRET) console.log(`secret is ${process.env.FIXTURE_SECRET}`);
if (process.env.FROM_LAUNCH) console.log(`FROM_LAUNCH=${process.env.FROM_LAUNCH} args=${process.argv.slice(2).join(',')}`);
let stopping = false;
const stop = (sig) => {
  if (stopping) return;
  stopping = true;
  console.log(`shutting down on ${sig}`);
  server.close(() => console.log('closed'));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
