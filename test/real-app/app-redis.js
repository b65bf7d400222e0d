// Session counter on node-redis. The client is connected at start-up and never closed.
const http = require('node:http');
const { createClient } = require('redis');

const client = createClient({ url: process.env.REDIS_URL });
client.on('error', (err) => console.error('redis error', err));

async function main() {
  await client.connect();
  const server = http.createServer(async (req, res) => {
    res.end(`visits: ${await client.incr('visits')}\n`);
  });
  server.listen(0, '127.0.0.1', () => console.log('listening'));
  process.on('SIGTERM', () => {
    console.log('shutting down');
    server.close();
  });
}

main();
