// A resource pool on tarn, the pool library knex is built on. knex is required first, so tarn
// is already loaded (by knex) when this file requires it. The pool reaps idle resources on an
// interval it starts in a later tick, after the first acquire; it is never destroyed.
require('knex');
const { Pool } = require('tarn');

const pool = new Pool({ create: () => ({ id: 1 }), destroy: () => {}, min: 0, max: 2 });
pool.acquire().promise.then((resource) => pool.release(resource));
console.log('listening: pool ready');

process.on('SIGTERM', () => {
  console.log('shutting down');
});
