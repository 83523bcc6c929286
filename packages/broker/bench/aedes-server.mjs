// Aedes under test: `node bench/aedes-server.mjs --port <p> [--concurrency <n>]
// [--persistence memory|redis --redis-url <url> --redis-prefix <prefix>]`, MQTT over TCP on
// 127.0.0.1. Persistence is in memory by default, else aedes-persistence-redis with every key
// under the prefix; mqemitter stays in memory either way (one broker process, nothing to share).
// Started by bench/run.ts in its own process.
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { Aedes } from 'aedes';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    concurrency: { type: 'string', default: '100' },
    persistence: { type: 'string', default: 'memory' },
    'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
    'redis-prefix': { type: 'string', default: 'aedes:' },
  },
});

/** aedes-persistence-redis takes ioredis options, not a URL: host, port, db and password. */
async function redisPersistence(url, keyPrefix) {
  const { default: aedesPersistenceRedis } = await import('aedes-persistence-redis');
  const parsed = new URL(url);
  return aedesPersistenceRedis({
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    db: Number(parsed.pathname.slice(1) || 0),
    ...(parsed.password === '' ? {} : { password: decodeURIComponent(parsed.password) }),
    // ioredis puts it before every key, so brokers sharing the server do not see each other.
    keyPrefix,
  });
}

const options = { concurrency: Number(values.concurrency) };
if (values.persistence === 'redis') {
  options.persistence = await redisPersistence(values['redis-url'], values['redis-prefix']);
} else if (values.persistence !== 'memory') {
  throw new Error(`--persistence ${values.persistence}: memory or redis`);
}
const aedes = await Aedes.createBroker(options);
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
