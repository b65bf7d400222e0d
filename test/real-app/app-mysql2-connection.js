// A worker with one mysql2 connection (the callback API), opened at start and never closed.
const mysql = require('mysql2');

const connection = mysql.createConnection(process.env.MYSQL_URL);

connection.query('SELECT 1', (err) => {
  if (err) throw err;
  console.log('listening');
});

process.on('SIGTERM', () => {
  console.log('shutting down');
});
