// The same API, closed on SIGTERM.
const Fastify = require('fastify');

const app = Fastify({ logger: false });
app.get('/health', async () => ({ ok: true }));

app.listen({ port: 0, host: '127.0.0.1' }).then((address) => console.log(`listening ${address}`));

process.on('SIGTERM', () => {
  app.close().then(() => console.log('closed'));
});
