// Aedes under test: `node bench/aedes-server.mjs --port <p> [--concurrency <n>]`, in-memory
// persistence, MQTT over TCP on 127.0.0.1. Started by bench/run.ts in its own process.
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { Aedes } from 'aedes';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    concurrency: { type: 'string', default: '100' },
  },
});

const aedes = await Aedes.createBroker({ concurrency: Number(values.concurrency) });
// Same backlog as the mqtt-sessions listeners, so the connection storm meets the same kernel queue.
const server = createServer(aedes.handle);
server.listen({ host: values.host, port: Number(values.port), backlog: 4096 });
const stop = () => {
  server.close();
  aedes.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
