import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readPassword } from '../src/password-input.js';

/** A stand-in for a terminal: a stream with `isTTY` that records its raw mode. */
function terminal() {
  const input = Object.assign(new PassThrough(), {
    isTTY: true,
    rawModes: [] as boolean[],
    setRawMode(mode: boolean) {
      input.rawModes.push(mode);
      return input;
    },
  });
  const output = new PassThrough();
  let shown = '';
  output.on('data', (chunk) => {
    shown += chunk;
  });
  return { input, output, shown: () => shown };
}

describe('readPassword', () => {
  it('takes the first line of a pipe, without its line ending', async () => {
    const input = new PassThrough();
    input.end('s3cret\r\nsecond\n');
    expect(await readPassword(input)).toBe('s3cret');
  });

  it('takes a last line without a newline, and gives "" for an empty pipe', async () => {
    const unterminated = new PassThrough();
    unterminated.end('only');
    expect(await readPassword(unterminated)).toBe('only');
    const empty = new PassThrough();
    empty.end();
    expect(await readPassword(empty)).toBe('');
  });

  it('on a terminal asks twice in raw mode, echoes nothing and handles backspace', async () => {
    const { input, output, shown } = terminal();
    const answer = readPassword(input, output);
    input.write('s3cx\x7fret\r');
    await new Promise((resolve) => setImmediate(resolve));
    input.write('s3cret\n');
    expect(await answer).toBe('s3cret');
    expect(shown()).toBe('Password: \nPassword again: \n');
    expect(input.rawModes).toEqual([true, false, true, false]);
  });

  it('on a terminal refuses two answers that differ, and Ctrl-C', async () => {
    const differ = terminal();
    const answer = readPassword(differ.input, differ.output);
    differ.input.write('one\r');
    await new Promise((resolve) => setImmediate(resolve));
    differ.input.write('two\r');
    await expect(answer).rejects.toThrow('the two passwords differ');

    const interrupted = terminal();
    const stopped = readPassword(interrupted.input, interrupted.output);
    interrupted.input.write('abc\x03');
    await expect(stopped).rejects.toThrow('no password given');
    expect(interrupted.input.rawModes).toEqual([true, false]);
  });
});
