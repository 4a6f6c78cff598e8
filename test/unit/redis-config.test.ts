import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNativeConfig, parseNativeText } from '../../src/config/yaml-format.ts';
import { redisTargetFromFlags, resolveRedisTarget } from '../../src/config/redis-config.ts';
import { ConfigError } from '../../src/errors.ts';
import { main } from '../../src/cli/main.ts';
import { crc16, keySlot } from '../../src/cluster/slot.ts';
import { SlotPipelineClient } from '../../src/cluster/link.ts';
import type { RedisCommand } from '../../src/cluster/push.ts';

const issues = (doc: unknown) => {
  const r = parseNativeConfig(doc);
  assert.equal(r.ok, false, JSON.stringify(doc));
  return (r as { issues: { path?: string; code: string; message: string }[] }).issues.map((i) => `${i.path}: ${i.code}: ${i.message}`);
};
const redisOf = (doc: unknown) => {
  const r = parseNativeConfig(doc);
  assert.ok(r.ok, JSON.stringify(r));
  return r.value.redis;
};

test('redis section: one Redis, a Redis Cluster, or Sentinel; empty means none', () => {
  assert.equal(redisOf({}), null);
  assert.deepEqual(redisOf({ redis: {} }), {});
  assert.deepEqual(redisOf({ redis: { url: 'redis://10.0.0.5:6379/2', nodeId: 'sip1' } }), { target: { mode: 'single', url: 'redis://10.0.0.5:6379/2' }, nodeId: 'sip1' });
  assert.deepEqual(redisOf({ redis: { cluster: ['10.0.0.5:7000', '[::1]:7001'], password: 'pw' } }), {
    target: { mode: 'cluster', nodes: [{ host: '10.0.0.5', port: 7000 }, { host: '::1', port: 7001 }], password: 'pw' },
  });
  assert.deepEqual(redisOf({ redis: { cluster: '10.0.0.5:7000,10.0.0.6:7000' } }), {
    target: { mode: 'cluster', nodes: [{ host: '10.0.0.5', port: 7000 }, { host: '10.0.0.6', port: 7000 }] },
  });
  assert.deepEqual(redisOf({ redis: { sentinels: ['s1:26379', 's2:26379'], master: 'mymaster', sentinelPassword: 'sp' } }), {
    target: { mode: 'sentinel', sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }], master: 'mymaster', sentinelPassword: 'sp' },
  });
  const yaml = parseNativeText('redis:\n  sentinels: [127.0.0.1:26379]\n  master: mymaster\n  nodeId: a-1\n');
  assert.ok(yaml.ok && yaml.value.redis?.target?.mode === 'sentinel');
});

test('redis section: unknown keys and bad combinations are refused with paths and codes', () => {
  assert.deepEqual(issues({ redis: { url: 'redis://h:1', colour: 1 } }), ['redis.colour: E_CFG_UNKNOWN_PARAM: unknown key (allowed: url, cluster, sentinels, master, password, sentinelPassword, nodeId)']);
  assert.deepEqual(issues({ redis: 'redis://h:1' }), ['redis: E_CFG_SYNTAX: must be an object {url | cluster | sentinels + master, password, nodeId}, got "redis://h:1"']);
  assert.deepEqual(issues({ redis: { nodeId: 'a' } }), ['redis: E_CFG_BAD_REDIS: give one of url, cluster or sentinels']);
  assert.deepEqual(issues({ redis: { url: 'redis://h:1', cluster: ['h:2'] } }), ['redis: E_CFG_BAD_REDIS: give exactly one of url, cluster or sentinels, not url and cluster']);
  assert.deepEqual(issues({ redis: { url: 'http://h:1' } }), ['redis.url: E_CFG_BAD_REDIS: must be a redis:// or rediss:// URL, got "http://h:1"']);
  assert.deepEqual(issues({ redis: { url: 'redis://h:1', password: 'x' } }), ['redis.password: E_CFG_BAD_REDIS: goes in the URL with url (redis://:PASSWORD@host:port)']);
  assert.deepEqual(issues({ redis: { cluster: [] } }), ['redis.cluster: E_CFG_BAD_REDIS: must name at least one HOST:PORT']);
  assert.deepEqual(issues({ redis: { cluster: ['h:1', 'nope'] } }), ['redis.cluster: E_CFG_BAD_REDIS: [1] must be HOST:PORT (IPv6 as [::1]:8888), got "nope"']);
  assert.deepEqual(issues({ redis: { cluster: ['h:0'] } }), ['redis.cluster: E_CFG_BAD_REDIS: [0] port 0 is not a Redis port']);
  assert.deepEqual(issues({ redis: { cluster: 5 } }), ['redis.cluster: E_CFG_BAD_REDIS: must be a list of HOST:PORT, got 5']);
  assert.deepEqual(issues({ redis: { sentinels: ['h:26379'] } }), ['redis.master: E_CFG_BAD_REDIS: is required with sentinels (the name the sentinels monitor)']);
  assert.deepEqual(issues({ redis: { cluster: ['h:1'], master: 'm', sentinelPassword: 'p' } }), [
    'redis.master: E_CFG_BAD_REDIS: only goes with sentinels',
    'redis.sentinelPassword: E_CFG_BAD_REDIS: only goes with sentinels',
  ]);
  assert.deepEqual(issues({ redis: { sentinels: ['h:1'], master: 'a b' } }), ["redis.master: E_CFG_BAD_REDIS: must be a master name of letters, digits, '_', '-', '.' (at most 64), got \"a b\""]);
  assert.deepEqual(issues({ redis: { url: 'redis://h:1', nodeId: 'a|b' } }), ['redis.nodeId: E_CFG_BAD_REDIS: must be a node id of 1..128 of A-Z a-z 0-9 _ . @ -, got "a|b"']);
});

test('--redis, --redis-cluster, --redis-sentinel + --redis-master: one deployment; the flags win, the file keeps the password', () => {
  assert.equal(redisTargetFromFlags({}), undefined);
  assert.deepEqual(redisTargetFromFlags({ 'redis-cluster': '127.0.0.1:7000, 127.0.0.1:7001' }), { mode: 'cluster', nodes: [{ host: '127.0.0.1', port: 7000 }, { host: '127.0.0.1', port: 7001 }] });
  assert.deepEqual(redisTargetFromFlags({ 'redis-sentinel': '127.0.0.1:26379', 'redis-master': 'mymaster' }), { mode: 'sentinel', sentinels: [{ host: '127.0.0.1', port: 26379 }], master: 'mymaster' });
  const refused = (f: Parameters<typeof redisTargetFromFlags>[0]) => {
    try {
      redisTargetFromFlags(f);
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      return e.issues.map((i) => `${i.path}: ${i.code}`);
    }
    assert.fail('accepted');
  };
  assert.deepEqual(refused({ redis: 'redis://h:1', 'redis-sentinel': 'h:2', 'redis-master': 'm' }), ['--redis --redis-sentinel: E_CFG_BAD_REDIS']);
  assert.deepEqual(refused({ 'redis-master': 'm' }), ['--redis-master: E_CFG_BAD_REDIS']);
  assert.deepEqual(refused({ 'redis-sentinel': 'h:1' }), ['--redis-master: E_CFG_BAD_REDIS']);
  assert.deepEqual(refused({ 'redis-cluster': 'h' }), ['--redis-cluster: E_CFG_BAD_REDIS']);
  assert.deepEqual(refused({ 'node-id': 'a b' }), ['--node-id: E_CFG_BAD_REDIS']);

  const file = { target: { mode: 'cluster' as const, nodes: [{ host: 'h', port: 1 }], password: 'pw' }, nodeId: 'x' };
  assert.deepEqual(resolveRedisTarget(undefined, file), file.target);
  assert.deepEqual(resolveRedisTarget(undefined, null), undefined);
  assert.deepEqual(resolveRedisTarget({ mode: 'cluster', nodes: [{ host: 'k', port: 2 }] }, file), { mode: 'cluster', nodes: [{ host: 'k', port: 2 }], password: 'pw' });
  assert.deepEqual(resolveRedisTarget({ mode: 'single', url: 'redis://k:2' }, file), { mode: 'single', url: 'redis://k:2' });
  const sfile = { target: { mode: 'sentinel' as const, sentinels: [{ host: 'h', port: 1 }], master: 'm', password: 'pw', sentinelPassword: 'sp' } };
  assert.deepEqual(resolveRedisTarget({ mode: 'sentinel', sentinels: [{ host: 'k', port: 2 }], master: 'n' }, sfile), { mode: 'sentinel', sentinels: [{ host: 'k', port: 2 }], master: 'n', password: 'pw', sentinelPassword: 'sp' });
});

test('the CLI refuses bad Redis flags with exit 2 and a message, no stack trace', async () => {
  const write = process.stderr.write.bind(process.stderr);
  let err = '';
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  let code: number;
  try {
    code = await main(['serve', '--no-persist', '--no-hep', '--listen', '127.0.0.1:0', '--redis-cluster', '127.0.0.1:7000', '--redis', 'redis://127.0.0.1:6379']);
  } finally {
    process.stderr.write = write;
  }
  assert.equal(code, 2);
  assert.match(err, /\[E_CFG_BAD_REDIS\] give one of --redis, --redis-cluster or --redis-sentinel/);
  assert.doesNotMatch(err, /\n\s+at /);
});

test('key slots: CRC16-XMODEM of the key or its hash tag, modulo 16384', () => {
  assert.equal(crc16(Buffer.from('123456789')), 0x31c3); // the check value of CRC16-XMODEM
  assert.equal(keySlot('foo'), 12182);
  assert.equal(keySlot('{user1000}.following'), keySlot('{user1000}.followers'));
  assert.equal(keySlot('sipstats:{perc}:percentage-60-6:1'), keySlot('perc'));
  assert.equal(keySlot('a{}{b}'), crc16(Buffer.from('a{}{b}')) % 16384); // the first tag is empty: the whole key
  assert.notEqual(keySlot('a{}{b}'), keySlot('b'));
  assert.equal(keySlot('x{y}z{w}'), keySlot('y'));
});

test('SlotPipelineClient: one pipeline per key slot, answers in the original order, a failed group fails only its commands', async () => {
  const sent: RedisCommand[][] = [];
  const fake = {
    pipeline(cmds: RedisCommand[]) {
      sent.push(cmds);
      return {
        exec: async () => {
          if (cmds.some((c) => String(c[1]).includes('{down}'))) throw new Error('CLUSTERDOWN');
          return cmds.map((c) => [null, `${c[0]} ${c[1]}`] as [Error | null, unknown]);
        },
      };
    },
  };
  const c = new SlotPipelineClient(fake as never);
  const cmds: RedisCommand[] = [
    ['hset', 'p:{a}:1', 'f', 'v'],
    ['hset', 'p:counters:n1', 'f', 'v'],
    ['pexpire', 'p:{a}:2', 10],
    ['zadd', 'p:nodes', 1, 'n1'],
    ['hset', 'p:{down}:1', 'f', 'v'],
    ['pexpire', 'p:{a}:1', 10],
  ];
  const res = (await c.pipeline(cmds).exec())!;
  assert.equal(res.length, cmds.length);
  assert.deepEqual(res.map(([e, v]) => (e === null ? v : e.message)), ['hset p:{a}:1', 'hset p:counters:n1', 'pexpire p:{a}:2', 'zadd p:nodes', 'CLUSTERDOWN', 'pexpire p:{a}:1']);
  assert.equal(sent.length, 4, 'keys of tag {a}, the counters, the nodes set, tag {down}');
  for (const group of sent) assert.equal(new Set(group.map((x) => keySlot(String(x[1])))).size, 1);
});
