// An API with Sequelize on PostgreSQL. On SIGTERM the HTTP server closes; sequelize.close() is
// never called, so its pool's connection keeps the process alive.
const http = require('node:http');
const { Sequelize, DataTypes } = require('sequelize');

const sequelize = new Sequelize(process.env.DATABASE_URL, { logging: false });
const Note = sequelize.define('Note', { text: DataTypes.STRING });

async function start() {
  await sequelize.authenticate();
  await Note.sync();
  const server = http.createServer(async (req, res) => res.end(String(await Note.count())));
  server.listen(0, '127.0.0.1', () => console.log('listening'));
  process.on('SIGTERM', () => {
    console.log('shutting down');
    server.close();
  });
}

start();
