// The service of service.js with one mistake: on SIGTERM it closes its HTTP server but never
// quits Redis, whose connection keeps it alive. Started with `npm run start:leaky` (npm runs it
// through sh -c).
const http = require('node:http');
const Redis = require('ioredis');

const redis = new Redis(process.env.REDIS_URL);

const server = http.createServer(async (req, res) => {
  res.end(`hits: ${await redis.incr('hits')}\n`);
});

server.listen(0, '127.0.0.1', () => console.log(`listening (pid ${process.pid})`));

process.on('SIGTERM', () => {
  console.log('SIGTERM: closing the server');
  server.close();
});
