import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

/** A terminal's input: a readable stream that can stop echoing (Node's `tty.ReadStream`). */
interface TerminalInput extends Readable {
  readonly isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

const ENTER = new Set(['\r', '\n']);
const BACKSPACE = new Set(['\x7f', '\b']);
const CTRL_C = '\x03';
const CTRL_D = '\x04';

/**
 * The password for `mqtt-sessions passwd`. On a terminal it asks twice without echoing and
 * refuses two answers that differ; otherwise it takes the first line of `input` (a pipe or a
 * file), without its line ending, or `''` when there is none.
 */
export async function readPassword(
  input: TerminalInput = process.stdin,
  output: Writable = process.stderr,
): Promise<string> {
  if (input.isTTY !== true || input.setRawMode === undefined) return firstLine(input);
  const first = await promptHidden(input, output, 'Password: ');
  const second = await promptHidden(input, output, 'Password again: ');
  if (first !== second) throw new Error('the two passwords differ');
  return first;
}

function firstLine(input: Readable): Promise<string> {
  return new Promise((resolve) => {
    const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    let answered = false;
    const answer = (line: string) => {
      if (answered) return;
      answered = true;
      resolve(line);
      // Closing emits `close` at once: `answered` keeps that from answering '' instead.
      lines.close();
    };
    lines.once('line', answer);
    lines.once('close', () => answer(''));
  });
}

/** Reads one line in raw mode, so the terminal shows nothing of what is typed. */
function promptHidden(input: TerminalInput, output: Writable, prompt: string): Promise<string> {
  output.write(prompt);
  input.setRawMode?.(true);
  input.resume();
  return new Promise((resolve, reject) => {
    let typed = '';
    const finish = (error?: Error) => {
      input.off('data', onData);
      input.setRawMode?.(false);
      input.pause();
      output.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: Buffer | string) => {
      for (const char of chunk.toString()) {
        if (ENTER.has(char)) return finish();
        if (char === CTRL_C || char === CTRL_D) return finish(new Error('no password given'));
        if (BACKSPACE.has(char)) typed = Array.from(typed).slice(0, -1).join('');
        else typed += char;
      }
    };
    input.on('data', onData);
  });
}
