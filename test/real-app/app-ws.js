// A WebSocket echo server with a connected feed client in the same process. On SIGTERM it
// calls wss.close(), which (ws 8) stops accepting but leaves open connections alone.
const { WebSocketServer, WebSocket } = require('ws');

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });

wss.on('connection', (ws) => {
  ws.on('message', (data) => ws.send(data));
});

wss.on('listening', () => {
  const feed = new WebSocket(`ws://127.0.0.1:${wss.address().port}`);
  feed.on('open', () => console.log('listening'));
});

process.on('SIGTERM', () => {
  console.log('shutting down');
  wss.close();
});
