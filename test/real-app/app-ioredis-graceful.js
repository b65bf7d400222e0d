// The same cache service done right: on SIGTERM it stops taking requests and quits Redis.
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
  server.close(async () => {
    await cache.quit();
    console.log('bye');
  });
});
