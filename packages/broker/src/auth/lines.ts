/**
 * The lines of a text file with their 1-based numbers and without a trailing `\r`, so files
 * written on Windows parse the same.
 */
export function numberedLines(text: string): { line: number; content: string }[] {
  return text.split('\n').map((content, index) => ({
    line: index + 1,
    content: content.endsWith('\r') ? content.slice(0, -1) : content,
  }));
}
