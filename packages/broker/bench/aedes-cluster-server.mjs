// One node of a clustered Aedes for `pnpm bench:cluster`: `node bench/aedes-cluster-server.mjs
// --port <p> --id <node id> --redis-url <url> --redis-prefix <prefix> [--concurrency <n>]`, MQTT
// over TCP on 127.0.0.1. Aedes' documented way to run several brokers as one: mqemitter-redis
// carries every message between them (Redis pub/sub, channels under the prefix, so that runs do not
// hear each other) and aedes-persistence-redis keeps subscriptions, sessions and retained
// messages (keys under the prefix). Started by bench/cluster.ts, two at a time.
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { Aedes } from 'aedes';
import aedesPersistenceRedis from 'aedes-persistence-redis';
import mqemitterRedis from 'mqemitter-redis';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    id: { type: 'string' },
    concurrency: { type: 'string', default: '100' },
    'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
    'redis-prefix': { type: 'string', default: 'aedes:' },
  },
});

// Both take ioredis options, not a URL: host, port, db and password.
const url = new URL(values['redis-url']);
const redis = {
  host: url.hostname,
  port: Number(url.port || 6379),
  db: Number(url.pathname.slice(1) || 0),
  ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
};
const prefix = values['redis-prefix'];
const concurrency = Number(values.concurrency);

const mq = new mqemitterRedis.MQEmitterRedisPrefix(prefix, { ...redis, concurrency });
// ioredis puts the prefix before every key, so brokers sharing the server do not see each other.
const persistence = aedesPersistenceRedis({ ...redis, keyPrefix: prefix });
const aedes = await Aedes.createBroker({
  id: values.id,
  mq,
  persistence,
  concurrency,
});
// Same backlog as the mqtt-sessions listeners.
const server = createServer(aedes.handle);
server.listen({ host: values.host, port: Number(values.port), backlog: 4096 });
const stop = () => {
  server.close();
  aedes.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
