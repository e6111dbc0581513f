// The progress bar of `warden scan --config` and `warden init`: drawn on a terminal only, cleared at the end.
import { describe, expect, it } from 'vitest';
import { progressBar } from '../../src/cli/progress.js';

function fakeStream(isTTY: boolean) {
  const written: string[] = [];
  const stream = { isTTY, columns: 60, write: (s: string) => written.push(s) > 0 };
  return { stream: stream as unknown as NodeJS.WriteStream, written };
}

describe('progressBar', () => {
  it('draws done of total on one line, redrawn in place', () => {
    const { stream, written } = fakeStream(true);
    const bar = progressBar(4, stream);
    bar.update(1, 'starting github');
    bar.update(4, '');
    expect(written[0]).toBe('\r\u001b[2K[######------------------] 1/4 starting github');
    expect(written[1]).toBe('\r\u001b[2K[########################] 4/4 ');
  });

  it('never draws past the terminal width', () => {
    const { stream, written } = fakeStream(true);
    progressBar(2, stream).update(1, 'x'.repeat(200));
    expect(written[0]!.replace('\r\u001b[2K', '').length).toBe(59);
  });

  it('clears its line at the end', () => {
    const { stream, written } = fakeStream(true);
    const bar = progressBar(2, stream);
    bar.update(2, '');
    bar.end();
    expect(written.at(-1)).toBe('\r\u001b[2K');
  });

  it('writes nothing when the stream is not a terminal (pipes, files, CI logs)', () => {
    const { stream, written } = fakeStream(false);
    const bar = progressBar(3, stream);
    bar.update(1, 'starting');
    bar.end();
    expect(written).toEqual([]);
  });
});
