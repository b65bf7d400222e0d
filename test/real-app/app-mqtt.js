// A telemetry publisher on mqtt whose broker is down: the client retries every second. On
// SIGTERM the HTTP server closes and the client is never ended. mqtt's client copies
// EventEmitter's methods in and never calls its constructor.
const http = require('http');
const mqtt = require('mqtt');

const client = mqtt.connect(process.env.MQTT_URL || 'mqtt://127.0.0.1:1', { reconnectPeriod: 1000, connectTimeout: 500 });
client.on('error', () => {});

const server = http.createServer((req, res) => {
  client.publish('hits', req.url);
  res.end('ok');
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));

process.on('SIGTERM', () => {
  server.close();
});
