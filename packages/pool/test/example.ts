import { createServer, type Server } from 'node:net';
import { createPool } from '@mqtt-sessions/pool';

export const pool = createPool(); // the default runtime lets everybody in: for development only

/** An MQTT server on TCP: the pool speaks MQTT, node:net moves the bytes. */
export function listen(port = 1883): Server {
  return createServer(pool.handle).listen(port);
}

// Server code takes part too: it subscribes and publishes without a connection.
export const readings: string[] = [];
pool.serverSubscribe('sensors/+/temperature', (message) => {
  readings.push(`${message.bindings.plus[0]}: ${message.payload}`);
  pool.serverPublish(`sensors/${message.bindings.plus[0]}/ack`, 'thanks', { qos: 1 });
});
