// The gRPC service done right: tryShutdown() lets in-flight calls finish, then it exits.
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const definition = protoLoader.loadSync(path.join(__dirname, 'protos', 'greeter.proto'));
const { greeter } = grpc.loadPackageDefinition(definition);

function startServer() {
  const server = new grpc.Server();
  server.addService(greeter.Greeter.service, {
    sayHello: (call, callback) => callback(null, { message: `Hello ${call.request.name}` }),
  });
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err;
    console.log(`listening on ${port}`);
  });
  return server;
}

const server = startServer();

process.on('SIGTERM', () => {
  console.log('shutting down');
  server.tryShutdown((err) => console.log(err ? `shutdown error: ${err.message}` : 'bye'));
});
