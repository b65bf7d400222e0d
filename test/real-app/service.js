// A small HTTP service with a Redis cache that shuts down cleanly: stop accepting, finish,
// quit Redis, and let the event loop end (exit code 0). Run under runners (nodemon, sh -c).
const http = require('node:http');
const Redis = require('ioredis');

const redis = new Redis(process.env.REDIS_URL);

const server = http.createServer(async (req, res) => {
  res.end(`hits: ${await redis.incr('hits')}\n`);
});

server.listen(0, '127.0.0.1', () => console.log(`listening (pid ${process.pid})`));

let stopping = false;
function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: shutting down`);
  server.close(() => redis.quit());
}

process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
