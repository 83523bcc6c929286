import type { IConnectPacket } from 'mqtt-packet';
import type { ConnectionInfo, DefaultUserContext } from '../src/index.js';
import { createDefaultRuntime } from '../src/index.js';

/** A v5 CONNECT resuming a session (Clean Start 0), with the given fields. */
export function connectPacket(fields: Partial<IConnectPacket> = {}): IConnectPacket {
  return { cmd: 'connect', clientId: 'client-1', protocolVersion: 5, clean: false, ...fields };
}

/** The connection the CONNECT arrives on. */
export const connection: ConnectionInfo = { peerIp: '192.0.2.7', contextPrefs: {} };

/** A fresh user context of the default runtime, optionally with a user already logged in. */
export function userContext(fields: Partial<DefaultUserContext> = {}): DefaultUserContext {
  const context = createDefaultRuntime().newUserContext({
    pool: 'default',
    clientId: 'client-1',
    routingId: 'r:abcdefghijklmnopqrst',
    peerIp: '198.51.100.1',
    contextPrefs: {},
  });
  return { ...context, ...fields };
}
