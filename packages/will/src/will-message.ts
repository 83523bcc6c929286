import type { MessageProperties, QoS } from '@mqtt-sessions/protocol';

/** The Will a client left in its CONNECT (MQTT 5 section 3.1.3.2), as the watchdog keeps it. */
export interface WillMessage {
  /** The topic the Will is published to. */
  topic: string;
  /** The raw payload. */
  payload: Buffer;
  /** The QoS to publish with. */
  qos: QoS;
  /** True to publish it as a retained message. */
  retain: boolean;
  /**
   * The Will Properties that become PUBLISH properties, untouched: in particular the Message
   * Expiry Interval travels as given and starts counting when the Will is published.
   */
  properties: MessageProperties;
  /**
   * The same properties (less the Message Expiry Interval) as the client encoded them, when the
   * Will came off the wire, so that they are published byte for byte [MQTT-3.1.3-10].
   */
  propertyBytes?: Buffer | undefined;
  /**
   * The Will Delay Interval in seconds, 0 = none. Kept apart from `properties` because it is not
   * a PUBLISH property and must not be forwarded with the Will.
   */
  delayInterval: number;
}
