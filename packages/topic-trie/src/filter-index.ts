import { isDollarTopic, splitLevels } from './levels.js';
import { isWildcardFilter } from './validate.js';
import { ValueBag } from './value-bag.js';

/** What each wildcard of a filter captured from a concrete topic. */
export interface TopicBindings {
  /** The level each `+` matched, in filter order (an empty string for an empty level). */
  readonly plus: readonly string[];
  /** The levels `#` matched (possibly none), or `undefined` when the filter has no `#`. */
  readonly hash: readonly string[] | undefined;
}

/** Node and value counts of a {@link FilterIndex}. */
export interface FilterIndexInfo {
  /** Stored (filter, value) pairs. */
  readonly pairs: number;
  /** Distinct filters with at least one value. */
  readonly filters: number;
  /** Distinct filters without wildcards, kept in a hash map. */
  readonly exactFilters: number;
  /** Distinct filters with `+` or `#`, kept in the level trie. */
  readonly wildcardFilters: number;
  /** Nodes of the level trie, the root included. */
  readonly nodes: number;
}

/** A level of the wildcard trie. `+` children have their own slot; `#` values sit on the parent. */
class TrieNode<V> {
  children: Map<string, TrieNode<V>> | undefined = undefined;
  plus: TrieNode<V> | undefined = undefined;
  /** Values of filters that end at this node. */
  values: ValueBag<V> | undefined = undefined;
  /** Values of filters that continue with a final `#` after this node. */
  hashValues: ValueBag<V> | undefined = undefined;

  readonly parent: TrieNode<V> | undefined;
  /** The level this node stands for; `undefined` for the root and for `+` nodes. */
  readonly level: string | undefined;
  /** How many topic levels lead from the root to this node. */
  readonly depth: number;

  constructor(parent: TrieNode<V> | undefined, level: string | undefined, depth: number) {
    this.parent = parent;
    this.level = level;
    this.depth = depth;
  }

  isEmpty(): boolean {
    return (
      this.values === undefined &&
      this.hashValues === undefined &&
      this.plus === undefined &&
      (this.children === undefined || this.children.size === 0)
    );
  }
}

const NONE: readonly never[] = Object.freeze([]);

/**
 * An index from topic filters to values, for routing a PUBLISH to its subscribers.
 *
 * Filters without wildcards live in a hash map and match with one lookup. Filters with `+` or `#`
 * live in a level trie with a dedicated `+` slot per node and `#` values on the parent node; it is
 * walked with an explicit stack, so deep topics cannot overflow the call stack. A topic whose first
 * level starts with `$` is never matched by a filter whose first level is a wildcard [MQTT-4.7.2-1].
 *
 * The index does not validate filters or topics: validate them first (see
 * {@link validateTopicFilter}). Visitors must not modify the index while a match runs.
 *
 * @example
 * ```ts
 * const index = new FilterIndex<string>();
 * index.add('sensors/+/temperature', 'alice');
 * index.add('sensors/#', 'bob');
 * index.match('sensors/kitchen/temperature', (who) => console.log(who)); // alice, bob
 * ```
 */
export class FilterIndex<V> {
  private readonly exact = new Map<string, ValueBag<V>>();
  private readonly root = new TrieNode<V>(undefined, undefined, 0);
  private pairs = 0;
  private wildcardFilters = 0;
  private nodes = 1;
  // Scratch space reused by every match, so matching allocates no arrays of its own.
  private readonly levels: string[] = [];
  private readonly stackNodes: TrieNode<V>[] = [];
  private readonly stackDepths: number[] = [];
  private stackTop = 0;

  /**
   * Adds a value under a filter.
   * @returns `false` when this exact (filter, value) pair was already present.
   */
  add(filter: string, value: V): boolean {
    const bag = this.bagFor(filter, true) as ValueBag<V>;
    const wasEmpty = bag.size === 0;
    if (!bag.add(value)) return false;
    if (wasEmpty && this.isTrieFilter(filter)) this.wildcardFilters++;
    this.pairs++;
    return true;
  }

  /**
   * Removes a value from a filter.
   * @returns `false` when the pair was not present.
   */
  remove(filter: string, value: V): boolean {
    const trie = this.isTrieFilter(filter);
    if (!trie) {
      const bag = this.exact.get(filter);
      if (bag === undefined || !bag.remove(value)) return false;
      if (bag.size === 0) this.exact.delete(filter);
      this.pairs--;
      return true;
    }
    const found = this.findTrieSlot(filter);
    if (found === undefined) return false;
    const { node, hash } = found;
    const bag = hash ? node.hashValues : node.values;
    if (bag === undefined || !bag.remove(value)) return false;
    this.pairs--;
    if (bag.size === 0) {
      this.wildcardFilters--;
      if (hash) node.hashValues = undefined;
      else node.values = undefined;
      this.prune(node);
    }
    return true;
  }

  /** True when the (filter, value) pair is present. */
  has(filter: string, value: V): boolean {
    return this.bagFor(filter, false)?.has(value) ?? false;
  }

  /** The values stored under exactly this filter (not its matches). */
  valuesOf(filter: string): readonly V[] {
    return this.bagFor(filter, false)?.items ?? NONE;
  }

  /**
   * Calls `visit` once for every value whose filter matches the concrete topic. A value stored under
   * several matching filters is visited once per filter. Allocates nothing per visited value.
   */
  match(topic: string, visit: (value: V) => void): void {
    const exact = this.exact.get(topic);
    if (exact !== undefined) visitAll(exact.items, visit);
    if (this.wildcardFilters === 0) return;
    const levels = this.levels;
    const count = splitLevels(topic, levels);
    const dollar = isDollarTopic(topic);
    const base = this.stackTop;
    this.push(this.root, 0);
    while (this.stackTop > base) {
      const top = --this.stackTop;
      const node = this.stackNodes[top] as TrieNode<V>;
      const depth = this.stackDepths[top] as number;
      const wildcardsAllowed = depth > 0 || !dollar; // [MQTT-4.7.2-1]
      // `#` matches the parent level too, so a/# matches a (MQTT 5 section 4.7.1.2).
      if (node.hashValues !== undefined && wildcardsAllowed) visitAll(node.hashValues.items, visit);
      if (depth === count) {
        if (node.values !== undefined) visitAll(node.values.items, visit);
        continue;
      }
      const child = node.children?.get(levels[depth] as string);
      if (child !== undefined) this.push(child, depth + 1);
      if (node.plus !== undefined && wildcardsAllowed) this.push(node.plus, depth + 1);
    }
  }

  /**
   * Like {@link match}, and also tells each visit what the filter's wildcards captured. Allocates
   * the bindings per visited value, so use it only where a subscriber needs them.
   */
  matchWithBindings(topic: string, visit: (value: V, bindings: TopicBindings) => void): void {
    const exact = this.exact.get(topic);
    if (exact !== undefined) {
      const bindings: TopicBindings = { plus: NONE, hash: undefined };
      for (let i = 0; i < exact.items.length; i++) visit(exact.items[i] as V, bindings);
    }
    if (this.wildcardFilters === 0) return;
    const levels = topic.split('/');
    const dollar = isDollarTopic(topic);
    const stack: [TrieNode<V>, number][] = [[this.root, 0]];
    while (stack.length > 0) {
      const [node, depth] = stack.pop() as [TrieNode<V>, number];
      const wildcardsAllowed = depth > 0 || !dollar;
      if (node.hashValues !== undefined && wildcardsAllowed) {
        const bindings = { plus: plusBindings(node, levels), hash: levels.slice(depth) };
        for (const value of node.hashValues.items) visit(value, bindings);
      }
      if (depth === levels.length) {
        if (node.values !== undefined) {
          const bindings = { plus: plusBindings(node, levels), hash: undefined };
          for (const value of node.values.items) visit(value, bindings);
        }
        continue;
      }
      const child = node.children?.get(levels[depth] as string);
      if (child !== undefined) stack.push([child, depth + 1]);
      if (node.plus !== undefined && wildcardsAllowed) stack.push([node.plus, depth + 1]);
    }
  }

  /** Every value whose filter matches the topic, in an array (a convenience over {@link match}). */
  collect(topic: string): V[] {
    const out: V[] = [];
    this.match(topic, (value) => out.push(value));
    return out;
  }

  /** The number of stored (filter, value) pairs. */
  get size(): number {
    return this.pairs;
  }

  /** Removes every filter and value. */
  clear(): void {
    this.exact.clear();
    this.root.children = undefined;
    this.root.plus = undefined;
    this.root.values = undefined;
    this.root.hashValues = undefined;
    this.pairs = 0;
    this.wildcardFilters = 0;
    this.nodes = 1;
  }

  /** Counts of pairs, filters and trie nodes. */
  info(): FilterIndexInfo {
    return {
      pairs: this.pairs,
      filters: this.exact.size + this.wildcardFilters,
      exactFilters: this.exact.size,
      wildcardFilters: this.wildcardFilters,
      nodes: this.nodes,
    };
  }

  private push(node: TrieNode<V>, depth: number): void {
    this.stackNodes[this.stackTop] = node;
    this.stackDepths[this.stackTop] = depth;
    this.stackTop++;
  }

  /** Filters with a wildcard level go to the trie; all others to the exact map. */
  private isTrieFilter(filter: string): boolean {
    return isWildcardFilter(filter);
  }

  private bagFor(filter: string, create: boolean): ValueBag<V> | undefined {
    if (!this.isTrieFilter(filter)) {
      let bag = this.exact.get(filter);
      if (bag === undefined && create) {
        bag = new ValueBag<V>();
        this.exact.set(filter, bag);
      }
      return bag;
    }
    if (!create) {
      const found = this.findTrieSlot(filter);
      if (found === undefined) return undefined;
      return found.hash ? found.node.hashValues : found.node.values;
    }
    const levels = filter.split('/');
    const hash = levels[levels.length - 1] === '#';
    const last = hash ? levels.length - 1 : levels.length;
    let node = this.root;
    for (let i = 0; i < last; i++) node = this.childFor(node, levels[i] as string);
    if (hash) {
      node.hashValues ??= new ValueBag<V>();
      return node.hashValues;
    }
    node.values ??= new ValueBag<V>();
    return node.values;
  }

  private childFor(node: TrieNode<V>, level: string): TrieNode<V> {
    if (level === '+') {
      if (node.plus === undefined) {
        node.plus = new TrieNode<V>(node, undefined, node.depth + 1);
        this.nodes++;
      }
      return node.plus;
    }
    node.children ??= new Map();
    let child = node.children.get(level);
    if (child === undefined) {
      child = new TrieNode<V>(node, level, node.depth + 1);
      node.children.set(level, child);
      this.nodes++;
    }
    return child;
  }

  private findTrieSlot(filter: string): { node: TrieNode<V>; hash: boolean } | undefined {
    const levels = filter.split('/');
    const hash = levels[levels.length - 1] === '#';
    const last = hash ? levels.length - 1 : levels.length;
    let node: TrieNode<V> | undefined = this.root;
    for (let i = 0; i < last && node !== undefined; i++) {
      const level = levels[i] as string;
      node = level === '+' ? node.plus : node.children?.get(level);
    }
    return node === undefined ? undefined : { node, hash };
  }

  /** Removes empty nodes from `node` up towards the root. */
  private prune(start: TrieNode<V>): void {
    let node = start;
    while (node.parent !== undefined && node.isEmpty()) {
      const parent: TrieNode<V> = node.parent;
      if (node.level === undefined) parent.plus = undefined;
      else parent.children?.delete(node.level);
      this.nodes--;
      node = parent;
    }
  }
}

function visitAll<V>(items: V[], visit: (value: V) => void): void {
  for (let i = 0; i < items.length; i++) visit(items[i] as V);
}

/** The levels captured by the `+` nodes on the path from the root to `node`, in filter order. */
function plusBindings<V>(node: TrieNode<V>, levels: readonly string[]): string[] {
  const captured: string[] = [];
  for (let n: TrieNode<V> | undefined = node; n?.parent !== undefined; n = n.parent) {
    if (n.level === undefined) captured.push(levels[n.depth - 1] as string);
  }
  return captured.reverse();
}
