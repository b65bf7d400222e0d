// A job dispatcher woken by Postgres notifications (LISTEN new_job). The dedicated client
// is never ended, so the connection keeps the process alive after SIGTERM.
const { Client } = require('pg');

let stopping = false;

async function listenForJobs() {
  const client = new Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  client.on('notification', (msg) => {
    if (!stopping) console.log(`job ${msg.payload}`);
  });
  await client.query('LISTEN new_job');
  return client;
}

listenForJobs().then(() => console.log('listening for new_job'));

process.on('SIGTERM', () => {
  console.log('shutting down');
  stopping = true;
});
