import { isWildcardFilter } from './validate.js';

/** A stored topic and its value, as yielded by {@link TopicIndex.match}. */
export interface TopicEntry<V> {
  readonly topic: string;
  readonly value: V;
}

/** Node and topic counts of a {@link TopicIndex}. */
export interface TopicIndexInfo {
  /** Stored topics. */
  readonly topics: number;
  /** Nodes of the level trie, the root included. */
  readonly nodes: number;
}

/** One level of the topic trie; it is also the entry for the topic that ends here, if any. */
class TopicNode<V> implements TopicEntry<V> {
  children: Map<string, TopicNode<V>> | undefined = undefined;
  /** The full topic when one ends at this node, else `undefined`. */
  topic: string = undefined as unknown as string;
  value: V = undefined as V;
  stored = false;

  readonly parent: TopicNode<V> | undefined;
  readonly level: string;

  constructor(parent: TopicNode<V> | undefined, level: string) {
    this.parent = parent;
    this.level = level;
  }
}

/**
 * An index of concrete topics (such as retained messages) that answers "which stored topics does
 * this filter match?" by walking the filter through a level trie, so topics that cannot match are
 * never visited. A filter without wildcards is a single hash lookup. The rules are those of
 * {@link FilterIndex}: `+` matches one level (an empty one too), `#` matches the parent and any
 * number of levels, and a leading wildcard does not match a topic starting with `$` [MQTT-4.7.2-1].
 *
 * @example
 * ```ts
 * const retained = new TopicIndex<string>();
 * retained.set('home/kitchen/light', 'on');
 * retained.set('home/hall/light', 'off');
 * for (const { topic, value } of retained.match('home/+/light')) console.log(topic, value);
 * ```
 */
export class TopicIndex<V> {
  private readonly byTopic = new Map<string, TopicNode<V>>();
  private readonly root = new TopicNode<V>(undefined, '');
  private nodes = 1;

  /** Stores a value under a concrete topic, replacing any earlier value. */
  set(topic: string, value: V): void {
    let node = this.byTopic.get(topic);
    if (node === undefined) {
      node = this.root;
      let start = 0;
      for (;;) {
        const slash = topic.indexOf('/', start);
        node = this.childFor(node, slash === -1 ? topic.slice(start) : topic.slice(start, slash));
        if (slash === -1) break;
        start = slash + 1;
      }
      node.topic = topic;
      node.stored = true;
      this.byTopic.set(topic, node);
    }
    node.value = value;
  }

  /** The value stored under the topic, or `undefined`. */
  get(topic: string): V | undefined {
    return this.byTopic.get(topic)?.value;
  }

  /** True when a value is stored under the topic. */
  has(topic: string): boolean {
    return this.byTopic.has(topic);
  }

  /**
   * Removes a topic.
   * @returns `false` when it was not stored.
   */
  delete(topic: string): boolean {
    const node = this.byTopic.get(topic);
    if (node === undefined) return false;
    this.byTopic.delete(topic);
    node.stored = false;
    node.value = undefined as V;
    this.prune(node);
    return true;
  }

  /**
   * Lazily yields every stored topic the filter matches. The walk holds no more state than one
   * iterator per trie level, so a caller may stop early or page through millions of topics. Topics
   * set or deleted during the walk may or may not be seen.
   */
  *match(filter: string): Generator<TopicEntry<V>, void, undefined> {
    if (!isWildcardFilter(filter)) {
      const node = this.byTopic.get(filter);
      if (node !== undefined) yield node;
      return;
    }
    const levels = filter.split('/');
    const last = levels.length;
    const nodes: TopicNode<V>[] = [this.root];
    const depths: number[] = [0];
    while (nodes.length > 0) {
      const node = nodes.pop() as TopicNode<V>;
      const depth = depths.pop() as number;
      if (depth === last) {
        if (node.stored) yield node;
        continue;
      }
      const level = levels[depth] as string;
      if (level === '#') {
        // `#` matches the parent level itself (MQTT 5 section 4.7.1.2), then all below it.
        if (node.stored) yield node;
        yield* this.descendants(node, depth === 0);
        continue;
      }
      const children = node.children;
      if (children === undefined) continue;
      if (level !== '+') {
        const child = children.get(level);
        if (child !== undefined) {
          nodes.push(child);
          depths.push(depth + 1);
        }
        continue;
      }
      for (const child of children.values()) {
        if (depth === 0 && isDollarLevel(child.level)) continue; // [MQTT-4.7.2-1]
        nodes.push(child);
        depths.push(depth + 1);
      }
    }
  }

  /** Every stored topic, in no particular order. */
  *entries(): Generator<TopicEntry<V>, void, undefined> {
    yield* this.byTopic.values();
  }

  /** The number of stored topics. */
  get size(): number {
    return this.byTopic.size;
  }

  /** Removes every topic. */
  clear(): void {
    this.byTopic.clear();
    this.root.children = undefined;
    this.nodes = 1;
  }

  /** Counts of topics and trie nodes. */
  info(): TopicIndexInfo {
    return { topics: this.byTopic.size, nodes: this.nodes };
  }

  /** Every stored topic strictly below `start`, depth first, one iterator per level. */
  private *descendants(start: TopicNode<V>, skipDollar: boolean): Generator<TopicNode<V>> {
    if (start.children === undefined) return;
    const iterators: Iterator<TopicNode<V>>[] = [start.children.values()];
    while (iterators.length > 0) {
      const next = (iterators[iterators.length - 1] as Iterator<TopicNode<V>>).next();
      if (next.done === true) {
        iterators.pop();
        continue;
      }
      const node = next.value;
      if (skipDollar && iterators.length === 1 && isDollarLevel(node.level)) continue;
      if (node.stored) yield node;
      if (node.children !== undefined && node.children.size > 0) {
        iterators.push(node.children.values());
      }
    }
  }

  private childFor(node: TopicNode<V>, level: string): TopicNode<V> {
    node.children ??= new Map();
    let child = node.children.get(level);
    if (child === undefined) {
      child = new TopicNode<V>(node, level);
      node.children.set(level, child);
      this.nodes++;
    }
    return child;
  }

  /** Removes nodes that hold no topic and no children, from `start` up towards the root. */
  private prune(start: TopicNode<V>): void {
    let node = start;
    while (
      node.parent !== undefined &&
      !node.stored &&
      (node.children === undefined || node.children.size === 0)
    ) {
      node.parent.children?.delete(node.level);
      this.nodes--;
      node = node.parent;
    }
  }
}

function isDollarLevel(level: string): boolean {
  return level.charCodeAt(0) === 0x24;
}
