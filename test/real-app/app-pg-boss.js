// A job service on pg-boss. PgBoss builds its internal managers (kept in #private fields) and
// polls with `await setTimeout()` of node:timers/promises; on SIGTERM the service closes its HTTP
// server and forgets boss.stop().
const http = require('http');
const PgBoss = require('pg-boss');

const boss = new PgBoss(process.env.DATABASE_URL);
boss.on('error', (e) => console.error(e.message));

const server = http.createServer(async (req, res) => {
  res.end(String(await boss.send('email', { to: 'a@example.com' })));
});

(async () => {
  await boss.start();
  await boss.createQueue('email');
  await boss.work('email', async ([job]) => console.log(`job ${job.id}`));
  server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
})();

process.on('SIGTERM', () => {
  server.close();
});
