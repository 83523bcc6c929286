/**
 * Summarises a V8 heap snapshot (e.g. from `bench/run.ts --only storm --brokers ours
 * --heap-snapshot <dir>`): self size and count per constructor or kind, divided by a number of
 * connections to read as "per connection". `--by-retainer` groups by what holds each object
 * instead (`Session.outbox -> Outbox`), which tells which field to slim. `--baseline` subtracts
 * a snapshot taken before (the storm writes `-before` and `-after` snapshots).
 *
 *   node --import tsx bench/heap-top.ts <after.heapsnapshot> [--baseline <before.heapsnapshot>]
 *     [--per 10000] [--top 40] [--by-retainer]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatTable } from '../../../tooling/bench/stats.ts';

interface HeapSnapshot {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: readonly string[];
      readonly node_types: readonly [readonly string[], ...unknown[]];
      readonly edge_fields: readonly string[];
      readonly edge_types: readonly [readonly string[], ...unknown[]];
    };
  };
  readonly nodes: readonly number[];
  readonly edges: readonly number[];
  readonly strings: readonly string[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    per: { type: 'string', default: '10000' },
    top: { type: 'string', default: '40' },
    baseline: { type: 'string' },
    'by-retainer': { type: 'boolean', default: false },
  },
});
const file = positionals[0];
if (file === undefined) throw new Error('usage: heap-top.ts <file.heapsnapshot> [--per 10000]');
const per = Number(values.per);
const top = Number(values.top);
const byRetainer = values['by-retainer'] === true;

interface Group {
  count: number;
  bytes: number;
}

/** Self size and count per group (kind and name, or retainer and kind) of one snapshot. */
function groupSnapshot(path: string): { groups: Map<string, Group>; total: number } {
  const heap = JSON.parse(readFileSync(path, 'utf8')) as HeapSnapshot;
  const meta = heap.snapshot.meta;
  const width = meta.node_fields.length;
  const typeField = meta.node_fields.indexOf('type');
  const nameField = meta.node_fields.indexOf('name');
  const sizeField = meta.node_fields.indexOf('self_size');
  const edgeCountField = meta.node_fields.indexOf('edge_count');
  const types = meta.node_types[0];
  const edgeWidth = meta.edge_fields.length;
  const edgeTypeField = meta.edge_fields.indexOf('type');
  const edgeNameField = meta.edge_fields.indexOf('name_or_index');
  const edgeToField = meta.edge_fields.indexOf('to_node');
  const edgeTypes = meta.edge_types[0];
  const nodeCount = heap.nodes.length / width;

  // A node's kind and a short name: constructor for objects, nothing for strings and code.
  const label = (node: number): { type: string; name: string } => {
    const i = node * width;
    const type = types[heap.nodes[i + typeField] as number] as string;
    let name = heap.strings[heap.nodes[i + nameField] as number] as string;
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '';
    if (type === 'code') name = name.startsWith('(') ? name : '';
    if (type === 'number') name = '';
    if (name.length > 50) name = `${name.slice(0, 47)}...`;
    return { type, name };
  };

  // The first strong retainer of every node, as (parent node, edge name).
  const parent = new Int32Array(nodeCount).fill(-1);
  const edge: string[] = new Array(nodeCount);
  if (byRetainer) {
    let e = 0;
    for (let node = 0; node < nodeCount; node++) {
      const edges = heap.nodes[node * width + edgeCountField] as number;
      for (let k = 0; k < edges; k++, e += edgeWidth) {
        const edgeType = edgeTypes[heap.edges[e + edgeTypeField] as number] as string;
        if (edgeType === 'weak' || edgeType === 'shortcut') continue;
        const to = (heap.edges[e + edgeToField] as number) / width;
        if (parent[to] !== -1) continue;
        parent[to] = node;
        const nameOrIndex = heap.edges[e + edgeNameField] as number;
        edge[to] =
          edgeType === 'element' || edgeType === 'hidden'
            ? `[${edgeType}]`
            : (heap.strings[nameOrIndex] as string);
      }
    }
  }

  const groups = new Map<string, Group>();
  let total = 0;
  for (let node = 0; node < nodeCount; node++) {
    const size = heap.nodes[node * width + sizeField] as number;
    total += size;
    const { type, name } = label(node);
    let key = `${type} ${name}`.trim();
    if (byRetainer) {
      const p = parent[node] as number;
      const owner = p === -1 ? '(root)' : label(p).name || label(p).type;
      key = `${owner}.${edge[node] ?? '?'} -> ${key}`;
    }
    const group = groups.get(key) ?? { count: 0, bytes: 0 };
    group.count++;
    group.bytes += size;
    groups.set(key, group);
  }
  return { groups, total };
}

const after = groupSnapshot(file);
const groups = after.groups;
let total = after.total;
if (values.baseline !== undefined) {
  const before = groupSnapshot(values.baseline);
  total -= before.total;
  for (const [key, g] of before.groups) {
    const a = groups.get(key) ?? { count: 0, bytes: 0 };
    groups.set(key, { count: a.count - g.count, bytes: a.bytes - g.bytes });
  }
}

console.log(
  `${file}${values.baseline === undefined ? '' : ` minus ${values.baseline}`}: ` +
    `${(total / 1024 / 1024).toFixed(1)} MiB of self size, ${(total / per).toFixed(0)} B per ${per}`,
);
console.log('');
console.log(
  formatTable(
    ['bytes / per', 'count / per', byRetainer ? 'held by -> kind' : 'kind and name'],
    [...groups.entries()]
      .sort((a, b) => b[1].bytes - a[1].bytes)
      .slice(0, top)
      .map(([key, g]) => [(g.bytes / per).toFixed(0), (g.count / per).toFixed(2), key]),
    ['right', 'right', 'left'],
  ),
);
