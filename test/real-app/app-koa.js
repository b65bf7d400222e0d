// A Koa API. On SIGTERM it logs and returns: the HTTP server that app.listen() returned is never
// closed. Koa's Application has no close() of its own; the server is what must be closed.
const Koa = require('koa');

const app = new Koa();
app.use((ctx) => {
  ctx.body = { ok: true };
});

app.listen(0, '127.0.0.1', () => console.log('listening'));

process.on('SIGTERM', () => {
  console.log('shutting down');
});
