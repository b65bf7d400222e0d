// The mysql2 API done right: end the pool once the HTTP server has closed.
const http = require('node:http');
const mysql = require('mysql2/promise');

const pool = mysql.createPool({ uri: process.env.MYSQL_URL, connectionLimit: 4 });

const server = http.createServer(async (req, res) => {
  const [rows] = await pool.query('SELECT 1 AS ok');
  res.end(JSON.stringify(rows[0]));
});

async function start() {
  await pool.query('SELECT 1');
  server.listen(0, '127.0.0.1', () => console.log('listening'));
}

start();

process.on('SIGTERM', () => {
  console.log('shutting down');
  server.close(() => pool.end());
});
