// An email queue on bull (v3 API) against Redis. On SIGTERM the HTTP server closes, the queue
// does not: bull's Queue inherits EventEmitter's prototype without calling its constructor, and
// its three ioredis clients and its timers keep the process alive.
const http = require('http');
const Queue = require('bull');

const emails = new Queue('emails', process.env.REDIS_URL);
emails.process(async (job) => ({ sent: job.data.to }));

const server = http.createServer(async (req, res) => {
  const job = await emails.add({ to: 'a@example.com' });
  res.end(String(job.id));
});
emails.isReady().then(() => server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`)));

process.on('SIGTERM', () => {
  server.close();
});
