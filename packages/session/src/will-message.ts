import { forwardedProperties } from '@mqtt-sessions/protocol';
import type { WillMessage } from '@mqtt-sessions/will';
import type { IConnectPacket } from 'mqtt-packet';
import type { ForwardedBytes } from './context.js';

/** The Will of a CONNECT, or undefined when it has none (MQTT 5 section 3.1.3.2). */
export function willOf(connect: IConnectPacket): WillMessage | undefined {
  const will = connect.will;
  if (will === undefined || will === null) return undefined;
  const props = will.properties ?? {};
  const expiry = props.messageExpiryInterval;
  const forwarded = forwardedProperties(props);
  const properties =
    expiry === undefined ? forwarded : { ...forwarded, messageExpiryInterval: expiry };
  return {
    topic: will.topic,
    payload: typeof will.payload === 'string' ? Buffer.from(will.payload) : will.payload,
    qos: will.qos ?? 0,
    retain: will.retain ?? false,
    properties,
    propertyBytes: (will as ForwardedBytes).forwardedBytes,
    delayInterval: props.willDelayInterval ?? 0,
  };
}
