'use strict';
// Fixture for the code-server e2e test: a small HTTP service whose SIGTERM handler closes the
// server but forgets a timer, so the process never exits on its own.
const http = require('http');

const server = http.createServer((req, res) => {
  res.end('ok\n');
});

server.listen(0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

// The leak the test looks for: nobody clears this interval on shutdown.
const cacheRefresher = setInterval(() => {}, 1000); // e2e: leaked interval

process.on('SIGTERM', () => {
  console.log('SIGTERM received, closing server');
  server.close(() => console.log('server closed'));
});
