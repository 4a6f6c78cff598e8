import { parseCustomerKey } from '../kpi/customer.ts';
import type { TrackerOptions } from '../kpi/call-tracker.ts';

/** Exit codes: 0 ok, 1 failure (MI error, connection refused), 2 bad usage or configuration. */
export class UsageError extends Error {}

/** --invite-timeout and --customer-key, shared by serve and replay. */
export function trackerFlags(v: { 'invite-timeout'?: string; 'customer-key'?: string }): TrackerOptions {
  const t: TrackerOptions = {};
  if (v['invite-timeout'] !== undefined) {
    const s = Number(v['invite-timeout']);
    if (!(s > 0 && s <= 3600)) throw new UsageError(`--invite-timeout must be 1..3600 seconds, got '${v['invite-timeout']}'`);
    t.inviteTimeoutMs = s * 1000;
  }
  if (v['customer-key'] !== undefined) {
    const k = parseCustomerKey(v['customer-key']);
    if (typeof k === 'string') throw new UsageError(`--customer-key: ${k}`);
    t.customer = k;
  }
  return t;
}

