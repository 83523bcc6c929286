import { EdgeTable } from './edge-table.js';
import { isDollarTopic, isLevel, LevelScan, scanLevels } from './levels.js';
import { mix32, SlotTable } from './slot-table.js';
import { isWildcardFilter } from './validate.js';
import { ValueBag, visitBag } from './value-bag.js';

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
  /** Distinct filters without wildcards, kept in a hash table. */
  readonly exactFilters: number;
  /** Distinct filters with `+` or `#`, kept in the level trie. */
  readonly wildcardFilters: number;
  /** Nodes of the level trie, the root included. */
  readonly nodes: number;
}

/**
 * A level of the wildcard trie. `+` children have their own slot; `#` values sit on the parent.
 * Literal children are not kept on the node: they live in the index's edge table, keyed by
 * (parent id, level id), which saves a Map per node.
 */
class TrieNode<V> {
  plus: TrieNode<V> | undefined = undefined;
  /** Values of filters that end at this node. */
  values: ValueBag<V> | undefined = undefined;
  /** Values of filters that continue with a final `#` after this node. */
  hashValues: ValueBag<V> | undefined = undefined;
  /** How many literal children the edge table holds for this node. */
  children = 0;

  /** The node's id as the parent in the edge table; 0 for the root. */
  readonly id: number;
  readonly parent: TrieNode<V> | undefined;
  /** The interned id of the level this node stands for; 0 for the root and for `+` nodes. */
  readonly level: number;
  /** How many topic levels lead from the root to this node. */
  readonly depth: number;

  constructor(id: number, parent: TrieNode<V> | undefined, level: number, depth: number) {
    this.id = id;
    this.parent = parent;
    this.level = level;
    this.depth = depth;
  }

  isEmpty(): boolean {
    return (
      this.values === undefined &&
      this.hashValues === undefined &&
      this.plus === undefined &&
      this.children === 0
    );
  }
}

/** Scratch space of one running match: its topic scan and walk stack. */
class MatchState<V> {
  readonly scan = new LevelScan();
  readonly nodes: TrieNode<V>[] = [];
  readonly depths: number[] = [];
}

const PLUS = 0x2b;
const HASH = 0x23;
const NONE: readonly never[] = Object.freeze([]);

/**
 * An index from topic filters to values, for routing a PUBLISH to its subscribers.
 *
 * A lookup reads the topic once, finding its levels and hashing them on the way, and then
 * allocates nothing: filters without wildcards sit in a hash table keyed by the topic's hash;
 * filters with `+` or `#` in a level trie with a dedicated `+` slot per node and `#` values on the
 * parent node, walked with an explicit stack, so deep topics cannot overflow the call stack. A
 * topic whose first level starts with `$` is never matched by a filter whose first level is a
 * wildcard [MQTT-4.7.2-1].
 *
 * The index does not validate filters or topics: validate them first (see
 * {@link validateTopicFilter}). Visitors must not modify the index while a match runs; they may
 * run another match.
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
  // Exact filters: topic hash -> id in `exactBags`, whose bag holds the filter for the check.
  private readonly exact = new SlotTable();
  private exactBags: (ValueBag<V> | undefined)[] = [undefined];
  private freeExact: number[] = [];

  // The wildcard trie: literal edges (parent id, level id) -> child id in `nodesById`.
  private readonly root = new TrieNode<V>(0, undefined, 0, 0);
  private readonly edges = new EdgeTable();
  private nodesById: (TrieNode<V> | undefined)[] = [this.root];
  private freeNodes: number[] = [];

  // The distinct literal levels of the trie, interned: level hash -> id in `levelNames`. A topic
  // level is looked up here once per match, however many trie nodes the walk tries it on; a
  // level no filter uses ends the literal path at once.
  private readonly levels = new SlotTable();
  private levelNames: (string | undefined)[] = [undefined];
  /** How many trie nodes use each level id. */
  private levelUses: number[] = [0];
  private freeLevels: number[] = [];

  private pairs = 0;
  private wildcardFilters = 0;
  private nodes = 1;

  // One scratch state per nesting level of `match`, so a visitor may match again.
  private readonly states: MatchState<V>[] = [];
  private active = 0;
  private readonly editScan = new LevelScan();

  /**
   * Adds a value under a filter.
   * @returns `false` when this exact (filter, value) pair was already present.
   */
  add(filter: string, value: V): boolean {
    const bag = this.bagFor(filter, true) as ValueBag<V>;
    const wasEmpty = bag.size === 0;
    if (!bag.add(value)) return false;
    if (wasEmpty && isWildcardFilter(filter)) this.wildcardFilters++;
    this.pairs++;
    return true;
  }

  /**
   * Removes a value from a filter.
   * @returns `false` when the pair was not present.
   */
  remove(filter: string, value: V): boolean {
    const scan = this.editScan;
    scanLevels(filter, scan);
    if (!isWildcardFilter(filter)) {
      const id = this.findExact(filter, scan.full);
      const bag = this.exactBags[id];
      if (bag === undefined || !bag.remove(value)) return false;
      if (bag.size === 0) {
        this.exact.delete(scan.full, id);
        this.exactBags[id] = undefined;
        this.freeExact.push(id);
      }
      this.pairs--;
      return true;
    }
    const hash = this.endsWithHash(filter, scan);
    const node = this.descend(filter, scan, hash ? scan.count - 1 : scan.count, false);
    if (node === undefined) return false;
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
    return this.bagFor(filter, false)?.items() ?? NONE;
  }

  /**
   * Calls `visit` once for every value whose filter matches the concrete topic. A value stored under
   * several matching filters is visited once per filter. Allocates nothing per visited value.
   */
  match(topic: string, visit: (value: V) => void): void {
    const state = this.states[this.active] ?? this.newState();
    this.active++;
    try {
      const scan = state.scan;
      scanLevels(topic, scan);
      if (this.exact.size > 0) {
        const bag = this.exactBags[this.findExact(topic, scan.full)];
        if (bag !== undefined) visitBag(bag, visit);
      }
      if (this.wildcardFilters > 0) this.walk(topic, state, visit);
    } finally {
      this.active--;
    }
  }

  /**
   * Like {@link match}, and also tells each visit what the filter's wildcards captured. Allocates
   * the bindings per visited value, so use it only where a subscriber needs them.
   */
  matchWithBindings(topic: string, visit: (value: V, bindings: TopicBindings) => void): void {
    const state = this.states[this.active] ?? this.newState();
    this.active++;
    try {
      const scan = state.scan;
      scanLevels(topic, scan);
      const count = scan.count;
      const exact = this.exactBags[this.findExact(topic, scan.full)];
      if (exact !== undefined) {
        const bindings: TopicBindings = { plus: NONE, hash: undefined };
        for (const value of exact.items()) visit(value, bindings);
      }
      if (this.wildcardFilters === 0) return;
      const dollar = isDollarTopic(topic);
      scan.levelIds.fill(-1, 0, count);
      const stack: [TrieNode<V>, number][] = [[this.root, 0]];
      while (stack.length > 0) {
        const [node, depth] = stack.pop() as [TrieNode<V>, number];
        const wildcardsAllowed = depth > 0 || !dollar;
        if (node.hashValues !== undefined && wildcardsAllowed) {
          const hash: string[] = [];
          for (let d = depth; d < count; d++) hash.push(levelAt(topic, scan, d));
          const bindings = { plus: plusBindings(node, topic, scan), hash };
          for (const value of node.hashValues.items()) visit(value, bindings);
        }
        if (depth === count) {
          if (node.values !== undefined) {
            const bindings = { plus: plusBindings(node, topic, scan), hash: undefined };
            for (const value of node.values.items()) visit(value, bindings);
          }
          continue;
        }
        const child = node.children > 0 ? this.childAt(node, topic, scan, depth) : undefined;
        if (child !== undefined) stack.push([child, depth + 1]);
        if (node.plus !== undefined && wildcardsAllowed) stack.push([node.plus, depth + 1]);
      }
    } finally {
      this.active--;
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
    this.exactBags = [undefined];
    this.freeExact = [];
    this.edges.clear();
    this.levels.clear();
    this.levelNames = [undefined];
    this.levelUses = [0];
    this.freeLevels = [];
    this.nodesById = [this.root];
    this.freeNodes = [];
    this.root.children = 0;
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

  /** Visits the values of every wildcard filter that matches the scanned topic. */
  private walk(topic: string, state: MatchState<V>, visit: (value: V) => void): void {
    const scan = state.scan;
    const count = scan.count;
    const dollar = isDollarTopic(topic);
    scan.levelIds.fill(-1, 0, count);
    const nodes = state.nodes;
    const depths = state.depths;
    nodes[0] = this.root;
    depths[0] = 0;
    let top = 1;
    while (top > 0) {
      top--;
      let node = nodes[top] as TrieNode<V>;
      let depth = depths[top] as number;
      // Follow the literal path without touching the stack; only `+` branches are pushed.
      for (;;) {
        const wildcardsAllowed = depth > 0 || !dollar; // [MQTT-4.7.2-1]
        // `#` matches the parent level too, so a/# matches a (MQTT 5 section 4.7.1.2).
        if (node.hashValues !== undefined && wildcardsAllowed) visitBag(node.hashValues, visit);
        if (depth === count) {
          if (node.values !== undefined) visitBag(node.values, visit);
          break;
        }
        if (node.plus !== undefined && wildcardsAllowed) {
          nodes[top] = node.plus;
          depths[top] = depth + 1;
          top++;
        }
        if (node.children === 0) break;
        const child = this.childAt(node, topic, scan, depth);
        if (child === undefined) break;
        node = child;
        depth++;
      }
    }
  }

  /** The literal child of `node` for level `depth` of the scanned topic. */
  private childAt(
    node: TrieNode<V>,
    topic: string,
    scan: LevelScan,
    depth: number,
  ): TrieNode<V> | undefined {
    let level = scan.levelIds[depth] as number;
    if (level < 0) {
      level = this.findLevel(
        topic,
        scan.starts[depth] as number,
        scan.ends[depth] as number,
        scan.hashes[depth] as number,
      );
      scan.levelIds[depth] = level;
    }
    if (level === 0) return undefined;
    const child = this.edges.get(node.id, level);
    return child === 0 ? undefined : this.nodesById[child];
  }

  /** The interned id of `topic[start, end)` (whose scan hash is `hash`), or 0. */
  private findLevel(topic: string, start: number, end: number, hash: number): number {
    const key = mix32(hash);
    const { slots, mask } = this.levels;
    for (let i = key & mask; ; i = (i + 1) & mask) {
      const id = slots[(i << 1) + 1] as number;
      if (id === 0) return 0;
      if (slots[i << 1] === key && isLevel(this.levelNames[id] as string, topic, start, end)) {
        return id;
      }
    }
  }

  /** The id of the exact filter equal to `topic` (whose scan hash is `key`), or 0. */
  private findExact(topic: string, key: number): number {
    const { slots, mask } = this.exact;
    for (let i = key & mask; ; i = (i + 1) & mask) {
      const id = slots[(i << 1) + 1] as number;
      if (id === 0) return 0;
      if (slots[i << 1] === key && (this.exactBags[id] as ValueBag<V>).key === topic) return id;
    }
  }

  private newState(): MatchState<V> {
    const state = new MatchState<V>();
    this.states.push(state);
    return state;
  }

  private bagFor(filter: string, create: boolean): ValueBag<V> | undefined {
    const scan = this.editScan;
    scanLevels(filter, scan);
    if (!isWildcardFilter(filter)) {
      const id = this.findExact(filter, scan.full);
      if (id !== 0 || !create) return this.exactBags[id];
      const bag = new ValueBag<V>(filter);
      const slot = this.freeExact.pop() ?? this.exactBags.length;
      this.exactBags[slot] = bag;
      this.exact.insert(scan.full, slot);
      return bag;
    }
    const hash = this.endsWithHash(filter, scan);
    const node = this.descend(filter, scan, hash ? scan.count - 1 : scan.count, create);
    if (node === undefined) return undefined;
    if (hash) {
      if (create) node.hashValues ??= new ValueBag<V>();
      return node.hashValues;
    }
    if (create) node.values ??= new ValueBag<V>();
    return node.values;
  }

  private endsWithHash(filter: string, scan: LevelScan): boolean {
    const last = scan.count - 1;
    return (
      scan.ends[last] === (scan.starts[last] as number) + 1 &&
      filter.charCodeAt(scan.starts[last] as number) === HASH
    );
  }

  /** Follows the first `levels` levels of the scanned filter, creating nodes when asked to. */
  private descend(
    filter: string,
    scan: LevelScan,
    levels: number,
    create: boolean,
  ): TrieNode<V> | undefined {
    scan.levelIds.fill(-1, 0, levels);
    let node = this.root;
    for (let depth = 0; depth < levels; depth++) {
      const start = scan.starts[depth] as number;
      const end = scan.ends[depth] as number;
      let next: TrieNode<V> | undefined;
      if (end === start + 1 && filter.charCodeAt(start) === PLUS) {
        next = node.plus;
        if (next === undefined && create) {
          next = new TrieNode<V>(this.newNodeId(), node, 0, node.depth + 1);
          this.nodesById[next.id] = next;
          node.plus = next;
          this.nodes++;
        }
      } else {
        next = node.children > 0 ? this.childAt(node, filter, scan, depth) : undefined;
        if (next === undefined && create) {
          const level = this.internLevel(filter, start, end, scan.hashes[depth] as number);
          const id = this.newNodeId();
          next = new TrieNode<V>(id, node, level, node.depth + 1);
          this.nodesById[id] = next;
          this.edges.insert(node.id, level, id);
          node.children++;
          this.nodes++;
        }
      }
      if (next === undefined) return undefined;
      node = next;
    }
    return node;
  }

  private newNodeId(): number {
    return this.freeNodes.pop() ?? this.nodesById.length;
  }

  /** The id of a level, interning it if new, counted as used by one more node. */
  private internLevel(filter: string, start: number, end: number, hash: number): number {
    let id = this.findLevel(filter, start, end, hash);
    if (id === 0) {
      id = this.freeLevels.pop() ?? this.levelNames.length;
      this.levelNames[id] = filter.slice(start, end);
      this.levelUses[id] = 0;
      this.levels.insert(mix32(hash), id);
    }
    this.levelUses[id] = (this.levelUses[id] as number) + 1;
    return id;
  }

  /** One node fewer uses the level; forgets it when none does. */
  private releaseLevel(id: number): void {
    const uses = (this.levelUses[id] as number) - 1;
    this.levelUses[id] = uses;
    if (uses > 0) return;
    const name = this.levelNames[id] as string;
    const scan = new LevelScan();
    scanLevels(name, scan);
    this.levels.delete(mix32(scan.hashes[0] as number), id);
    this.levelNames[id] = undefined;
    this.freeLevels.push(id);
  }

  /** Removes empty nodes from `node` up towards the root. */
  private prune(start: TrieNode<V>): void {
    let node = start;
    while (node.parent !== undefined && node.isEmpty()) {
      const parent: TrieNode<V> = node.parent;
      if (node.level === 0) {
        parent.plus = undefined;
      } else {
        this.edges.delete(parent.id, node.level);
        this.releaseLevel(node.level);
        parent.children--;
      }
      this.nodesById[node.id] = undefined;
      this.freeNodes.push(node.id);
      this.nodes--;
      node = parent;
    }
  }
}

function levelAt(topic: string, scan: LevelScan, depth: number): string {
  return topic.slice(scan.starts[depth], scan.ends[depth]);
}

/** The levels captured by the `+` nodes on the path from the root to `node`, in filter order. */
function plusBindings<V>(node: TrieNode<V>, topic: string, scan: LevelScan): string[] {
  const captured: string[] = [];
  for (let n: TrieNode<V> | undefined = node; n?.parent !== undefined; n = n.parent) {
    if (n.level === 0) captured.push(levelAt(topic, scan, n.depth - 1));
  }
  return captured.reverse();
}
