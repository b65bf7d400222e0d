// An order service on NATS: it subscribes to "orders" and publishes from its HTTP handler. On
// SIGTERM it closes its HTTP server but never drains or closes the NATS connection.
const http = require('node:http');
const { connect, StringCodec } = require('nats');

const sc = StringCodec();

async function start() {
  const nc = await connect({ servers: process.env.NATS_URL });
  const sub = nc.subscribe('orders');
  (async () => {
    for await (const m of sub) console.log(`order ${sc.decode(m.data)}`);
  })();

  const server = http.createServer((req, res) => {
    nc.publish('orders', sc.encode(req.url));
    res.end('accepted');
  });
  server.listen(0, '127.0.0.1', () => console.log('listening'));

  process.on('SIGTERM', () => {
    console.log('shutting down');
    server.close();
  });
}

start();
