// A clustered HTTP service: the primary forks two workers and, on SIGTERM, asks each to stop.
// Each worker closes its HTTP server but never quits its Redis client, so neither exits and
// the primary waits for them until the deadline.
const cluster = require('node:cluster');
const http = require('node:http');
const Redis = require('ioredis');

if (cluster.isPrimary) {
  let ready = 0;
  for (let i = 0; i < 2; i++) {
    cluster.fork().on('listening', () => {
      if (++ready === 2) console.log('listening');
    });
  }
  cluster.on('exit', (worker, code, signal) => console.log(`worker ${worker.process.pid} exited (${signal ?? code})`));
  process.on('SIGTERM', () => {
    console.log('primary: stopping workers');
    for (const worker of Object.values(cluster.workers)) worker.kill('SIGTERM');
  });
} else {
  const redis = new Redis(process.env.REDIS_URL);
  const server = http.createServer(async (req, res) => {
    res.end(`hits: ${await redis.incr('hits')}\n`);
  });
  server.listen(0, '127.0.0.1');
  process.on('SIGTERM', () => {
    console.log(`worker ${process.pid}: closing`);
    server.close();
  });
}
