// Logs through a pino transport (a worker thread writing to stdout) and calls an upstream API
// with fetch (keep-alive). Neither holds the process: on SIGTERM the HTTP server closes and
// it exits 0 while the idle keep-alive connection and the logger's worker are still there.
const http = require('node:http');
const pino = require('pino');

const logger = pino(pino.transport({ target: 'pino/file', options: { destination: 1 } }));
const upstream = process.env.UPSTREAM_URL;

const server = http.createServer(async (req, res) => {
  const price = await fetch(`${upstream}/price`).then((r) => r.text());
  res.end(price);
});

async function start() {
  const health = await fetch(`${upstream}/health`);
  logger.info({ status: health.status }, 'upstream reachable');
  server.listen(0, '127.0.0.1', () => console.log('listening'));
}

start();

process.on('SIGTERM', () => {
  logger.info('shutting down');
  server.close(() => logger.info('closed'));
});
