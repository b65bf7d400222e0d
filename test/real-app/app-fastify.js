// An API on fastify. fastify() makes its HTTP server at once and listens in a later tick, once
// its plugins have loaded; on SIGTERM this service logs and forgets app.close().
const Fastify = require('fastify');

const app = Fastify({ logger: false });
app.get('/health', async () => ({ ok: true }));

app.listen({ port: 0, host: '127.0.0.1' }).then((address) => console.log(`listening ${address}`));

process.on('SIGTERM', () => {
  console.log('shutting down');
});
