import { Redis } from 'ioredis';
import { startSentinels } from './test/support/redis-ha.ts';
const ss = await startSentinels();
try {
  const io = new Redis({ sentinels: ss.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })), name: 'mymaster', lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 2000, commandTimeout: 5000,
    retryStrategy: (n) => Math.min(100 * 2 ** (n-1), 100), sentinelRetryStrategy: (n) => Math.min(100 * 2 ** (n-1), 100), failoverDetector: true, sentinelCommandTimeout: 2000 });
  for (const ev of ['ready', 'close', 'reconnecting', 'end', 'connect']) io.on(ev, () => console.log(Date.now() % 100000, 'ev', ev, io.status));
  io.on('error', (e) => console.log(Date.now() % 100000, 'error', e.message));
  await io.connect();
  console.log('stream', io.stream.remotePort, ss.master.port);
  const t0 = Date.now();
  const p = ss.killMaster();
  p.then((r) => console.log(Date.now() % 100000, 'promoted', r, Date.now() - t0));
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 200));
    try { await io.set('k', String(i)); console.log(Date.now() % 100000, 'ok', io.stream.remotePort); if (i > 10) break; } catch (e) { if (i % 5 === 0) console.log(Date.now() % 100000, 'fail', (e as Error).message, io.status); }
  }
  io.disconnect();
} catch (e) { console.log('ERR', e); } finally { await ss.dispose(); process.exit(0); }
