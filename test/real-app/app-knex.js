// An API on knex + pg. The first query opens a pooled connection; on SIGTERM only the HTTP
// server is closed, never db.destroy(): the connection and tarn's reaping interval stay.
const http = require('node:http');
const knex = require('knex');

const db = knex({ client: 'pg', connection: process.env.DATABASE_URL });

const server = http.createServer(async (req, res) => {
  const [row] = await db.select(db.raw('now() as now'));
  res.end(JSON.stringify(row));
});

db.raw('select 1').then(() => {
  server.listen(0, '127.0.0.1', () => console.log('listening'));
});

process.on('SIGTERM', () => {
  console.log('shutting down');
  server.close();
});
