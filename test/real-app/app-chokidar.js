// Reloads its configuration when a file under config/ changes, with chokidar. On SIGTERM it
// closes its HTTP server but never closes the watcher, whose fs.watch handles (one for the
// directory, one for each file) keep the process alive.
const path = require('path');
const http = require('http');
const chokidar = require('chokidar');

const configDir = path.join(__dirname, 'config');
const watcher = chokidar.watch(configDir, { ignoreInitial: true });
watcher.on('change', (file) => console.log(`reloading ${path.basename(file)}`));

const server = http.createServer((req, res) => res.end('ok'));
watcher.on('ready', () => {
  server.listen(0, '127.0.0.1', () => console.log('listening'));
});

process.on('SIGTERM', () => {
  server.close();
});
