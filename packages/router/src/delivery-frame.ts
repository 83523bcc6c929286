import type { QoS } from '@mqtt-sessions/protocol';
import type { SubscriberEntry } from './subscription.js';
import type { SharedRoute } from './types.js';

/** Per-publish scratch arrays, one frame per nesting level (a subscriber may publish). */
export class DeliveryFrame {
  count = 0;
  readonly entries: SubscriberEntry[] = [];
  readonly qos: QoS[] = [];
  readonly retain: boolean[] = [];
  readonly identifiers: (number[] | undefined)[] = [];
  readonly shared: (SharedRoute | undefined)[] = [];
  readonly filters: string[] = [];
}
