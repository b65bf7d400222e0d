// An API on a pg Pool. On SIGTERM the HTTP server closes; the pool is never ended, so its idle
// client (kept for idleTimeoutMillis, 10 s) holds the process past any short grace period.
const http = require('node:http');
const { Pool } = require('pg');

const pool = new Pool({ connectionString: process.env.DATABASE_URL });

const server = http.createServer(async (req, res) => {
  const { rows } = await pool.query('SELECT now() AS now');
  res.end(JSON.stringify(rows[0]));
});

async function start() {
  await pool.query('SELECT 1'); // fail fast if the database is not there
  server.listen(0, '127.0.0.1', () => console.log('listening'));
}

start();

process.on('SIGTERM', () => {
  console.log('shutting down');
  server.close();
});
