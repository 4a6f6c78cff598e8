import { KPI_MODPARAMS } from '../kpi/catalogue.ts';
/**
 * Every default of the server in one place, each with its unit. The embedded statistics
 * configuration is the KPI catalogue's profiles (data: KPI_PROFILES, built by
 * default-profiles.ts), shown here as the OpenSIPS modparam text an operator would write.
 */

/**
 * The embedded default configuration: the call-KPI profiles (docs/kpis.md: `perc`, `10m-perc`,
 * `1h-perc`, `avg`, `10m-avg`, `1h-avg`), the 95th-percentile profiles of PDD and AST, and the two
 * per-minute INVITE profiles of the OpenSIPS statistics module's documentation example. `perc` and `avg` keep OpenSIPS' defaults:
 * window=60 s, slots=60 (1 s each). Written from the catalogue's data; the server builds its
 * profiles from that data (src/config/default-profiles.ts), not from this text.
 */
export const DEFAULT_MODPARAMS = `# sipstats embedded default configuration (OpenSIPS modparam syntax)
${KPI_MODPARAMS}`;

export { DEFAULTS } from '../defaults.ts';
