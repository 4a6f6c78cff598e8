import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AGENT_CLOCK_TOLERANCE_MS, AgentClocks } from '../../src/kpi/agent-clocks.ts';

const T = 1_795_508_400_000;
const TOL = AGENT_CLOCK_TOLERANCE_MS;

test('an agent within the tolerance is never shifted, and nothing is counted', () => {
  let adjusted = 0;
  const c = new AgentClocks(() => adjusted++);
  fc.assert(
    fc.property(fc.integer({ min: -TOL, max: TOL }), fc.integer({ min: 0, max: 3 }), fc.option(fc.constantFrom('a', 'b')), (off, id, name) => {
      assert.equal(c.shift(id, name ?? undefined, 0, T - off, T), 0);
    }),
  );
  assert.equal(adjusted, 0);
  assert.equal(c.size, 0);
});

test('an agent off by more: one constant shift (its own differences exact), kept while it drifts within the tolerance', () => {
  let adjusted = 0;
  const c = new AgentClocks(() => adjusted++);
  const off = 3600_000; // an hour behind
  assert.equal(c.shift(1, 'edge', 0, T - off, T), off);
  // later packets, with network and queueing jitter of up to the tolerance: the same shift
  for (const jitter of [0, 40, 900, TOL - 1, -TOL + 1]) assert.equal(c.shift(1, 'edge', 0, T + 10_000 - off, T + 10_000 + jitter), off);
  assert.equal(adjusted, 1);
  // another agent of the same capture id but another name is another clock
  assert.equal(c.shift(1, 'core', 0, T, T), 0);
  assert.equal(c.shift(1, 'core', 0, T - 7200_000, T), 7200_000);
  assert.equal(c.size, 2);
  // the first agent's clock jumps: a new shift, counted
  assert.equal(c.shift(1, 'edge', 0, T - 2 * off, T), 2 * off);
  // and is set right: its own times again, counted
  assert.equal(c.shift(1, 'edge', 0, T, T), 0);
  assert.equal(c.size, 1);
  assert.equal(adjusted, 4);
});

test('a shifted agent goes back to its own times only within half the tolerance (no flapping at the edge)', () => {
  const c = new AgentClocks(() => {});
  assert.equal(c.shift(3, undefined, 0, T - (TOL + 200), T), TOL + 200);
  assert.equal(c.shift(3, undefined, 0, T - (TOL - 200), T), TOL + 200, 'just inside the tolerance: still shifted');
  assert.equal(c.shift(3, undefined, 0, T - TOL / 4, T), 0);
});

test('two agents sharing one capture id, name and address and disagreeing: each packet ends on the server clock, every change counted', () => {
  let adjusted = 0;
  const c = new AgentClocks(() => adjusted++);
  for (let i = 0; i < 10; i++) {
    const off = i % 2 === 0 ? 3600_000 : -7200_000;
    assert.equal(T + i - off + c.shift(9, 'same', 77, T + i - off, T + i), T + i);
  }
  assert.equal(adjusted, 10);
});

test('two agents sharing one capture id and name but sending from two addresses: a shift each, set once', () => {
  let adjusted = 0;
  const c = new AgentClocks(() => adjusted++);
  for (let i = 0; i < 10; i++) {
    assert.equal(c.shift(1, undefined, 1111, T + i - 3600_000, T + i), 3600_000);
    assert.equal(c.shift(1, undefined, 2222, T + i + 7200_000, T + i), -7200_000);
    assert.equal(c.shift(1, undefined, 3333, T + i, T + i), 0, 'a third one on time keeps its times');
  }
  assert.equal(adjusted, 2);
  assert.equal(c.size, 2);
});

test('the table of shifted agents is bounded', () => {
  const c = new AgentClocks(() => {});
  for (let id = 0; id < 5000; id++) c.shift(id, undefined, 0, T - 3600_000, T);
  assert.ok(c.size <= 1024, `${c.size} agents held`);
});
