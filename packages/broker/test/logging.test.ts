import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, prettyLine } from '../src/logging.js';

/** A stream that records what is written, as a terminal or as a pipe. */
function sink(isTTY: boolean) {
  const stream = Object.assign(new PassThrough(), { isTTY });
  let written = '';
  stream.on('data', (chunk) => {
    written += chunk;
  });
  return { stream, written: () => written };
}

describe('log format', () => {
  it('auto: text on a terminal, JSON lines on a pipe', async () => {
    const terminal = sink(true);
    createLogger('info', 'auto', terminal.stream).info({ clientId: 'c1', port: 1883 }, 'hello');
    const pipe = sink(false);
    createLogger('info', 'auto', pipe.stream).info({ clientId: 'c1' }, 'hello');
    await new Promise((resolve) => setImmediate(resolve));
    expect(terminal.written()).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} INFO {2}hello clientId=c1 port=1883\n$/,
    );
    expect(JSON.parse(pipe.written())).toMatchObject({ level: 30, msg: 'hello', clientId: 'c1' });
  });

  it('json and pretty are kept whatever the output', async () => {
    const terminal = sink(true);
    createLogger('info', 'json', terminal.stream).warn('as json');
    const pipe = sink(false);
    createLogger('info', 'pretty', pipe.stream).warn(
      { urls: ['mqtt://localhost:1883'] },
      'as text',
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(JSON.parse(terminal.written()).msg).toBe('as json');
    expect(pipe.written()).toContain('WARN  as text urls=["mqtt://localhost:1883"]');
  });

  it('puts an error stack on its own lines, and passes a line that is not JSON through', () => {
    const line = JSON.stringify({
      level: 50,
      time: 0,
      msg: 'failed',
      err: { stack: 'Error: x\n    at y' },
    });
    expect(prettyLine(line)).toBe('00:00:00.000 ERROR failed\n  Error: x\n    at y\n');
    expect(prettyLine('not json\n')).toBe('not json\n');
  });
});
