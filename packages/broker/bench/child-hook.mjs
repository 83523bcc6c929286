// Preloaded (`node --import`) into each broker under test by bench/run.ts. Over the IPC channel,
// "gc" runs the collector (the child runs with --expose-gc) and answers with the memory figures,
// so that memory readings do not depend on when V8 last collected; "young" answers with the size
// of V8's young generation, without collecting; { snapshot: dir } writes a heap snapshot there and
// answers with its path.
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';

/** Bytes V8 holds for new objects: it grows under allocation, and shrinks when a process idles. */
function youngGenerationSize() {
  return getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size;
}

if (typeof process.send === 'function') {
  process.on('message', (message) => {
    if (message === 'gc') {
      for (let pass = 0; pass < 3; pass++) globalThis.gc?.();
      const usage = process.memoryUsage();
      process.send({
        rss: usage.rss,
        heapUsed: usage.heapUsed,
        external: usage.external,
        arrayBuffers: usage.arrayBuffers,
        youngGeneration: youngGenerationSize(),
      });
    } else if (message === 'young') {
      process.send({ youngGeneration: youngGenerationSize() });
    } else if (typeof message === 'object' && message !== null && 'snapshot' in message) {
      const name = `broker-${process.pid}-${message.tag ?? 'heap'}.heapsnapshot`;
      const path = writeHeapSnapshot(`${message.snapshot}/${name}`);
      process.send({ snapshot: path });
    }
  });
  // The IPC channel must not keep a broker alive on its own.
  process.channel?.unref();
}
