// The NATS service done right: drain the connection (its subscription finishes, then it closes)
// once the HTTP server has closed.
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
    server.close(() => nc.drain());
  });
}

start();
