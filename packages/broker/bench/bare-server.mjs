// A floor for the connection storm, not a broker: a net server that answers the first packet of
// every connection with a fixed CONNACK and keeps the socket open, holding nothing else. Its memory
// per connection is what Node's net.Socket costs on its own.
//   node bench/bare-server.mjs --port <p>
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } },
});
const CONNACK = Buffer.from([0x20, 0x02, 0x00, 0x00]);
const server = createServer((socket) => {
  socket.once('data', () => socket.write(CONNACK));
  socket.on('error', () => {});
});
server.listen({ host: values.host, port: Number(values.port), backlog: 4096 });
process.once('SIGTERM', () => process.exit(0));
