/**
 * Outbound topic aliases for one connection: the server names a topic once, then sends only its
 * alias. When every alias is taken, the least recently used one goes to the new topic.
 */
export class OutboundAliases {
  private readonly max: number;
  // A Map iterates in insertion order, so re-inserting a topic on use keeps it in recency order.
  private readonly byTopic = new Map<string, number>();
  private next = 1;
  /** What the last {@link resolve} assigned, so that {@link undo} can put it back. */
  private lastTopic: string | undefined = undefined;
  private evictedTopic: string | undefined = undefined;
  private tookNext = false;

  constructor(max: number) {
    this.max = max;
  }

  /** Whether the last {@link resolve} assigned the alias just now: the topic name goes along. */
  isNew = false;

  /**
   * The alias for a topic, assigning one if needed. Returns 0 when aliases are off. `isNew` tells
   * that the topic name must be sent along with the alias (first use, or a reassigned alias).
   */
  resolve(topic: string): number {
    if (this.max === 0) return 0;
    const known = this.byTopic.get(topic);
    this.lastTopic = undefined;
    if (known !== undefined) {
      this.byTopic.delete(topic);
      this.byTopic.set(topic, known);
      this.isNew = false;
      return known;
    }
    let alias: number;
    this.evictedTopic = undefined;
    this.tookNext = this.next <= this.max;
    if (this.tookNext) {
      alias = this.next++;
    } else {
      const [oldest, reused] = this.byTopic.entries().next().value as [string, number];
      this.byTopic.delete(oldest);
      this.evictedTopic = oldest;
      alias = reused;
    }
    this.byTopic.set(topic, alias);
    this.lastTopic = topic;
    this.isNew = true;
    return alias;
  }

  /**
   * Takes back the assignment of the last {@link resolve}, whose packet was not sent (too large for
   * the client): the alias goes back to the topic the client still knows it by, or back to the
   * free ones. The client's mapping and this one stay the same [MQTT-3.3.2-12].
   */
  undo(): void {
    const topic = this.lastTopic;
    if (topic === undefined) return;
    const alias = this.byTopic.get(topic) as number;
    this.byTopic.delete(topic);
    if (this.tookNext) this.next--;
    else if (this.evictedTopic !== undefined) this.byTopic.set(this.evictedTopic, alias);
    this.lastTopic = undefined;
  }
}
