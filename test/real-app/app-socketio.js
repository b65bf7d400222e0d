// A socket.io server with a client of its own (a relay that joins the same hub). On SIGTERM
// the HTTP server is closed but neither io.close() nor client.close() is called: the
// websocket connection between them keeps the process alive.
const http = require('node:http');
const { Server } = require('socket.io');
const { io: connect } = require('socket.io-client');

const httpServer = http.createServer();
const io = new Server(httpServer);

io.on('connection', (socket) => {
  socket.on('ping', (ack) => ack('pong'));
});

httpServer.listen(0, '127.0.0.1', () => {
  const { port } = httpServer.address();
  const relay = connect(`http://127.0.0.1:${port}`, { transports: ['websocket'] });
  relay.on('connect', () => console.log('listening'));
});

process.on('SIGTERM', () => {
  console.log('shutting down');
  httpServer.close();
});
