/**
 * Outbound topic aliases for one connection: the server names a topic once, then sends only its
 * alias. When every alias is taken, the least recently used one goes to the new topic.
 */
export class OutboundAliases {
  private readonly max: number;
  // A Map iterates in insertion order, so re-inserting a topic on use keeps it in recency order.
  private readonly byTopic = new Map<string, number>();
  private next = 1;

  constructor(max: number) {
    this.max = max;
  }

  /**
   * The alias for a topic, assigning one if needed. Returns 0 when aliases are off. `isNew` tells
   * that the topic name must be sent along with the alias (first use, or a reassigned alias).
   */
  resolve(topic: string): number {
    if (this.max === 0) return 0;
    const known = this.byTopic.get(topic);
    if (known !== undefined) {
      this.byTopic.delete(topic);
      this.byTopic.set(topic, known);
      this.isNew = false;
      return known;
    }
    let alias: number;
    if (this.next <= this.max) {
      alias = this.next++;
    } else {
      const [oldest, reused] = this.byTopic.entries().next().value as [string, number];
      this.byTopic.delete(oldest);
      alias = reused;
    }
    this.byTopic.set(topic, alias);
    this.isNew = true;
    return alias;
  }

  /** Whether the last {@link resolve} assigned the alias just now. */
  isNew = false;

  /** Forgets a topic whose announcing packet was never sent, so its alias is announced again. */
  forget(topic: string): void {
    this.byTopic.delete(topic);
  }
}
