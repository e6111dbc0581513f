// A one-line progress bar on stderr for people (a terminal only; nothing when stderr is a pipe or file).

export interface Progress {
  /** Redraws the bar: `done` of `total`, with what is happening now. */
  update(done: number, label: string): void;
  /** Clears the bar, so that what is printed next starts on a clean line. */
  end(): void;
}

const WIDTH = 24;

export function progressBar(total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY || total === 0) return { update() {}, end() {} };
  let drawn = false;
  return {
    update(done, label) {
      const filled = Math.round((done / total) * WIDTH);
      const columns = stream.columns ?? 80;
      const line = `[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${done}/${total} ${label}`;
      stream.write(`\r\u001b[2K${line.slice(0, columns - 1)}`);
      drawn = true;
    },
    end() {
      if (drawn) stream.write('\r\u001b[2K');
    },
  };
}
