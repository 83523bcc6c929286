import { ReasonCode } from '@mqtt-sessions/protocol';

/**
 * Why the bytes of a packet from a client break the specification, with the reason code the
 * server answers with: 0x81 (Malformed Packet) when the bytes cannot be read as the packet they
 * claim to be, 0x82 (Protocol Error) when they can but break a rule about what may be sent
 * (MQTT 5 section 4.13). An MQTT 3.1.1 client has its connection closed either way.
 */
export class WireError extends Error {
  override readonly name = 'WireError';
  readonly code: number;

  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

export function malformed(message: string): WireError {
  return new WireError(ReasonCode.MalformedPacket, message);
}

export function protocolError(message: string): WireError {
  return new WireError(ReasonCode.ProtocolError, message);
}
