// Compiled with tsc (sourceMap: true) and run from its output: node dist/main.js.
import * as http from 'node:http';
import { TtlCache } from './cache';

const pages = new TtlCache<string>(30_000);

const server = http.createServer((req, res) => {
  const key = req.url ?? '/';
  let page = pages.get(key);
  if (!page) {
    page = `<h1>${key}</h1>`;
    pages.set(key, page);
  }
  res.end(page);
});

server.listen(0, '127.0.0.1', () => console.log('listening'));

process.on('SIGTERM', () => {
  console.log('shutting down');
  server.close();
});
