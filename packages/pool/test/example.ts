import { createServer, type Server } from 'node:net';
import { createPool } from '@mqtt-sessions/pool';

export const pool = createPool(); // the default runtime lets everybody in: for development only

/** An MQTT server on TCP: the pool speaks MQTT, node:net moves the bytes. */
export function listen(port = 1883): Server {
  const server = createServer((socket) => {
    const connection = pool.connect(
      { send: (bytes) => socket.write(bytes), close: () => socket.end() },
      { peerIp: socket.remoteAddress, contextPrefs: { origin: 'tcp' } },
    );
    socket.on('data', (chunk) => connection.receive(chunk));
    socket.on('drain', () => connection.drained());
    socket.on('close', () => connection.end());
    socket.on('error', () => socket.destroy());
  });
  return server.listen(port);
}

// Server code takes part too: it subscribes and publishes without a connection.
export const readings: string[] = [];
pool.serverSubscribe('sensors/+/temperature', (message) => {
  readings.push(`${message.bindings.plus[0]}: ${message.payload}`);
  pool.serverPublish(`sensors/${message.bindings.plus[0]}/ack`, 'thanks', { qos: 1 });
});
