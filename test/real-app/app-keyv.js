// A cache on Keyv with its Redis store. @keyv/redis makes its node-redis client inside its
// constructor; node-redis returns an object made with Object.create() over the RedisClient.
// On SIGTERM the HTTP server closes; the cache is disconnected only when DISCONNECT=1.
'use strict';
const http = require('node:http');
const { default: Keyv } = require('keyv');
const { default: KeyvRedis } = require('@keyv/redis');

const cache = new Keyv({ store: new KeyvRedis(process.env.REDIS_URL) });

const server = http.createServer(async (req, res) => res.end(`hits: ${(await cache.get('hits')) ?? 0}`));

cache.set('hits', 1).then(() => server.listen(0, '127.0.0.1', () => console.log('listening')));

process.on('SIGTERM', () => {
  console.log('shutting down');
  server.close();
  if (process.env.DISCONNECT === '1') cache.disconnect();
});
