// An email worker on BullMQ. On SIGTERM it closes the queue it enqueues to, but forgets the
// Worker: its two Redis connections and its timers keep the process alive.
const { Queue, Worker } = require('bullmq');

const { hostname, port } = new URL(process.env.REDIS_URL);
const connection = { host: hostname, port: Number(port) };
// One queue per run when several run at once on one Redis (a worker would take another's job).
const QUEUE = process.env.QUEUE || 'emails';

function startEmailWorker() {
  const worker = new Worker(QUEUE, async (job) => {
    console.log(`sending email to ${job.data.to}`);
  }, { connection });
  worker.on('failed', (job, err) => console.error(`email ${job?.id} failed: ${err.message}`));
  return worker;
}

const queue = new Queue(QUEUE, { connection });
const worker = startEmailWorker();

worker.waitUntilReady().then(async () => {
  await queue.add('welcome', { to: 'ada@example.com' });
  console.log('listening for jobs on emails');
});

process.on('SIGTERM', async () => {
  console.log('shutting down');
  await queue.close();
});
