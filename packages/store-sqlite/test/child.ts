import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Runs a fixture script from its TypeScript source, with sibling packages from theirs too. */
export function runFixture(name: string, args: readonly string[]): ChildProcess {
  const script = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
  return spawn(
    process.execPath,
    ['--conditions=@mqtt-sessions/source', '--import', 'tsx', script, ...args],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
}

/** Calls `onLine` for each line the child prints on stdout. */
export function onLines(child: ChildProcess, onLine: (line: string) => void): void {
  let buffer = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let newline = buffer.indexOf('\n');
    while (newline !== -1) {
      onLine(buffer.slice(0, newline));
      buffer = buffer.slice(newline + 1);
      newline = buffer.indexOf('\n');
    }
  });
}

/** Resolves when the child printed a line equal to `wanted`; rejects if it exits first. */
export function lineFrom(child: ChildProcess, wanted: string): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    onLines(child, (line) => {
      if (line === wanted) resolve();
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`the child exited (${code ?? signal}) before "${wanted}": ${stderr}`)),
    );
  });
}

/** Resolves with the exit code and signal of the child. */
export function exitOf(
  child: ChildProcess,
): Promise<{ code: number | null; signal: string | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}
