/**
 * Every self-statistic of group `sipstats` in one table: its name and whether it is a count (an
 * event counter) or a level (a gauge: set, not added to; the cluster view leaves levels out).
 * The engine's `selfStat` and `setGauge` take only these names (and the capture counters'
 * `read_<transport>` and `skipped_<reason>`, whose tables are protocol/net/capture-counts.ts'), so a
 * new one is a row here; docs/metrics.md lists exactly these rows (test/integration/docs.test.ts).
 * A leaf: every layer may read it.
 */
export const SELF_STATS = {
  // HEP and UDP ingest
  hep_packets: 'count',
  hep_decode_errors: 'count',
  hep_auth_failures: 'count',
  hep_not_sip: 'count',
  hep_tcp_bad_frames: 'count',
  ingest_errors: 'count',
  udp_backlog_dropped: 'count',
  udp_socket_dropped: 'count',
  // SIP read
  sip_decode_errors: 'count',
  sip_keepalives: 'count',
  sip_incomplete: 'count',
  sip_internal: 'count',
  sip_outside_platform: 'count',
  capture_clock_adjustments: 'count',
  // calls and attempts
  calls_started: 'count',
  calls_tracked: 'level',
  calls_timed_out: 'count',
  calls_abandoned_after_challenge: 'count',
  calls_unended: 'count',
  calls_evicted: 'count',
  requests_unremembered: 'count',
  replies_before_invite: 'count',
  replies_unmatched: 'count',
  calls_failed_over: 'count',
  calls_restored: 'count',
  calls_restore_expired: 'count',
  attempts_started: 'count',
  attempts_tracked: 'level',
  attempts_untracked: 'count',
  attempts_timed_out: 'count',
  attempts_abandoned_after_challenge: 'count',
  attempts_unended: 'count',
  attempts_evicted: 'count',
  attempts_uncorrelated: 'count',
  // dimensions
  customers_folded: 'count',
  carriers_folded: 'count',
  destinations_folded: 'count',
  scopes_expired: 'count',
  // media quality
  rtp_packets: 'count',
  rtp_unmatched: 'count',
  rtcp_packets: 'count',
  rtp_malformed: 'count',
  rtcp_reports: 'count',
  rtcp_unmatched: 'count',
  rtcp_uncorrelated: 'count',
  rtcp_decode_errors: 'count',
  rtcp_streams_dropped: 'count',
  quality_reports: 'count',
  quality_reports_unmatched: 'count',
  quality_report_errors: 'count',
  quality_reports_dropped: 'count',
  rtp_agent_interim: 'count',
  mos_reported: 'count',
  rtp_streams_dropped: 'count',
  // the engine and its feeders
  kpi_update_errors: 'count',
  acc_events: 'count',
  acc_events_ignored: 'count',
  acc_events_bad: 'count',
  event_decode_errors: 'count',
  series_refused: 'count',
  series_folded: 'count',
  series_removed: 'count',
  // persistence
  snapshot_saves: 'count',
  snapshot_errors: 'count',
  // alerts
  alerts_changes: 'count',
  alerts_notifications_sent: 'count',
  alerts_notifications_failed: 'count',
  alerts_notifications_dropped: 'count',
  alerts_notifications_rejected: 'count',
  alerts_firing: 'level',
  alerts_pending: 'level',
  // cluster
  cluster_redis_up: 'level',
  cluster_pending_slots: 'level',
  cluster_push_errors: 'count',
  cluster_commands: 'count',
} as const satisfies Record<string, 'count' | 'level'>;

export type SelfStatName = keyof typeof SELF_STATS;
/** The capture decoder's counters (their names come from protocol/net/capture-counts.ts' tables). */
export type CaptureStatName = `read_${string}` | `skipped_${string}`;
/** The self-statistics that are levels (setGauge). */
export type SelfLevelName = { [K in SelfStatName]: (typeof SELF_STATS)[K] extends 'level' ? K : never }[SelfStatName];

/** The group they live in. */
export const SELF_GROUP = 'sipstats';
