// The Koa API done right: close the server that app.listen() returned.
const Koa = require('koa');

const app = new Koa();
app.use((ctx) => {
  ctx.body = { ok: true };
});

const server = app.listen(0, '127.0.0.1', () => console.log('listening'));

process.on('SIGTERM', () => {
  console.log('shutting down');
  server.close();
});
