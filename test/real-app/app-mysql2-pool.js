// An API on a mysql2 pool (the promise API). On SIGTERM the HTTP server closes; the pool is
// never ended, so its connection keeps the process alive.
const http = require('node:http');
const mysql = require('mysql2/promise');

const pool = mysql.createPool({ uri: process.env.MYSQL_URL, connectionLimit: 4 });

const server = http.createServer(async (req, res) => {
  const [rows] = await pool.query('SELECT 1 AS ok');
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
