// service.js in TypeScript, for runners that compile on the fly (npx tsx service.ts).
import http from 'node:http';
import Redis from 'ioredis';

const redis = new Redis(process.env.REDIS_URL!);

const server = http.createServer(async (_req, res) => {
  res.end(`hits: ${await redis.incr('hits')}\n`);
});

server.listen(0, '127.0.0.1', () => console.log(`listening (pid ${process.pid})`));

let stopping = false;
function shutdown(signal: NodeJS.Signals) {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: shutting down`);
  server.close(() => void redis.quit());
}

process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
