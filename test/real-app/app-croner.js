// A report scheduler on croner, a package shipped as one esbuild bundle: its classes are
// exported through getters (`Cron: () => S`) and the class itself is named `S`. The SIGTERM
// handler logs and returns unless STOP_JOB=1; the job's timer keeps the process alive.
'use strict';
const { Cron } = require('croner');

const job = new Cron('*/10 * * * * *', () => console.log(`report at ${new Date().toISOString()}`));
console.log('listening: reports every 10 s');

process.on('SIGTERM', () => {
  console.log('shutting down');
  if (process.env.STOP_JOB === '1') job.stop();
});
