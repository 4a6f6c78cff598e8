import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { encodeHep } from '../../src/protocol/hep/encode.ts';
import { invite, reply } from '../support/sip-builder.ts';
import { DEFAULTS } from '../../src/defaults.ts';
import { nativeTrim } from '../../src/app/mem-trim.ts';

/** One figure of a Prometheus text (`name` or `name{labels}` exactly), or undefined. */
function figure(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('sipstats serve: /metrics gives the process figures, and a burst of new customers leaves the young generation at its first size (DEFAULTS.serveSmallYoungGeneration)', async () => {
  assert.equal(DEFAULTS.serveSmallYoungGeneration, true);
  const srv = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--listen', '127.0.0.1:0', '--hep-listen', '127.0.0.1:0', '--no-persist'], { env: { ...process.env, SIPSTATS_TOKEN: '' } });
  try {
    let out = '';
    const ports = await new Promise<{ http: string; hep: number }>((resolve, reject) => {
      srv.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const h = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        const p = /HEP on udp\+tcp 127\.0\.0\.1:(\d+)/.exec(out);
        if (h && p) resolve({ http: h[1], hep: Number(p[1]) });
      });
      srv.once('exit', (c) => reject(new Error(`sipstats serve exited with ${c}: ${out}`)));
    });
    const metrics = async () => (await fetch(`${ports.http}/metrics`)).text();
    const first = await metrics();
    const newSpace = (t: string) => figure(t, 'nodejs_heap_space_size_total_bytes{space="new"}');
    const firstNew = newSpace(first);
    assert.ok(firstNew !== undefined && firstNew > 0, 'nodejs_heap_space_size_total_bytes{space="new"} is exported');
    for (const name of ['process_resident_memory_bytes', 'process_cpu_seconds_total', 'process_start_time_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_external_memory_bytes']) assert.ok((figure(first, name) ?? 0) > 0, `${name} is exported`);
    assert.match(first, /# TYPE process_cpu_seconds_total counter\n/);

    // 4 000 calls of 4 000 new customers, INVITE and 200, sent in bursts as fast as the socket takes them
    const sock = createSocket('udp4');
    const send = (b: Buffer) => new Promise<void>((r, j) => sock.send(b, ports.hep, '127.0.0.1', (e) => (e ? j(e) : r())));
    const t0 = Date.now();
    for (let n = 0; n < 4000; n++) {
      const leg = { callId: `burst-${n}@test`, fromTag: `f${n}`, customer: `cust${n}` };
      const branch = `z9hG4bK-burst-${n}`;
      await send(encodeHep({ srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 5060, dstPort: 5060, timeMs: t0 + n, payload: invite(leg, { branch }) }));
      await send(encodeHep({ srcIp: '10.0.0.2', dstIp: '10.0.0.1', srcPort: 5060, dstPort: 5060, timeMs: t0 + n + 1, payload: reply(200, 'OK', leg, { branch, toTag: `t${n}` }) }));
    }
    sock.close();
    // the server took them (calls_started counts each INVITE it read)
    let started = 0;
    for (let i = 0; i < 100 && started < 4000; i++) {
      await new Promise((r) => setTimeout(r, 100));
      started = figure(await metrics(), 'sipstats_calls_started_total{group="sipstats"}') ?? 0;
    }
    assert.ok(started > 3000, `the server read the burst (calls_started ${started})`);
    const after = await metrics();
    // (at most its first size: V8 may still shrink it when the process idles)
    assert.ok(newSpace(after)! <= firstNew, `the young generation did not grow past its first size (${firstNew} -> ${newSpace(after)} bytes)`);
    // RSS as the kernel reports it
    const kernel = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${srv.pid}/status`, 'utf8'))![1]) * 1024;
    const rss = figure(after, 'process_resident_memory_bytes')!;
    assert.ok(Math.abs(rss - kernel) < 0.2 * kernel, `process_resident_memory_bytes ${rss} is the kernel's VmRSS ${kernel} (within what moved between the reads)`);
  } finally {
    srv.kill('SIGTERM');
    await new Promise((r) => (srv.exitCode !== null ? r(null) : srv.once('exit', r)));
  }
});

test('the native memory trim is built here (glibc) and gives back the C heap\'s free pages that free() alone keeps', () => {
  const { native, why } = nativeTrim();
  assert.ok(native !== null, why);
  // 2 000 blocks of 60 KB (under glibc's mmap threshold: in the heap), every other one freed: 60 MB
  // of free pages between live blocks, which stay resident until trimmed
  const code = `import { nativeTrim } from './src/app/mem-trim.ts';
const keep = []; let all = [];
for (let i = 0; i < 2000; i++) { const b = Buffer.allocUnsafeSlow(60 * 1024); b.fill(i & 255); all.push(b); }
for (let i = 0; i < all.length; i += 2) keep.push(all[i]);
all = null; gc(); gc();
const before = process.memoryUsage.rss();
const gave = nativeTrim().native.trim();
const after = process.memoryUsage.rss();
console.log(JSON.stringify({ gave, before, after, kept: keep.length }));`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const { gave, before, after } = JSON.parse(r.stdout.trim()) as { gave: boolean; before: number; after: number };
  assert.equal(gave, true);
  assert.ok(before - after > 40 * 1048576, `RSS ${(before / 1048576).toFixed(0)} -> ${(after / 1048576).toFixed(0)} MB: the freed 60 MB went back`);
});
