// A report scheduler on node-cron. On SIGTERM it logs and returns; the task is never
// stopped, so its timer keeps the process alive.
const cron = require('node-cron');

function scheduleReports() {
  return cron.schedule('*/10 * * * * *', () => {
    console.log(`report at ${new Date().toISOString()}`);
  });
}

scheduleReports();
console.log('listening: reports every 10 s');

process.on('SIGTERM', () => {
  console.log('shutting down');
});
