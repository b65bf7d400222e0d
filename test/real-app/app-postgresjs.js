// An API on postgres.js (porsager/postgres). `postgres()` returns the `sql` function; its
// connections live in closures and open at the first query, in a later tick. On SIGTERM the
// HTTP server closes; `sql` is never ended, so its connection holds the process.
'use strict';
const http = require('node:http');
const postgres = require('postgres');

const sql = postgres(process.env.DATABASE_URL);

const server = http.createServer(async (req, res) => {
  const [row] = await sql`SELECT now() AS now`;
  res.end(JSON.stringify(row));
});

async function start() {
  await sql`SELECT 1`; // fail fast if the database is not there
  server.listen(0, '127.0.0.1', () => console.log('listening'));
}

start();

process.on('SIGTERM', () => {
  console.log('shutting down');
  server.close(() => {
    if (process.env.END_SQL === '1') sql.end({ timeout: 5 });
  });
});
