// Aedes under test: `node bench/aedes-server.mjs --port <p> [--concurrency <n>] [--id <node id>]
// [--persistence memory|redis] [--mq memory|redis] [--redis-url <url> --redis-prefix <prefix>]`,
// MQTT over TCP on 127.0.0.1.
// - Persistence is in memory by default, else aedes-persistence-redis with every key under the
//   prefix.
// - Messages stay in the process by default (mqemitter). With `--mq redis`, mqemitter-redis carries
//   every message between brokers through Redis pub/sub, with channels under the prefix so that runs
//   do not hear each other: with `--persistence redis` too, Aedes' documented way to run several
//   brokers as one (bench/cluster.ts starts two).
// Started by bench/run.ts and bench/cluster.ts, each broker in its own process.
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { Aedes } from 'aedes';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    id: { type: 'string' },
    concurrency: { type: 'string', default: '100' },
    persistence: { type: 'string', default: 'memory' },
    mq: { type: 'string', default: 'memory' },
    'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
    'redis-prefix': { type: 'string', default: 'aedes:' },
  },
});

/** Both Redis packages take ioredis options, not a URL: host, port, db and password. */
function redisOptions(url) {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    db: Number(parsed.pathname.slice(1) || 0),
    ...(parsed.password === '' ? {} : { password: decodeURIComponent(parsed.password) }),
  };
}

const concurrency = Number(values.concurrency);
const prefix = values['redis-prefix'];
const options = { concurrency, ...(values.id === undefined ? {} : { id: values.id }) };
if (values.persistence === 'redis') {
  const { default: aedesPersistenceRedis } = await import('aedes-persistence-redis');
  // ioredis puts the prefix before every key, so brokers sharing the server do not see each other.
  options.persistence = aedesPersistenceRedis({
    ...redisOptions(values['redis-url']),
    keyPrefix: prefix,
  });
} else if (values.persistence !== 'memory') {
  throw new Error(`--persistence ${values.persistence}: memory or redis`);
}
if (values.mq === 'redis') {
  const { default: mqemitterRedis } = await import('mqemitter-redis');
  options.mq = new mqemitterRedis.MQEmitterRedisPrefix(prefix, {
    ...redisOptions(values['redis-url']),
    concurrency,
  });
} else if (values.mq !== 'memory') {
  throw new Error(`--mq ${values.mq}: memory or redis`);
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
