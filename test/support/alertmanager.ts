import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis-server.ts';
import { startDaemon } from './daemon.ts';

/** Where `prometheus-alertmanager` is, or a thrown Error telling how to install it (tests fail, not skip). */
export function alertmanagerPath(): string {
  for (const bin of ['prometheus-alertmanager', 'alertmanager']) if (spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0) return bin;
  throw new Error('prometheus-alertmanager not found: install the Debian package `prometheus-alertmanager` (apt-get install prometheus-alertmanager) to run the alert tests');
}

export interface AlertmanagerInstance {
  readonly url: string;
  /** GET /api/v2/alerts (active alerts, as Alertmanager lists them). */
  alerts(): Promise<{ labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; endsAt: string; status: { state: string } }[]>;
  stop(): Promise<void>;
}

/** A private Alertmanager on a free loopback port: no gossip (empty cluster address), storage in a temp dir. */
export async function startAlertmanager(): Promise<AlertmanagerInstance> {
  const bin = alertmanagerPath();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sipstats-am-'));
  const cfg = join(dir, 'alertmanager.yml');
  writeFileSync(cfg, 'route:\n  receiver: blackhole\n  group_wait: 1s\n  group_interval: 1s\nreceivers:\n  - name: blackhole\n');
  const url = `http://127.0.0.1:${port}`;
  const daemon = await startDaemon({
    name: 'alertmanager',
    bin,
    args: [`--config.file=${cfg}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=warn'],
    readyUrl: `${url}/-/ready`,
    dir,
  });
  const stop = daemon.stop;
  return {
    url,
    async alerts() {
      const r = await fetch(`${url}/api/v2/alerts`);
      if (r.status !== 200) throw new Error(`alertmanager GET /api/v2/alerts: HTTP ${r.status}`);
      return (await r.json()) as never;
    },
    stop,
  };
}

export type ReceiverMode = 'ok' | 'fail' | 'hang';

/** A plain JSON webhook receiver; its mode can be switched: answer 200, answer 500, or never answer. */
export interface Receiver {
  readonly url: string;
  mode: ReceiverMode;
  /** Bodies of the requests it acknowledged (200), in order. */
  readonly acknowledged: Record<string, unknown>[];
  /** Every request that arrived (acknowledged or not). */
  requests: number;
  close(): Promise<void>;
}

export async function startReceiver(mode: ReceiverMode = 'ok'): Promise<Receiver> {
  const hung: ServerResponse[] = [];
  const r: Receiver = {
    url: '',
    mode,
    acknowledged: [],
    requests: 0,
    close: async () => {
      for (const res of hung) res.destroy();
      srv.closeAllConnections();
      await new Promise<void>((ok) => srv.close(() => ok()));
    },
  };
  const srv: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      r.requests++;
      if (r.mode === 'hang') return void hung.push(res);
      if (r.mode === 'fail') {
        res.writeHead(500).end('down');
        return;
      }
      r.acknowledged.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', () => ok()));
  const a = srv.address();
  (r as { url: string }).url = `http://127.0.0.1:${typeof a === 'object' && a !== null ? a.port : 0}/hook`;
  return r;
}

/** Polls `check` every 100 ms until it returns a value other than undefined, or fails after `ms`. */
export async function waitFor<T>(what: string, ms: number, check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
