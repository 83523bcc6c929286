import type { AuthProperties } from '@mqtt-sessions/runtime-default';
import type { IAuthPacket } from 'mqtt-packet';
import type { ConnectionState } from '../context.js';

/** Sends AUTH with the connection's Authentication Method (MQTT 5 section 4.12). */
export function sendAuth(
  connection: ConnectionState,
  reasonCode: number,
  properties: AuthProperties,
): void {
  const packet: IAuthPacket = {
    cmd: 'auth',
    reasonCode,
    properties: { ...properties, authenticationMethod: connection.authenticationMethod as string },
  };
  connection.send(packet);
}
