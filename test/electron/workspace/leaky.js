// Handles SIGTERM but leaks an interval, so it never exits and is killed at the deadline.
const http = require('http');
const server = http.createServer((req, res) => res.end('ok'));
server.listen(0, '127.0.0.1', () => console.log('listening'));
const heartbeat = setInterval(() => {}, 1000); // line 5: the leak
process.on('SIGTERM', () => {
  console.log('closing');
  server.close();
});
