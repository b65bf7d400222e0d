// An ES module service: `import` loads the ESM builds of postgres.js and croner, which no
// CommonJS hook sees. On SIGTERM the HTTP server closes; sql is never ended, the job never stopped.
import http from 'node:http';
import postgres from 'postgres';
import { Cron } from 'croner';

const sql = postgres(process.env.DATABASE_URL);
const nightly = new Cron('0 3 * * *', () => console.log('nightly report'));

const server = http.createServer(async (req, res) => {
  const [row] = await sql`SELECT now() AS now`;
  res.end(JSON.stringify(row));
});

await sql`SELECT 1`; // fail fast if the database is not there
server.listen(0, '127.0.0.1', () => console.log(`listening; next report ${nightly.nextRun()?.toISOString()}`));

process.on('SIGTERM', () => {
  console.log('shutting down');
  server.close();
});
