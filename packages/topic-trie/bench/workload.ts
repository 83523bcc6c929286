/**
 * Deterministic workloads for the benchmarks: an IoT-style topic space, subscription sets with a
 * realistic mix of exact, `+` and `#` filters, lookup topics of which a realistic share matches,
 * and retained-topic sets. Everything derives from one seed, so every run sees the same data.
 *
 * No topic starts with `$`: qlobber and mqemitter do not implement [MQTT-4.7.2-1] (a leading
 * wildcard must not match a `$` topic), so `$` topics would make the results differ by design.
 */

/** Marsaglia's xorshift32: fast, small, and plenty random for picking workload items. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  /** A uniform unsigned 32-bit integer. */
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }

  /** A uniform float in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** An integer in [0, n) skewed towards 0 (p(k) falls off like 1/sqrt(k)): popular tenants. */
  skewed(n: number): number {
    const u = this.float();
    return Math.floor(n * u * u);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  /** Picks an index by weight. */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let r = this.float() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i] as number;
      if (r < 0) return i;
    }
    return weights.length - 1;
  }
}

/** One level of a topic shape: a constant, or a variable drawn from a domain. */
type Level = string | ((random: Random) => string);

/** A family of topics such as `tenant/{t}/device/{d}/sensor/{s}`. */
interface Shape {
  readonly name: string;
  readonly weight: number;
  readonly levels: readonly Level[];
  /** Wildcard patterns for this shape: `+` at these level indexes. */
  readonly plus: readonly (readonly number[])[];
  /** `#` patterns: keep this many leading levels, then `#`. */
  readonly hash: readonly number[];
}

const pad = (n: number, width: number): string => n.toString().padStart(width, '0');

const TENANTS = 200;
const DEVICES_PER_TENANT = 500;
const SENSORS = ['temperature', 'humidity', 'pressure', 'co2', 'battery', 'rssi', 'voltage', 'lux'];
const COMMANDS = ['reboot', 'config', 'ota', 'ping'];
const REGIONS = ['eu-west', 'eu-north', 'eu-central', 'us-east', 'us-west', 'us-central'];
const VEHICLES = 5000;
const VEHICLE_METRICS = ['gps', 'speed', 'fuel', 'doors'];
const HOMES = 20000;
const ROOMS = ['kitchen', 'hall', 'living', 'bath', 'bed1', 'bed2', 'garage', 'garden'];
const THINGS = ['light', 'blind', 'thermostat', 'plug', 'motion', 'door'];

const tenant = (r: Random): string => `t${pad(r.skewed(TENANTS), 3)}`;
const device = (r: Random): string =>
  `d${(r.int(DEVICES_PER_TENANT) * 2654435761).toString(16).slice(-6)}`;

/** The topic space; weights are the share of subscriptions and traffic of each shape. */
export const SHAPES: readonly Shape[] = [
  {
    name: 'tenant/{t}/device/{d}/sensor/{s}',
    weight: 40,
    levels: ['tenant', tenant, 'device', device, 'sensor', (r) => r.pick(SENSORS)],
    plus: [[5], [3], [3, 5], [1]],
    hash: [4, 2],
  },
  {
    name: 'tenant/{t}/device/{d}/status',
    weight: 15,
    levels: ['tenant', tenant, 'device', device, 'status'],
    plus: [[3]],
    hash: [2],
  },
  {
    name: 'tenant/{t}/device/{d}/cmd/{c}/ack',
    weight: 10,
    levels: ['tenant', tenant, 'device', device, 'cmd', (r) => r.pick(COMMANDS), 'ack'],
    plus: [[5], [3]],
    hash: [4, 5],
  },
  {
    name: 'fleet/{region}/vehicle/{v}/{metric}',
    weight: 15,
    levels: [
      'fleet',
      (r) => r.pick(REGIONS),
      'vehicle',
      (r) => `v${pad(r.skewed(VEHICLES), 5)}`,
      (r) => r.pick(VEHICLE_METRICS),
    ],
    plus: [[4], [3], [1]],
    hash: [4, 2],
  },
  {
    name: 'home/{h}/{room}/{thing}',
    weight: 20,
    levels: [
      'home',
      (r) => `h${pad(r.int(HOMES), 5)}`,
      (r) => r.pick(ROOMS),
      (r) => r.pick(THINGS),
    ],
    plus: [[2], [3], [2, 3]],
    hash: [2, 3],
  },
];

const shapeWeights = SHAPES.map((s) => s.weight);

function randomLevels(shape: Shape, random: Random): string[] {
  return shape.levels.map((level) => (typeof level === 'string' ? level : level(random)));
}

/** A random concrete topic of the topic space. */
export function randomTopic(random: Random): string {
  return randomLevels(SHAPES[random.weighted(shapeWeights)] as Shape, random).join('/');
}

/** A subscription filter, with what is needed to draw topics it matches. */
export interface FilterSpec {
  readonly filter: string;
  readonly kind: 'exact' | 'plus' | 'hash';
  readonly shape: number;
  /** The filter's levels; `+` for a single-level wildcard; the `#` level is not included. */
  readonly levels: readonly string[];
}

/** Share of each filter kind: ~70 % exact, ~20 % with `+`, ~10 % with `#`. */
export const FILTER_MIX = { exact: 0.7, plus: 0.2, hash: 0.1 } as const;

/** `count` distinct filters, drawn with the {@link FILTER_MIX}. */
export function generateFilters(count: number, seed: number): FilterSpec[] {
  const random = new Random(seed);
  const seen = new Set<string>();
  const specs: FilterSpec[] = [];
  let attempts = 0;
  while (specs.length < count) {
    if (++attempts > count * 50) throw new Error('topic space too small for the filter count');
    const shapeIndex = random.weighted(shapeWeights);
    const shape = SHAPES[shapeIndex] as Shape;
    const levels = randomLevels(shape, random);
    const roll = random.float();
    let kind: FilterSpec['kind'] = 'exact';
    let filterLevels = levels;
    if (roll >= FILTER_MIX.exact + FILTER_MIX.plus) {
      kind = 'hash';
      filterLevels = levels.slice(0, random.pick(shape.hash));
    } else if (roll >= FILTER_MIX.exact) {
      kind = 'plus';
      for (const at of random.pick(shape.plus)) filterLevels[at] = '+';
    }
    const filter = kind === 'hash' ? [...filterLevels, '#'].join('/') : filterLevels.join('/');
    if (seen.has(filter)) continue;
    seen.add(filter);
    specs.push({ filter, kind, shape: shapeIndex, levels: filterLevels });
  }
  return specs;
}

/** A subscription: a filter and a unique value (a subscription id). */
export interface Subscription {
  readonly filter: string;
  readonly id: number;
}

/**
 * The subscriptions over a filter set: one per filter, and a second subscriber on every tenth
 * filter (shared dashboards), so that some filters hold more than one value.
 */
export function subscriptionsOf(filters: readonly FilterSpec[]): Subscription[] {
  const subscriptions: Subscription[] = [];
  for (let i = 0; i < filters.length; i++) {
    const filter = (filters[i] as FilterSpec).filter;
    subscriptions.push({ filter, id: subscriptions.length });
    if (i % 10 === 9) subscriptions.push({ filter, id: subscriptions.length });
  }
  return subscriptions;
}

/** A topic that the filter matches: a random topic of its shape with the filter's fixed levels. */
function topicMatching(spec: FilterSpec, random: Random): string {
  const levels = randomLevels(SHAPES[spec.shape] as Shape, random);
  for (let i = 0; i < spec.levels.length; i++) {
    const level = spec.levels[i] as string;
    if (level !== '+') levels[i] = level;
  }
  return levels.join('/');
}

/** Share of lookups drawn from a subscription (so they match it); the rest are random topics. */
export const TARGETED_LOOKUPS = 0.6;

/**
 * `count` lookup topics, packed as Latin-1 bytes so that every lookup can decode a fresh string,
 * as a broker does for each PUBLISH it reads.
 */
export interface Lookups {
  readonly count: number;
  readonly bytes: Buffer;
  /** Topic `i` is `bytes[offsets[i], offsets[i + 1])`. */
  readonly offsets: Int32Array;
}

export function generateLookups(
  filters: readonly FilterSpec[],
  count: number,
  seed: number,
): Lookups {
  const random = new Random(seed);
  const topics: string[] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const topic =
      random.float() < TARGETED_LOOKUPS
        ? topicMatching(filters[random.int(filters.length)] as FilterSpec, random)
        : randomTopic(random);
    topics.push(topic);
    total += topic.length;
  }
  const bytes = Buffer.allocUnsafe(total);
  const offsets = new Int32Array(count + 1);
  let at = 0;
  for (let i = 0; i < count; i++) {
    offsets[i] = at;
    at += bytes.write(topics[i] as string, at, 'latin1');
  }
  offsets[count] = at;
  return { count, bytes, offsets };
}

/** Lookup topic `i` as a freshly decoded string. */
export function lookupAt(lookups: Lookups, i: number): string {
  return lookups.bytes.toString('latin1', lookups.offsets[i], lookups.offsets[i + 1]);
}

/** `count` distinct concrete topics, as a retained-message store might hold. */
export function generateRetainedTopics(count: number, seed: number): string[] {
  const random = new Random(seed);
  const seen = new Set<string>();
  while (seen.size < count) seen.add(randomTopic(random));
  return [...seen];
}

/** Wildcard filter patterns to run against retained topics, from narrow to broad. */
export const RETAINED_FILTER_PATTERNS: readonly {
  readonly name: string;
  readonly make: (random: Random) => string;
}[] = [
  {
    name: 'tenant/{t}/device/{d}/sensor/+',
    make: (r) => `tenant/${tenant(r)}/device/${device(r)}/sensor/+`,
  },
  {
    name: 'home/{h}/+/+',
    make: (r) => `home/h${pad(r.int(HOMES), 5)}/+/+`,
  },
  {
    name: 'tenant/{t}/device/+/status',
    make: (r) => `tenant/${tenant(r)}/device/+/status`,
  },
  {
    name: 'fleet/+/vehicle/+/gps',
    make: () => 'fleet/+/vehicle/+/gps',
  },
  {
    name: 'tenant/{t}/#',
    make: (r) => `tenant/${tenant(r)}/#`,
  },
  {
    name: '+/+/device/+/sensor/temperature',
    make: () => '+/+/device/+/sensor/temperature',
  },
  {
    name: '#',
    make: () => '#',
  },
];
