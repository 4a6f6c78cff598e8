import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { defaultConfig, loadConfigFile } from '../config/load.ts';
import { prometheusRulesYaml } from '../alerts/prometheus-rules.ts';
import { UsageError } from './args.ts';

/**
 * `sipstats export prometheus-rules [--config FILE] [--out FILE] [--group NAME]`: the configuration's
 * alert rules as Prometheus alerting rules over the exported series (stdout unless --out).
 */
export async function exportCommand(argv: string[]): Promise<number> {
  const [what, ...rest] = argv;
  if (what !== 'prometheus-rules') throw new UsageError(`export: unknown export '${what ?? ''}' (known: prometheus-rules)`);
  const { values } = parseArgs({
    args: rest,
    options: { config: { type: 'string' }, out: { type: 'string' }, group: { type: 'string' } },
    strict: true,
    allowPositionals: false,
  });
  const config = values.config !== undefined ? await loadConfigFile(values.config) : defaultConfig();
  const text = prometheusRulesYaml(config.alerts?.rules ?? [], { group: values.group, source: values.config });
  if (values.out !== undefined) writeFileSync(values.out, text);
  else process.stdout.write(text);
  return 0;
}
