import { readIngest } from './ingest-config.ts';
import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { ConfigError, SipstatsError } from '../errors.ts';
import type { Result } from '../errors.ts';
import type { EngineConfig } from '../core/types.ts';
import { DEFAULTS } from './defaults.ts';
import { defaultEngineConfig } from './default-profiles.ts';
import { parseNativeText } from './yaml-format.ts';
import { parseOpenSipsConfig } from './opensips.ts';
import type { ServerConfig } from './schema.ts';
import { deepFreeze, parseListen } from './fields.ts';

/**
 * Reads a configuration file and decides its format:
 * - `.cfg`, `.conf`, `.m4`, or any text with a `modparam(` call: OpenSIPS modparam lines or a whole
 *   opensips.cfg (only `modparam("statistics", ...)` lines count; listener and token then come
 *   from the command line, the environment or the defaults);
 * - `.yaml`, `.yml`, `.json`, or anything else: the native format (src/config/yaml-format.ts).
 */

export type ConfigFormat = 'opensips' | 'native';

export function detectFormat(text: string, path?: string): ConfigFormat {
  const ext = path === undefined ? '' : extname(path).toLowerCase();
  if (['.cfg', '.conf', '.m4'].includes(ext)) return 'opensips';
  if (['.yaml', '.yml', '.json'].includes(ext)) return 'native';
  return /(^|[^A-Za-z0-9_])modparam\s*\(/.test(text) ? 'opensips' : 'native';
}

/** A server configuration of statistics only: the listener, token and the rest from the defaults. */
function withDefaults(engine: EngineConfig, source: ServerConfig['source']): ServerConfig {
  const listen = parseListen(DEFAULTS.listen);
  if (!listen.ok) throw new SipstatsError('E_INTERNAL', 'bad default listen address');
  return deepFreeze({ listen: listen.value, auth: { token: DEFAULTS.token, readToken: null, allowUnauthenticated: false }, engine, hep: null, dataDir: null, redis: null, kpi: null, ingest: readIngest(null, null).value, source });
}

function fromOpenSips(text: string, source: ServerConfig['source']): Result<ServerConfig> {
  const r = parseOpenSipsConfig(text);
  if (!r.ok) return r;
  return { ok: true, value: withDefaults(r.value, source) };
}

/**
 * Parses configuration text of either format (`path` only helps the detection). `baseDir`: where
 * relative paths in a native file resolve (the file's directory; default the working directory).
 */
export function parseConfigText(text: string, path?: string, baseDir?: string): Result<ServerConfig> {
  return detectFormat(text, path) === 'opensips' ? fromOpenSips(text, 'opensips') : parseNativeText(text, baseDir);
}

/** The embedded default configuration (the catalogue's profiles: DEFAULT_MODPARAMS; listener 127.0.0.1:8888, no token). */
export function defaultConfig(): ServerConfig {
  return withDefaults(defaultEngineConfig(), 'default');
}

/**
 * Loads a configuration file (`path` relative to the working directory); throws ConfigError listing
 * every problem (with `path` as source). Relative paths inside the file resolve against the file's
 * own directory.
 */
export async function loadConfigFile(path: string): Promise<ServerConfig> {
  const abs = resolve(path);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (e) {
    throw new ConfigError([{ code: 'E_CONFIG', line: 0, path, message: `cannot read ${abs}: ${(e as NodeJS.ErrnoException).code ?? String(e)}` }], path);
  }
  const r = parseConfigText(text, path, dirname(abs));
  if (!r.ok) throw new ConfigError(r.issues, path);
  return r.value;
}
