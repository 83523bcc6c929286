import type { Subscription } from './subscription.js';
import type { RoutedMessage, SharedRoute } from './types.js';

/**
 * How a shared subscription group picks the member that gets a message.
 *
 * - `round-robin`: members take turns (the default).
 * - `random`: a uniformly random member.
 * - `sticky-publisher`: the same publisher always reaches the same member while membership is
 *   stable (hash of the publisher's identity).
 * - `sticky-topic`: the same topic always reaches the same member (hash of the topic).
 *
 * Members that are online are preferred; offline members (sessions without a connection) get a
 * message only when no member is online.
 */
export type SharedStrategy = 'round-robin' | 'random' | 'sticky-publisher' | 'sticky-topic';

/** A `$share/{group}/{filter}` group: the members that share one filter. */
export class SharedGroup implements SharedRoute {
  readonly kind = 'shared';
  readonly group: string;
  readonly filter: string;
  readonly members: Subscription[] = [];
  private turn = 0;

  constructor(group: string, filter: string) {
    this.group = group;
    this.filter = filter;
  }

  /**
   * Picks the member for a message, skipping `exclude`, and skipping relays to other nodes when
   * the message came from another node; undefined when there is none.
   */
  pick(
    strategy: SharedStrategy,
    message: RoutedMessage,
    senderKey: string | undefined,
    exclude?: unknown,
  ): Subscription | undefined {
    const localOnly = message.origin !== undefined;
    const members = this.members;
    const count = members.length;
    if (count === 0) return undefined;
    let start: number;
    switch (strategy) {
      case 'round-robin':
        start = this.turn++ % count;
        break;
      case 'random':
        start = Math.floor(Math.random() * count);
        break;
      case 'sticky-publisher':
        start = hash(senderKey ?? '') % count;
        break;
      case 'sticky-topic':
        start = hash(message.topic) % count;
        break;
    }
    let fallback: Subscription | undefined;
    for (let i = 0; i < count; i++) {
      const member = members[(start + i) % count] as Subscription;
      const subscriber = member.entry.subscriber;
      if (subscriber === exclude || (localOnly && subscriber.remote === true)) continue;
      if (subscriber.online !== false) return member;
      fallback ??= member;
    }
    return fallback;
  }
}

/** FNV-1a over UTF-16 code units: cheap, stable and well spread for short keys. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
