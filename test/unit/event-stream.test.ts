// The event-stream reader of the upstream HTTP transport: the WHATWG format's rules, whatever the chunking.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventStreamParser, type StreamEvent } from '../../src/transport/event-stream.js';

function parse(chunks: string[], max?: number): { events: StreamEvent[]; retries: number[] } {
  const events: StreamEvent[] = [];
  const retries: number[] = [];
  const parser = new EventStreamParser(
    (e) => events.push(e),
    (ms) => retries.push(ms),
    max,
  );
  for (const c of chunks) parser.feed(c);
  return { events, retries };
}

/** Cuts `text` at the given fractions of its length. */
function cut(text: string, at: number[]): string[] {
  const points = [...new Set(at.map((f) => Math.floor(f * text.length)))].sort((a, b) => a - b);
  const out: string[] = [];
  let from = 0;
  for (const p of points) {
    out.push(text.slice(from, p));
    from = p;
  }
  out.push(text.slice(from));
  return out;
}

describe('EventStreamParser', () => {
  it('reads message events with ids, names, multi-line data and comments', () => {
    const text =
      ': keep-alive\n\n' +
      'id: 1\ndata: {"a":1}\n\n' +
      'event: message\ndata: line one\ndata: line two\n\n' +
      'event: other\ndata:x\n\n' +
      'id: 7\n\n' +
      'data\n\n';
    expect(parse([text]).events).toEqual([
      { event: 'message', data: '{"a":1}', id: '1' },
      { event: 'message', data: 'line one\nline two', id: undefined },
      { event: 'other', data: 'x', id: undefined },
      { event: 'message', data: '', id: '7' },
      { event: 'message', data: '', id: undefined },
    ]);
  });

  it('takes LF, CR LF and CR line ends, a leading BOM, and ignores an id with NUL and unknown fields', () => {
    const text = '\uFEFFdata: a\r\n\r\ndata: b\r\rid: x\0y\nfoo: bar\ndata: c\n\n';
    expect(parse([text]).events).toEqual([
      { event: 'message', data: 'a', id: undefined },
      { event: 'message', data: 'b', id: undefined },
      { event: 'message', data: 'c', id: undefined },
    ]);
  });

  it('does not dispatch an event the stream ended in the middle of', () => {
    expect(parse(['data: whole\n\ndata: half\n']).events).toEqual([
      { event: 'message', data: 'whole', id: undefined },
    ]);
  });

  it('keeps a CR LF pair together across an empty chunk', () => {
    expect(parse(['data: a\r', '', '\ndata: b\n\n']).events).toEqual([
      { event: 'message', data: 'a\nb', id: undefined },
    ]);
  });

  it('reports a valid retry field and ignores others', () => {
    expect(parse(['retry: 2500\nretry: soon\nretry: -1\n\n']).retries).toEqual([2500]);
  });

  it('gives the same events however the text is cut into chunks (CR LF pairs split included)', () => {
    const text =
      'id: 1\r\ndata: {"jsonrpc":"2.0","id":1,"result":{"ü":"€"}}\r\n\r\n: c\r\r' +
      'event: message\ndata: a\rdata: b\r\n\n' +
      'data: x\r\n\r\n';
    const whole = parse([text]).events;
    expect(whole).toHaveLength(3);
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }), (at) => {
        expect(parse(cut(text, at)).events).toEqual(whole);
      }),
      { numRuns: 500 },
    );
    // Every single cut point, the CR|LF boundaries among them.
    for (let i = 0; i <= text.length; i++) {
      expect(parse([text.slice(0, i), text.slice(i)]).events).toEqual(whole);
    }
  });

  it('throws on an event longer than its limit, in one chunk or many', () => {
    expect(() => parse([`data: ${'x'.repeat(200)}\n\n`], 100)).toThrow(/longer than 100 characters/);
    expect(() =>
      parse(
        Array.from({ length: 30 }, () => 'data: 0123456789\n'),
        100,
      ),
    ).toThrow(/longer than 100/);
    expect(() => parse(['data: ', 'x'.repeat(60), 'x'.repeat(60)], 100)).toThrow(/longer than 100/);
    expect(parse([`data: ${'x'.repeat(60)}\n\n`], 100).events).toHaveLength(1);
    // Each line counts with its overhead (32): many short lines cannot hold many times the limit.
    expect(() => parse(['data: ab\n'.repeat(3)], 100)).toThrow(/longer than 100/);
    expect(parse([`${'data: ab\n'.repeat(2)}\n`], 100).events).toEqual([
      { event: 'message', data: 'ab\nab', id: undefined },
    ]);
  });
});
