// What a program can observe of real library classes: instanceof, class identity, subclassing,
// and the source of their methods. Traced and plain runs must print the same.
const Redis = require('ioredis');
const grpc = require('@grpc/grpc-js');
const cron = require('node-cron');
const { Server: IOServer } = require('socket.io');
const { Pool, Client } = require('pg');
const { Worker, Queue } = require('bullmq');
const knex = require('knex');
const Bull = require('bull');
const schedule = require('node-schedule');
const mysql = require('mysql2');
const { Sequelize } = require('sequelize');
const chokidar = require('chokidar');

const fts = Function.prototype.toString;
const out = [];
const check = (name, C, make) => {
  const o = make();
  const proto = Object.getPrototypeOf(o);
  const methods = Object.getOwnPropertyNames(C.prototype).filter((k) => {
    const d = Object.getOwnPropertyDescriptor(C.prototype, k);
    return d && typeof d.value === 'function';
  });
  out.push(`${name}: instanceof=${o instanceof C} constructor===${o.constructor === C} proto===${proto === C.prototype} name=${C.name} length=${C.length} methods=${methods.length}`);
  for (const m of methods.slice(0, 40)) {
    const f = C.prototype[m];
    out.push(`  ${m}: ${f.name}/${f.length} proto=${Object.prototype.hasOwnProperty.call(f, 'prototype')} src=${fts.call(f).length}:${fts.call(f).slice(0, 40).replace(/\s+/g, ' ')}`);
  }
  return o;
};
const lazy = { lazyConnect: true, enableOfflineQueue: false };
check('ioredis Redis', Redis, () => new Redis(lazy)).disconnect();
class Cache extends Redis {}
const c = new Cache(lazy);
out.push(`subclass: ${c instanceof Redis} ${c instanceof Cache} ${Object.getPrototypeOf(Cache) === Redis} ${c.constructor === Cache}`);
c.disconnect();
const srv = check('grpc Server', grpc.Server, () => new grpc.Server());
srv.forceShutdown();
check('node-cron task', cron.schedule('* * * * *', () => {}).constructor, () => cron.schedule('* * * * *', () => {}, { scheduled: false }));
for (const t of cron.getTasks ? cron.getTasks().values() : []) t.destroy?.();
check('socket.io Server', IOServer, () => new IOServer()).close();
check('pg Pool', Pool, () => new Pool()).end();
check('pg Client', Client, () => new Client());
check('knex client', knex({ client: 'pg' }).client.constructor, () => knex({ client: 'pg' }).client);
// EventEmitter classes that never call EventEmitter's constructor: the preload wraps their methods.
const job = check('node-schedule Job', schedule.Job, () => new schedule.Job(() => {}));
job.schedule(new Date(Date.now() + 3600e3));
out.push(`  after a call: ${Object.getOwnPropertyNames(schedule.Job.prototype).map((k) => `${k}:${fts.call(schedule.Job.prototype[k]).length}`).join(' ')}`);
job.cancel();
const q = check('bull Queue', Bull, () => new Bull('identity', { redis: { lazyConnect: true } }));
out.push(`  bull: ${q instanceof Bull} ${Object.getPrototypeOf(Bull.prototype) === require('events').prototype}`);
// Made without a server: no connection is attempted by these constructors.
check('mysql2 Pool', mysql.createPool({ host: '127.0.0.1' }).constructor, () => mysql.createPool({ host: '127.0.0.1' }));
class Db extends Sequelize {}
check('sequelize Sequelize', Sequelize, () => new Db('postgres://u@127.0.0.1:1/db', { logging: false }));
out.push(`  subclass: ${new Db('postgres://u@127.0.0.1:1/db', { logging: false }) instanceof Sequelize}`);
const w = check('chokidar FSWatcher', chokidar.FSWatcher, () => new chokidar.FSWatcher({ persistent: false }));
w.close();
out.push(`bullmq: ${typeof Worker} ${Worker.name} ${Queue.name} ${fts.call(Worker).slice(0, 30)}`);
// A bundle's class, exported through a getter and named S by the minifier.
const { Cron } = require('croner');
check('croner Cron', Cron, () => new Cron('0 0 1 1 *', { paused: true }, () => {})).stop();
out.push(`  croner: ${Cron.name} ${require('croner').Cron === Cron}`);
// Factories: functions that return a client. The function itself, and what it returns.
const postgres = require('postgres');
const Hapi = require('@hapi/hapi');
const fastify = require('fastify');
const factory = (name, f, again) =>
  out.push(
    `${name}: ${typeof f} name=${f.name} length=${f.length} keys=${Object.keys(f).join(',')} proto=${Object.prototype.hasOwnProperty.call(f, 'prototype')} same=${f === again} src=${fts.call(f).length}:${fts.call(f).slice(0, 40).replace(/\s+/g, ' ')}`,
  );
factory('postgres', postgres, require('postgres'));
factory('hapi server', Hapi.server, require('@hapi/hapi').server);
factory('fastify', fastify, require('fastify'));
out.push(`  fastify self: ${fastify.fastify === fastify} ${fastify.default === fastify}`);
const sql = postgres({ host: '127.0.0.1', port: 1 }); // connects at its first query only
out.push(`  sql: ${typeof sql} keys=${Object.keys(sql).join(',')} end=${typeof sql.end}`);
const hs = Hapi.server({ port: 0 });
out.push(`  hapi: ${hs.constructor.name} ${typeof hs.stop} ${Object.keys(hs).length}`);
console.log(out.join('\n'));
process.exit(0);
