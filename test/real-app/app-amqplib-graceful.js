// The amqplib consumer done right: stop consuming, then close the channel and the connection.
const http = require('node:http');
const amqp = require('amqplib');

async function start() {
  const connection = await amqp.connect(process.env.AMQP_URL);
  const channel = await connection.createChannel();
  await channel.assertQueue('emails');
  const { consumerTag } = await channel.consume('emails', (msg) => channel.ack(msg));

  const server = http.createServer((req, res) => {
    channel.sendToQueue('emails', Buffer.from(req.url));
    res.end('queued');
  });
  server.listen(0, '127.0.0.1', () => console.log('listening'));

  process.on('SIGTERM', async () => {
    console.log('shutting down');
    server.close();
    await channel.cancel(consumerTag);
    await channel.close();
    await connection.close();
  });
}

start();
