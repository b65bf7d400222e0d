// A job consumer on RabbitMQ with amqplib. On SIGTERM it closes its HTTP server; the AMQP
// connection (its socket and heartbeat timers) is never closed.
const http = require('node:http');
const amqp = require('amqplib');

async function start() {
  const connection = await amqp.connect(process.env.AMQP_URL);
  const channel = await connection.createChannel();
  await channel.assertQueue('emails');
  await channel.consume('emails', (msg) => channel.ack(msg));

  const server = http.createServer((req, res) => {
    channel.sendToQueue('emails', Buffer.from(req.url));
    res.end('queued');
  });
  server.listen(0, '127.0.0.1', () => console.log('listening'));

  process.on('SIGTERM', () => {
    console.log('shutting down');
    server.close();
  });
}

start();
