// A nightly-export service on node-schedule. Its SIGTERM handler closes the HTTP server but
// never cancels the job; node-schedule's Job takes EventEmitter's prototype without calling its
// constructor, and its timer (through long-timeout) keeps the process alive.
const http = require('http');
const schedule = require('node-schedule');

let runs = 0;
const job = schedule.scheduleJob('*/10 * * * * *', () => runs++);

const server = http.createServer((req, res) => res.end(`runs=${runs} next=${job.nextInvocation()}`));
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));

process.on('SIGTERM', () => {
  server.close();
});
