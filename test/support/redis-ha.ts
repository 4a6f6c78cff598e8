import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, redisServerPath } from './redis-server.ts';

/**
 * Real Redis Cluster and Sentinel set-ups on loopback for the tests: every process is a child of the
 * test, in a temp dir; `dispose()` kills them all and removes the dir (call it in t.after / finally).
 */

function binary(name: string, pkg: string): string {
  for (const dir of ['/usr/bin', '/usr/local/bin', ...(process.env.PATH ?? '').split(delimiter)]) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  throw new Error(`${name} not found: install the Debian package \`${pkg}\` (apt-get install ${pkg}) to run the Redis Cluster/Sentinel tests`);
}

export const redisCliPath = () => binary('redis-cli', 'redis-tools');

export interface Proc {
  readonly port: number;
  readonly addr: string;
  readonly child: ChildProcess;
  /** SIGKILL, resolves when it has exited. */
  kill(): Promise<void>;
}

function spawnReady(bin: string, args: string[], port: number, ready: RegExp, what: string): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const c = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const to = setTimeout(() => fail(new Error(`${what} on port ${port} did not start within 10 s:\n${out}`)), 10_000);
    const fail = (e: Error) => {
      clearTimeout(to);
      c.kill('SIGKILL');
      reject(e);
    };
    const kill = () =>
      new Promise<void>((res) => {
        if (c.exitCode !== null || c.signalCode !== null) return res();
        c.removeAllListeners('exit');
        c.once('exit', () => res());
        c.kill('SIGKILL');
      });
    c.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.length > 20_000) out = out.slice(-10_000);
      if (ready.test(out)) {
        clearTimeout(to);
        ready = /(?!)/; // once
        resolve({ port, addr: `127.0.0.1:${port}`, child: c, kill });
      }
    });
    c.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    c.once('exit', (code) => fail(new Error(`${what} exited (${code}):\n${out}`)));
  });
}

/**
 * A free port, then the process on it; again on another port when something else took that one
 * meanwhile (tests run concurrently: a port found free can be taken before the server binds it).
 */
async function spawnOnFreePort(bin: string, argsOf: (port: number) => string[], ready: RegExp, what: string, usable: (port: number) => boolean = () => true): Promise<Proc> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    if (!usable(port)) continue;
    try {
      return await spawnReady(bin, argsOf(port), port, ready, what);
    } catch (e) {
      if (attempt >= 5 || !/Address already in use/.test(String((e as Error).message))) throw e;
    }
  }
}

async function until(what: string, cond: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await cond()) return;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function ask<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, connectTimeout: 1000 });
  r.on('error', () => {});
  try {
    await r.connect();
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

export interface RedisClusterSetup {
  /** Every node, masters first as created (the roles change on failover: see masters()). */
  readonly nodes: Proc[];
  readonly seeds: string[];
  /** Current masters' ports (asked of a live node). */
  masters(): Promise<number[]>;
  /** The master serving `key`'s slot, and its replicas (ports). */
  ownerOf(key: string): Promise<{ slot: number; master: number; replicas: number[] }>;
  /** SIGKILLs the master on `port`; resolves once a replica took over its slots (cluster state ok everywhere). */
  killMaster(port: number): Promise<{ promoted: number }>;
  dispose(): Promise<void>;
}

/** A 3-master Redis Cluster with one replica each (6 redis-server processes), ready (cluster_state ok). */
export async function startRedisCluster(): Promise<RedisClusterSetup> {
  const server = redisServerPath();
  const cli = redisCliPath();
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-rcluster-'));
  const nodes: Proc[] = [];
  const dispose = async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // cluster bus port = port + 10000: it must exist too
    for (let i = 0; i < 6; i++) {
      const args = (port: number) => [
        '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
        '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '1000',
        '--save', '', '--appendonly', 'no', '--dir', dir, '--dbfilename', `dump-${port}.rdb`, '--loglevel', 'notice',
        '--cluster-replica-validity-factor', '0', '--protected-mode', 'no',
      ];
      nodes.push(await spawnOnFreePort(server, args, /Ready to accept connections/, 'redis-server (cluster)', (p) => p < 55_000));
    }
    const r = spawnSync(cli, ['--cluster', 'create', ...nodes.map((n) => n.addr), '--cluster-replicas', '1', '--cluster-yes'], { encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0) throw new Error(`redis-cli --cluster create failed (${r.status}): ${r.stdout}\n${r.stderr}`);
    await until('cluster_state:ok on every node', async () => {
      for (const n of nodes) {
        const info = await ask(n.port, (c) => c.call('CLUSTER', 'INFO') as Promise<string>);
        if (!/cluster_state:ok/.test(info)) return false;
        // every range served by a master and a replica
        const slots = await ask(n.port, (c) => c.call('CLUSTER', 'SLOTS') as Promise<unknown[][]>);
        if (slots.length < 3 || slots.some((s) => s.length < 4)) return false;
        const repl = await ask(n.port, (c) => c.info('replication'));
        if (/role:slave/.test(repl) && !/master_link_status:up/.test(repl)) return false;
      }
      return true;
    }, 20_000);
  } catch (e) {
    await dispose();
    throw e;
  }
  const live = () => nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null);
  const masters = async (): Promise<number[]> => {
    for (const n of live()) {
      try {
        const slots = await ask(n.port, (c) => c.call('CLUSTER', 'SLOTS') as Promise<[number, number, [string, number]][]>);
        return [...new Set(slots.map((s) => Number(s[2][1])))].sort();
      } catch {
        // next
      }
    }
    throw new Error('no live cluster node answers');
  };
  return {
    nodes,
    seeds: nodes.map((n) => n.addr),
    masters,
    async ownerOf(key) {
      const n0 = live()[0];
      const slot = Number(await ask(n0.port, (c) => c.call('CLUSTER', 'KEYSLOT', key)));
      const slots = await ask(n0.port, (c) => c.call('CLUSTER', 'SLOTS') as Promise<[number, number, ...[string, number][]][]>);
      const s = slots.find(([a, b]) => a <= slot && slot <= b);
      if (s === undefined) throw new Error(`slot ${slot} not served`);
      const [, , m, ...r] = s;
      return { slot, master: Number(m[1]), replicas: r.map((x) => Number(x[1])) };
    },
    async killMaster(port) {
      const victim = nodes.find((n) => n.port === port);
      if (victim === undefined) throw new Error(`no node on port ${port}`);
      const owned = async (via: number) => {
        const slots = await ask(via, (c) => c.call('CLUSTER', 'SLOTS') as Promise<[number, number, [string, number]][]>);
        return slots.map((s) => Number(s[2][1]));
      };
      await victim.kill();
      let promoted = -1;
      const before = new Set(await masters().catch(() => []));
      await until(`a replica to take over from the killed master ${port}`, async () => {
        for (const n of live()) {
          const info = await ask(n.port, (c) => c.call('CLUSTER', 'INFO') as Promise<string>);
          if (!/cluster_state:ok/.test(info)) return false;
          const ms = await owned(n.port);
          if (ms.includes(port)) return false;
          promoted = ms.find((m) => !before.has(m)) ?? promoted;
        }
        return true;
      }, 20_000);
      return { promoted };
    },
    dispose,
  };
}

export interface SentinelSetup {
  readonly master: Proc;
  readonly replica: Proc;
  readonly sentinels: Proc[];
  readonly sentinelAddrs: string[];
  readonly name: string;
  /** The master's port as the sentinels report it. */
  currentMaster(): Promise<number>;
  /** SIGKILLs the current master; resolves once the sentinels switched to the replica. */
  killMaster(): Promise<{ killed: number; promoted: number }>;
  dispose(): Promise<void>;
}

/** One master, one replica (--replicaof), three sentinels monitoring `mymaster` with quorum 2. */
export async function startSentinels(name = 'mymaster'): Promise<SentinelSetup> {
  const server = redisServerPath();
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-sentinel-'));
  const procs: Proc[] = [];
  const dispose = async () => {
    await Promise.all(procs.map((n) => n.kill()));
    rmSync(dir, { recursive: true, force: true });
  };
  const base = (port: number) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--dbfilename', `dump-${port}.rdb`, '--loglevel', 'notice', '--protected-mode', 'no'];
  let master: Proc, replica: Proc;
  const sentinels: Proc[] = [];
  try {
    master = await spawnOnFreePort(server, base, /Ready to accept connections/, 'redis-server (master)');
    procs.push(master);
    const mp = master.port;
    replica = await spawnOnFreePort(server, (rp) => [...base(rp), '--replicaof', '127.0.0.1', String(mp)], /Ready to accept connections/, 'redis-server (replica)');
    procs.push(replica);
    const rp = replica.port;
    await until('the replica to sync', async () => /master_link_status:up/.test(await ask(rp, (c) => c.info('replication'))), 10_000);
    for (let i = 0; i < 3; i++) {
      const sentinelArgs = (sp: number) => {
        const conf = join(dir, `sentinel-${sp}.conf`);
        // sentinel rewrites its config file: one per sentinel, writable
        writeFileSync(
          conf,
          [
            `port ${sp}`,
            'bind 127.0.0.1',
            'protected-mode no',
            `dir ${dir}`,
            `sentinel monitor ${name} 127.0.0.1 ${mp} 2`,
            `sentinel down-after-milliseconds ${name} 1000`,
            `sentinel failover-timeout ${name} 3000`,
            `sentinel parallel-syncs ${name} 1`,
            '',
          ].join('\n'),
        );
        return [conf, '--sentinel'];
      };
      const s = await spawnOnFreePort(server, sentinelArgs, /Sentinel ID is|\+monitor master/, 'redis-server --sentinel');
      procs.push(s);
      sentinels.push(s);
    }
    await until('the sentinels to know each other and the replica', async () => {
      for (const s of sentinels) {
        const m = (await ask(s.port, (c) => c.call('SENTINEL', 'MASTER', name))) as string[];
        const f: Record<string, string> = {};
        for (let i = 0; i + 1 < m.length; i += 2) f[m[i]] = m[i + 1];
        if (Number(f['num-other-sentinels']) < 2 || Number(f['num-slaves']) < 1) return false;
      }
      return true;
    }, 15_000);
  } catch (e) {
    await dispose();
    throw e;
  }
  const currentMaster = async () => {
    for (const s of sentinels) {
      try {
        const a = (await ask(s.port, (c) => c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name))) as [string, string];
        return Number(a[1]);
      } catch {
        // next
      }
    }
    throw new Error('no sentinel answers');
  };
  return {
    master: master!,
    replica: replica!,
    sentinels,
    sentinelAddrs: sentinels.map((s) => s.addr),
    name,
    currentMaster,
    async killMaster() {
      const killed = await currentMaster();
      const victim = procs.find((p) => p.port === killed);
      if (victim === undefined) throw new Error(`no process on port ${killed}`);
      await victim.kill();
      let promoted = -1;
      await until('the sentinels to promote the replica', async () => {
        const p = await currentMaster();
        if (p === killed) return false;
        const role = (await ask(p, (c) => c.call('ROLE'))) as unknown[];
        promoted = p;
        return role[0] === 'master';
      }, 25_000);
      return { killed, promoted };
    },
    dispose,
  };
}
