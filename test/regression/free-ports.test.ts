/**
 * The end-to-end tests pick UDP ports for the tools they start (Kamailio, SIPp) and release them
 * before the tool binds them. They were the kernel's ephemeral ports (a bind to port 0): in the
 * moment between, the kernel could hand the same port to a socket of another test running beside,
 * and Kamailio failed to start ("bind ... Address already in use", seen once in `npm test`). They
 * are now picked below the ephemeral range, where no bind to 0 and no client socket lands.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ephemeralLow, freeUdpPorts, udpPortTaken } from '../support/processes.ts';

test('freeUdpPorts: distinct, free, and below the kernel\'s ephemeral range', async () => {
  const ports = await freeUdpPorts(40);
  assert.equal(new Set(ports).size, 40);
  for (const p of ports) {
    assert.ok(p >= 1024 && p < ephemeralLow(), `${p} below ${ephemeralLow()}`);
    assert.equal(await udpPortTaken('127.0.0.1', p), false, `${p} free`);
  }
});
