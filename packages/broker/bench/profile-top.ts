/**
 * Summarises a V8 CPU profile (`node --cpu-prof`, e.g. from `bench/run.ts --profile <dir>`):
 * the functions with the most self time, and self time per package; `--inclusive` adds the
 * functions with the most total time (self and callees, each stack counted once per function).
 *
 *   node --import tsx bench/profile-top.ts <file.cpuprofile> [--top 30] [--inclusive]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatTable } from '../../../tooling/bench/stats.ts';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    top: { type: 'string', default: '30' },
    inclusive: { type: 'boolean', default: false },
  },
});
const file = positionals[0];
if (file === undefined) throw new Error('usage: profile-top.ts <file.cpuprofile> [--top 30]');
const top = Number(values.top);
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;

const byId = new Map<number, ProfileNode>(profile.nodes.map((node) => [node.id, node]));
/** Self time per node id, in µs: each sample's time delta goes to the node it hit. */
const selfUs = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i] as number;
  // timeDeltas[i] is the time since the previous sample; it belongs to this sample.
  const delta = Math.max(0, profile.timeDeltas[i] ?? 0);
  selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
}

/** Where a script lives: a workspace package, an npm package, Node itself, or V8. */
function owner(url: string): string {
  if (url === '') return '(V8 / native)';
  if (url.startsWith('node:')) return 'node core';
  const npm = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (npm !== null) return npm[1] as string;
  const workspace = /packages\/([^/]+)\//.exec(url);
  if (workspace !== null) return `@mqtt-sessions/${workspace[1]}`;
  return url;
}

function shortUrl(url: string): string {
  const workspace = /packages\/(.+)$/.exec(url);
  if (workspace !== null) return workspace[1] as string;
  const npm = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?(.+)$/.exec(url);
  if (npm !== null) return npm[1] as string;
  return url;
}

const functions = new Map<string, { name: string; where: string; owner: string; us: number }>();
const owners = new Map<string, number>();
let totalUs = 0;
let idleUs = 0;
for (const [id, us] of selfUs) {
  const frame = (byId.get(id) as ProfileNode).callFrame;
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  totalUs += us;
  if (name === '(idle)') {
    idleUs += us;
    continue;
  }
  const where = frame.url === '' ? '' : `${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
  const key = `${name} ${where}`;
  const entry = functions.get(key) ?? { name, where, owner: owner(frame.url), us: 0 };
  entry.us += us;
  functions.set(key, entry);
  const pkg = frame.url === '' && name.startsWith('(') ? name : entry.owner;
  owners.set(pkg, (owners.get(pkg) ?? 0) + us);
}

const busyUs = totalUs - idleUs;
const pct = (us: number) => `${((us * 100) / busyUs).toFixed(1)}%`;
const ms = (us: number) => `${(us / 1000).toFixed(0)} ms`;
console.log(
  `${file}: ${ms(totalUs)} sampled, ${ms(idleUs)} idle, ${ms(busyUs)} busy (percentages of busy)`,
);
console.log('');
console.log(
  formatTable(
    ['self', '%', 'function', 'where'],
    [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => [ms(f.us), pct(f.us), f.name, f.where]),
    ['right', 'right', 'left', 'left'],
  ),
);
console.log('');
console.log(
  formatTable(
    ['self', '%', 'package'],
    [...owners.entries()].sort((a, b) => b[1] - a[1]).map(([name, us]) => [ms(us), pct(us), name]),
    ['right', 'right', 'left'],
  ),
);

if (values.inclusive === true) {
  // Total time: each sample counts once for every distinct function on its stack.
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parentOf.set(child, node.id);
  }
  const keyOf = (frame: CallFrame): string =>
    `${frame.functionName === '' ? '(anonymous)' : frame.functionName}\t${
      frame.url === '' ? '' : `${shortUrl(frame.url)}:${frame.lineNumber + 1}`
    }`;
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const frame = (byId.get(at) as ProfileNode).callFrame;
      if (frame.functionName === '(root)' || frame.functionName === '(idle)') continue;
      const key = keyOf(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  console.log('');
  console.log(
    formatTable(
      ['total', '%', 'function', 'where'],
      [...inclusive.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([key, us]) => {
          const [name, where] = key.split('\t') as [string, string];
          return [ms(us), pct(us), name, where];
        }),
      ['right', 'right', 'left', 'left'],
    ),
  );
}
