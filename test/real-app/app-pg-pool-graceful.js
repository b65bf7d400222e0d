// The pg API done right: end the pool once the HTTP server has closed.
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
  server.close(() => pool.end());
});
