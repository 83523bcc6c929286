import type { QoS } from '@mqtt-sessions/protocol';
import type { RoutedMessage, SharedRoute, Subscriber } from '../src/index.js';

export interface Received {
  topic: string;
  qos: QoS;
  retain: boolean;
  ids: readonly number[] | undefined;
  shared: string | undefined;
  filter: string;
}

/** A subscriber that records what it receives. */
export class Recorder implements Subscriber {
  readonly received: Received[] = [];
  online = true;
  readonly name: string;
  constructor(name = 'recorder') {
    this.name = name;
  }
  deliver(
    message: RoutedMessage,
    qos: QoS,
    retain: boolean,
    ids: readonly number[] | undefined,
    shared: SharedRoute | undefined,
    filter: string,
  ): void {
    this.received.push({
      topic: message.topic,
      qos,
      retain,
      ids: ids === undefined ? undefined : [...ids].sort((a, b) => a - b),
      shared: shared?.group,
      filter,
    });
  }
}

export function message(topic: string, overrides: Partial<RoutedMessage> = {}): RoutedMessage {
  return {
    topic,
    payload: Buffer.from('x'),
    qos: 2,
    retain: false,
    properties: {},
    expiresAt: undefined,
    sender: undefined,
    senderContext: undefined,
    wireCache: undefined,
    ...overrides,
  };
}
