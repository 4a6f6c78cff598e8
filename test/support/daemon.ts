/**
 * A server program a test starts on loopback (Prometheus, Alertmanager): spawned with its output
 * kept, waited for until its readiness URL answers 200, stopped with SIGTERM (SIGKILL after a grace
 * period), and its scratch directory removed. The caller picks the port and writes the files.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

export interface Daemon {
  /** What it printed so far (stdout and stderr). */
  output(): string;
  /** Stops it (idempotent) and removes its directory. */
  stop(): Promise<void>;
}

export async function startDaemon(o: { name: string; bin: string; args: readonly string[]; readyUrl: string; dir: string; readyMs?: number; graceMs?: number }): Promise<Daemon> {
  let out = '';
  const child: ChildProcess = spawn(o.bin, [...o.args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), o.graceMs ?? 3000);
      await gone;
      clearTimeout(t);
    }
    rmSync(o.dir, { recursive: true, force: true });
  };
  const readyMs = o.readyMs ?? 15_000;
  const deadline = Date.now() + readyMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${o.name} exited (${child.exitCode}):\n${out}`);
    try {
      if ((await fetch(o.readyUrl)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${o.name} not ready within ${readyMs / 1000} s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { output: () => out, stop };
}
