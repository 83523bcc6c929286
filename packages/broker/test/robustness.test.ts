/**
 * Transport robustness: a client that stops reading, and frames larger than the packet limit.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { createPool } from '@mqtt-sessions/pool';
import { generate } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { type Listener, SocketSet, startListeners } from '../src/listeners.js';
import type { BrokerOptions } from '../src/options.js';

const brokerOptions = (over: Partial<BrokerOptions>): BrokerOptions =>
  ({
    host: '127.0.0.1',
    port: false,
    tlsPort: false,
    wsPort: false,
    wssPort: false,
    wsPath: '/mqtt',
    ...over,
  }) as BrokerOptions;

function waitFor(done: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  return new Promise((resolve) => {
    const tick = () => {
      if (done()) resolve(true);
      else if (Date.now() > until) resolve(false);
      else setTimeout(tick, 10);
    };
    tick();
  });
}

describe('review findings: broker transports', () => {
  it('F9: a TCP connection the server closed stays open for ever when the client does not read (destroySoon waits for finish)', async () => {
    const pool = createPool();
    const sockets = new SocketSet();
    const [listener] = (await startListeners(
      pool,
      brokerOptions({ port: 0 }),
      sockets,
    )) as Listener[];
    const client: Socket = netConnect((listener as Listener).port(), '127.0.0.1');
    let got = 0;
    client.on('data', (chunk) => {
      got += chunk.length;
    });
    await new Promise((resolve) => client.once('connect', resolve));
    client.write(
      generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clientId: 'sink',
        clean: true,
        keepalive: 0,
      }),
    );
    client.write(
      generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'big', qos: 0 }] }),
    );
    await waitFor(() => got >= 9, 2000); // CONNACK + SUBACK
    client.pause(); // stops reading
    const payload = Buffer.alloc(1024 * 1024, 1);
    for (let i = 0; i < 60; i++) void pool.serverPublish('big', payload);
    await new Promise((resolve) => setTimeout(resolve, 200));
    void pool.killSession('sink');
    const gone = await waitFor(() => sockets.size === 0, 1500);
    const [lingering] = [...(sockets as unknown as { sockets: Set<Socket> }).sockets];
    const state = lingering && { ended: lingering.writableEnded, destroyed: lingering.destroyed };
    client.destroy();
    await listener?.close();
    expect(state).toBeUndefined(); // fails with { ended: true, destroyed: false }
    expect(gone).toBe(true);
  }, 10_000);

  it('F10: a WebSocket frame is buffered whole (up to 256 MiB) before the packet size limit is checked', async () => {
    const pool = createPool({ session: { maxIncomingPacketSize: 1024 } });
    const sockets = new SocketSet();
    const [listener] = (await startListeners(
      pool,
      brokerOptions({ wsPort: 0 }),
      sockets,
    )) as Listener[];
    const raw: Socket = netConnect((listener as Listener).port(), '127.0.0.1');
    let text = '';
    let closed = false;
    raw.on('data', (chunk) => {
      text += chunk.toString('latin1');
    });
    raw.on('close', () => {
      closed = true;
    });
    raw.on('error', () => {});
    await new Promise((resolve) => raw.once('connect', resolve));
    raw.write(
      'GET /mqtt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
        'Sec-WebSocket-Protocol: mqtt\r\n\r\n',
    );
    await waitFor(() => text.includes('\r\n\r\n'), 2000);
    expect(text).toContain('101');
    const frame = (payload: Buffer, declared = payload.length) => {
      const header = Buffer.alloc(14);
      header[0] = 0x82; // FIN, binary
      header[1] = 0x80 | 127; // masked, 64-bit length
      header.writeBigUInt64BE(BigInt(declared), 2);
      // mask key 0: the payload goes as is
      return Buffer.concat([header, payload]);
    };
    raw.write(
      frame(
        generate({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 5,
          clientId: 'ws',
          clean: true,
          keepalive: 0,
        }),
      ),
    );
    await waitFor(() => text.length > 200, 300);
    // A PUBLISH declaring 100 MB, in a frame declaring 200 MB; only 4 MB of it sent.
    const declaredPacket = Buffer.from([0x30, 0x80, 0xad, 0xe2, 0x2f]); // remaining length 100,000,000
    const body = Buffer.concat([declaredPacket, Buffer.alloc(4 * 1024 * 1024)]);
    raw.write(frame(body, 200 * 1024 * 1024));
    // Over TCP the pool cuts such a client off at the fixed header; here nothing happens.
    const cut = await waitFor(() => closed, 1500);
    raw.destroy();
    await listener?.close();
    expect(cut).toBe(true);
  }, 10_000);
});
