// An HTTP service with an admin console: commands typed on stdin, read with readline. Its SIGTERM
// handler closes the server but not the console, so stdin (a pipe held open) keeps it alive.
'use strict';
const http = require('http');
const readline = require('readline');

const server = http.createServer((req, res) => res.end('ok'));
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (line.trim() === 'status') console.log(`connections: ${server.listening ? 'open' : 'closed'}`);
});

server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.on('SIGTERM', () => {
  server.close();
  if (process.env.CLOSE_CONSOLE === '1') rl.close();
});
