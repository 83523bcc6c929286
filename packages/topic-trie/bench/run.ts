/**
 * `pnpm bench`: FilterIndex against qlobber and mqemitter, and TopicIndex against a linear scan.
 * Prints Markdown for the package README.
 *
 *   node --expose-gc --import tsx bench/run.ts [--quick] [--sizes 10000,100000]
 *     [--lookups 1000000] [--rounds 5] [--no-reused] [--peers-first] [--only filter|topic]
 */
import { parseArgs } from 'node:util';
import { describeMachine } from '../../../tooling/bench/machine.ts';
import { runFilterBench } from './filter-bench.ts';
import { runTopicBench } from './topic-bench.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    sizes: { type: 'string' },
    lookups: { type: 'string' },
    rounds: { type: 'string' },
    'no-reused': { type: 'boolean', default: false },
    'peers-first': { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});

const quick = values.quick === true;
const sizes = (values.sizes ?? (quick ? '10000' : '10000,100000')).split(',').map(Number);
const lookups = Number(values.lookups ?? (quick ? 100_000 : 1_000_000));
const rounds = Number(values.rounds ?? (quick ? 3 : 5));
const log = (line: string): void => console.log(line);

if (globalThis.gc === undefined) {
  console.error('run with node --expose-gc (pnpm bench does)');
  process.exit(1);
}

log(`Machine: ${describeMachine()}`);
if (values.only !== 'topic') {
  runFilterBench(
    {
      sizes,
      lookups,
      rounds,
      warmup: 1,
      slices: quick ? 4 : 10,
      verifySample: quick ? 10_000 : 50_000,
      reusedStrings: values['no-reused'] !== true,
      peersFirst: values['peers-first'] === true,
    },
    log,
  );
}
if (values.only !== 'filter') {
  runTopicBench({ topics: 100_000, filtersPerPattern: quick ? 10 : 50, rounds }, log);
}
