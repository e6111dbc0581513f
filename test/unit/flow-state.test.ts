// The memory store of upstream OAuth flows under way (src/identity/upstream/flow-state.ts): a value is taken once,
// expires, and start links (made on every refused call) never push out an authorization under way.
import { describe, expect, it } from 'vitest';
import { MemoryFlowState } from '../../src/identity/upstream/flow-state.js';

describe('MemoryFlowState', () => {
  it('#20.5.18 takes a value once and forgets it after its time', async () => {
    let now = 1000;
    const store = new MemoryFlowState(() => now);
    await store.put('ticket:a', 'v', 100);
    expect(await store.get('ticket:a')).toBe('v');
    expect(await store.take('ticket:a')).toBe('v');
    expect(await store.take('ticket:a')).toBeUndefined();
    await store.put('state:b', 'w', 100);
    now += 100;
    expect(await store.get('state:b')).toBeUndefined();
  });

  it('#20.5.18 a flood of start links does not push out a started authorization', async () => {
    const store = new MemoryFlowState();
    await store.put('state:mine', 'pending', 600_000);
    for (let i = 0; i < 25_000; i++) await store.put(`ticket:${i}`, 't', 600_000);
    expect(await store.get('state:mine')).toBe('pending');
    // The oldest links went, the newest stay.
    expect(await store.get('ticket:0')).toBeUndefined();
    expect(await store.get('ticket:24999')).toBe('t');
  });
});
