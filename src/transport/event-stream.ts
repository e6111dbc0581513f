// Reads a text/event-stream (the WHATWG "server-sent events" format) incrementally: text in, events out.

/** What a kept `data:` line costs beyond its characters (a string and its array slot), counted against the limit. */
const LINE_OVERHEAD = 32;

export interface StreamEvent {
  /** The `event:` field; "message" when the event named none. */
  event: string;
  data: string;
  /** The `id:` field of this event, when it had one. */
  id: string | undefined;
}

/**
 * One stream's parser. Feed it the decoded text as it arrives (chunks may split lines, even a CR LF pair); it calls
 * `onEvent` for each complete event and `onRetry` for each valid `retry:` field. An event whose data would exceed
 * `maxEventChars` throws: the caller ends the stream rather than buffer without bound.
 */
export class EventStreamParser {
  private partial = '';
  /** The last chunk ended in CR: an LF at the start of the next one belongs to that line end. */
  private afterCr = false;
  private first = true;
  private data: string[] = [];
  private dataChars = 0;
  private event = '';
  private id: string | undefined;

  constructor(
    private readonly onEvent: (event: StreamEvent) => void,
    private readonly onRetry: (ms: number) => void = () => {},
    private readonly maxEventChars = 64 * 1024 * 1024,
  ) {}

  feed(chunk: string): void {
    if (chunk === '') return;
    let text = chunk;
    if (this.first && text.length > 0) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    let start = 0;
    if (this.afterCr && text.charCodeAt(0) === 10) start = 1;
    this.afterCr = false;
    for (let i = start; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = this.partial + text.slice(start, i);
      this.partial = '';
      if (c === 13) {
        if (i + 1 === text.length) this.afterCr = true;
        else if (text.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
      this.line(line);
    }
    this.partial += text.slice(start);
    if (this.partial.length + this.dataChars > this.maxEventChars) {
      throw new Error(`an event of the stream is longer than ${this.maxEventChars} characters`);
    }
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ":" starts a comment (keep-alives)
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        // Each line is a string of its own until the event ends: counted with its overhead, so that a stream of
        // short lines cannot hold many times the limit.
        this.dataChars += value.length + LINE_OVERHEAD;
        if (this.dataChars > this.maxEventChars) {
          throw new Error(`an event of the stream is longer than ${this.maxEventChars} characters`);
        }
        break;
      case 'event':
        this.event = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.id = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.onRetry(Number(value));
        break;
      default:
      // Unknown fields are ignored (the format's rule).
    }
  }

  private dispatch(): void {
    const id = this.id;
    const hadData = this.data.length > 0;
    const event: StreamEvent = {
      event: this.event === '' ? 'message' : this.event,
      data: this.data.join('\n'),
      id,
    };
    this.data = [];
    this.dataChars = 0;
    this.event = '';
    // The id stays the stream's last event id until another one replaces it; only a new id is reported with an event.
    this.id = undefined;
    if (hadData || id !== undefined) this.onEvent(event);
  }
}
