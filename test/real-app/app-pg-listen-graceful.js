// The notification dispatcher done right: UNLISTEN and end the client on SIGTERM.
const { Client } = require('pg');

async function listenForJobs() {
  const client = new Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  client.on('notification', (msg) => console.log(`job ${msg.payload}`));
  await client.query('LISTEN new_job');
  return client;
}

const ready = listenForJobs();
ready.then(() => console.log('listening for new_job'));

process.on('SIGTERM', async () => {
  console.log('shutting down');
  const client = await ready;
  await client.query('UNLISTEN *');
  await client.end();
});
