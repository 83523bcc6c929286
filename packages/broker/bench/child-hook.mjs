// Preloaded (`node --import`) into each broker under test by bench/run.ts. Over the IPC channel,
// "gc" runs the collector (the child runs with --expose-gc) and answers with the memory figures,
// so that memory readings do not depend on when V8 last collected; { snapshot: dir } writes a
// heap snapshot there and answers with its path.
import { writeHeapSnapshot } from 'node:v8';

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
      });
    } else if (typeof message === 'object' && message !== null && 'snapshot' in message) {
      const name = `broker-${process.pid}-${message.tag ?? 'heap'}.heapsnapshot`;
      const path = writeHeapSnapshot(`${message.snapshot}/${name}`);
      process.send({ snapshot: path });
    }
  });
  // The IPC channel must not keep a broker alive on its own.
  process.channel?.unref();
}
