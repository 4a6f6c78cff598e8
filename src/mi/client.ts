/**
 * The MI client of `sipstats mi`: command-line words shaped into MI params the way opensips-cli
 * shapes them, and one JSON-RPC call over HTTP.
 */

/**
 * The commands that take a `statistics` array (the statistics module's, get_history, the cluster
 * read), with the other named params each one takes.
 */
const STATISTICS_COMMANDS = new Map<string, readonly string[]>([
  ['get_statistics', []],
  ['list_statistics', []],
  ['reset_statistics', []],
  ['clear_statistics', []],
  ['statistics:get', []],
  ['statistics:list', []],
  ['statistics:reset', []],
  ['statistics:clear', []],
  ['get_history', ['points']],
  ['statistics:history', ['points']],
  ['cluster_get_statistics', []],
  ['cluster:get', []],
]);

/**
 * MI params from command-line words, the way opensips-cli shapes them: only `key=value` words →
 * named params (`statistics=` split on spaces into an array); otherwise positional, except that the
 * commands taking statistics names take all their words as one array param, and their other named
 * params (`points=N` of get_history) beside it; no words → `{}`.
 */
export function miParams(method: string, args: readonly string[]): unknown[] | Record<string, unknown> {
  const extra = STATISTICS_COMMANDS.get(method);
  if (args.every((a) => /^[a-zA-Z.\-_]+=/.test(a))) {
    const out: Record<string, unknown> = {};
    for (const a of args) {
      const eq = a.indexOf('=');
      const k = a.slice(0, eq);
      const v = a.slice(eq + 1);
      out[k] = extra !== undefined && k === 'statistics' ? v.split(/\s+/).filter((x) => x !== '') : v;
    }
    return out;
  }
  if (extra === undefined) return [...args];
  const named: Record<string, unknown> = {};
  const names: string[] = [];
  for (const a of args) {
    const eq = a.indexOf('=');
    const k = eq > 0 ? a.slice(0, eq) : '';
    if (k === 'statistics') names.push(...a.slice(eq + 1).split(/\s+/).filter((x) => x !== ''));
    else if (extra.includes(k)) named[k] = a.slice(eq + 1);
    else names.push(a);
  }
  return Object.keys(named).length === 0 ? [names] : { statistics: names, ...named };
}

export type MiCallResult = { ok: true; reply: { result?: unknown; error?: { code: number; message: string; data?: unknown } } } | { ok: false; problem: string };

/** Where the MI of the server `url` points at is (`http://host:port/mi`), or null when `url` is on /mi already. */
export function miUrlFor(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.pathname === '/mi' || u.pathname.startsWith('/mi/')) return null;
  return `${u.origin}/mi`;
}

/** POSTs one JSON-RPC request to `url` (30 s at most); a transport or HTTP failure is a `problem` text. */
export async function callMi(url: string, token: string | undefined, method: string, params: unknown): Promise<MiCallResult> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: String(process.pid), method, params }), signal: AbortSignal.timeout(30_000) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code;
    return { ok: false, problem: `cannot reach ${url}: ${cause ?? (e as Error).message}` };
  }
  const text = await res.text();
  if (res.status !== 200) {
    // a server URL without its /mi path (`--url http://host:port/`): say where the MI is
    const mi = miUrlFor(url);
    if ((res.status === 404 || res.status === 405) && mi !== null) return { ok: false, problem: `HTTP ${res.status} from ${url}: the MI is at ${mi}` };
    return { ok: false, problem: `HTTP ${res.status} ${res.statusText}${text ? `: ${text}` : ''}` };
  }
  try {
    return { ok: true, reply: JSON.parse(text) };
  } catch {
    return { ok: false, problem: `not a JSON reply: ${text.slice(0, 200)}` };
  }
}
