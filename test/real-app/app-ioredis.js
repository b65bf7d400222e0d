// A web service with a Redis cache. On SIGTERM it closes its HTTP server but forgets the
// Redis client: ioredis keeps its connection open until quit(), so the process never exits.
const http = require('node:http');
const Redis = require('ioredis');

function makeCache() {
  return new Redis(process.env.REDIS_URL);
}

const cache = makeCache();

const server = http.createServer(async (req, res) => {
  const hits = await cache.incr('hits');
  res.end(`hits: ${hits}\n`);
});

server.listen(0, '127.0.0.1', () => console.log('listening'));

process.on('SIGTERM', () => {
  console.log('shutting down');
  server.close(() => console.log('http closed'));
});
