/**
 * Preloaded (`node --import`) into our broker under test: over the IPC channel, "gc" runs the
 * collector (the broker runs with --expose-gc) and answers with the V8 heap in use and the memory outside it that V8 knows of (buffers), so that "RSS after" shows
 * what the broker still holds, not what V8 has not yet got round to collecting.
 */
if (typeof process.send === 'function') {
  process.on('message', (message) => {
    if (message !== 'gc') return;
    const gc = (globalThis as { gc?: () => void }).gc;
    for (let pass = 0; pass < 3; pass++) gc?.();
    const { heapUsed, external } = process.memoryUsage();
    process.send?.({ gcDone: true, heapUsed, external });
  });
  // The IPC channel must not keep a broker alive on its own.
  process.channel?.unref();
}
