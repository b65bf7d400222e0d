// TypeScript: the leak's creation site must point at this file (source-mapped), line 7.
import http from 'node:http';
const server = http.createServer((_req, res) => res.end('ok'));
server.listen(0, '127.0.0.1', () => console.log('listening'));
type Beat = { n: number };
const beat: Beat = { n: 0 };
const heartbeat: NodeJS.Timeout = setInterval(() => beat.n++, 1000);
process.on('SIGTERM', () => {
  console.log('closing');
  server.close();
});
export { heartbeat };
