import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';

/** Helpers shared by the tests that drive real tools (sipp, tcpdump, kamailio): processes and UDP ports. */

export const alive = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null;

/** Resolves with the exit code (or signal name) when `child` exits, or null after `ms`. */
export function exited(child: ChildProcess, ms: number): Promise<number | string | null> {
  if (!alive(child)) return Promise.resolve(child.exitCode ?? child.signalCode);
  return new Promise((res) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      res(null);
    }, ms);
    const onExit = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      res(code ?? signal);
    };
    child.once('exit', onExit);
  });
}

/** Stops a child: `signal`, then SIGKILL if it is still there after `graceMs`. */
export async function stop(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (!alive(child)) return;
  child.kill(signal);
  if ((await exited(child, graceMs)) === null && alive(child)) {
    child.kill('SIGKILL');
    await exited(child, 2000);
  }
}

/** Processes (Linux /proc) whose command line mentions `text` (a test's run directory): what a test left running. */
export function processesMentioning(text: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmd = readText(`/proc/${pid}/cmdline`).replaceAll('\0', ' ').trim();
    if (cmd.includes(text)) out.push(`${pid} ${cmd}`);
  }
  return out;
}

/** Kills `child`'s process group (it was spawned `detached`: a group of its own), if any of it is left. */
export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // (the group is gone already)
  }
}

/** A file's text, or '' when it cannot be read (a log a tool never wrote). */
export function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The last non-empty lines of a tool's output, without ANSI escapes (the SIPp screen is drawn with them). */
export function tail(text: string, lines = 40): string {
  return text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').split('\n').filter((l) => l.trim() !== '').slice(-lines).join('\n');
}

/** The first port of the kernel's ephemeral range (what a bind to port 0 or a client socket gets), 32768 when unknown. */
export function ephemeralLow(): number {
  const low = Number(readText('/proc/sys/net/ipv4/ip_local_port_range').trim().split(/\s+/)[0]);
  return Number.isInteger(low) && low > 2048 ? low : 32768;
}

/**
 * Distinct free UDP ports on 127.0.0.1 (held together so they differ, then released), below the
 * kernel's ephemeral range: a tool binds them a moment later, and a port the kernel had just handed
 * out (bind to 0) could meanwhile go to any socket of the tests running beside (Kamailio once
 * failed to start: "Address already in use").
 */
export async function freeUdpPorts(n: number): Promise<number[]> {
  const sockets: Socket[] = [];
  const low = Math.max(1024, ephemeralLow() - 12_000);
  const high = ephemeralLow();
  try {
    const ports: number[] = [];
    for (let tries = 0; ports.length < n; tries++) {
      if (tries > 1000) throw new Error(`no ${n} free UDP ports found in ${low}-${high - 1}`);
      const port = low + Math.floor(Math.random() * (high - low));
      if (ports.includes(port)) continue;
      const s = createSocket('udp4');
      const ok = await new Promise<boolean>((res) => {
        s.once('error', () => res(false));
        s.bind(port, '127.0.0.1', () => res(true));
      });
      if (!ok) {
        try {
          s.close();
        } catch {
          // (never bound: nothing to close)
        }
        continue;
      }
      sockets.push(s);
      ports.push(port);
    }
    return ports;
  } finally {
    for (const s of sockets) s.close();
  }
}

/** True when something already holds ip:port (UDP): a tool is listening. */
export async function udpPortTaken(ip: string, port: number): Promise<boolean> {
  const s = createSocket('udp4');
  try {
    await new Promise<void>((res, rej) => {
      s.once('error', rej);
      s.bind(port, ip, () => res());
    });
    return false;
  } catch {
    return true;
  } finally {
    s.close();
  }
}
