import { parseCustomerKey } from '../kpi/customer.ts';
import { compileCidrs } from '../kpi/cidr.ts';
import { parseCarrierKey } from '../kpi/dimensions.ts';
import type { TrackerOptions } from '../kpi/call-tracker.ts';

/** Exit codes: 0 ok, 1 failure (MI error, connection refused), 2 bad usage or configuration. */
export class UsageError extends Error {}

/** --invite-timeout, --customer-key, --platform, --carrier-key, --acd-from: shared by serve and replay. */
export function trackerFlags(v: { 'invite-timeout'?: string; 'customer-key'?: string; platform?: string; 'carrier-key'?: string; 'acd-from'?: string }): TrackerOptions {
  const t: TrackerOptions = {};
  if (v['invite-timeout'] !== undefined) {
    const s = Number(v['invite-timeout']);
    if (!(s >= 1 && s <= 3600)) throw new UsageError(`--invite-timeout must be 1..3600 seconds, got '${v['invite-timeout']}'`);
    t.inviteTimeoutMs = s * 1000;
  }
  if (v['customer-key'] !== undefined) {
    // a CIDR map does not fit on a command line: it lives in the native config file (kpi.customer)
    if (v['customer-key'].trim() === 'cidr') throw new UsageError("--customer-key cidr needs a map of addresses to customers: set it in a native config file, kpi.customer: { kind: cidr, map: { \"192.0.2.0/24\": acme } } (docs/kpis.md)");
    const k = parseCustomerKey(v['customer-key']);
    if (typeof k === 'string') throw new UsageError(`--customer-key: ${k}`);
    t.customer = k;
  }
  if (v.platform !== undefined) {
    const list = v.platform.split(',').map((x) => x.trim()).filter((x) => x !== '');
    try {
      compileCidrs(Object.fromEntries(list.map((c) => [c, 'p'])));
    } catch (e) {
      throw new UsageError(`--platform: ${(e as Error).message}`);
    }
    if (list.length === 0) throw new UsageError('--platform: give the platform addresses, CIDR[,CIDR...]');
    t.platform = list;
  }
  if (v['carrier-key'] !== undefined) {
    const k = parseCarrierKey(v['carrier-key']);
    if (typeof k === 'string') throw new UsageError(`--carrier-key: ${k}`);
    t.carrier = k;
  }
  if (v['acd-from'] !== undefined) {
    if (v['acd-from'] !== 'invite' && v['acd-from'] !== 'answer') throw new UsageError(`--acd-from must be invite or answer, got '${v['acd-from']}'`);
    t.acdFrom = v['acd-from'];
  }
  return t;
}

