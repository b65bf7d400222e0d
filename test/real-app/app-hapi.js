// A hapi service. `Hapi.server()` makes the HTTP server and `start()` listens on it. The
// SIGTERM handler only logs unless STOP_SERVER=1, when it stops hapi as its docs say.
'use strict';
const Hapi = require('@hapi/hapi');

async function main() {
  const server = Hapi.server({ port: 0, host: '127.0.0.1' });
  server.route({ method: 'GET', path: '/', handler: () => 'ok' });
  await server.start();
  console.log('listening');
  process.on('SIGTERM', async () => {
    console.log('shutting down');
    if (process.env.STOP_SERVER === '1') await server.stop({ timeout: 1000 });
  });
}

main();
