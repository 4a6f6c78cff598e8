// Counters, series and profiles with the sipstats library (run: node examples/library.mjs).
import { createStats } from 'sipstats';

let now = Date.UTC(2026, 10, 24, 12, 0, 0); // a fixed clock, so the output is the same every run
const stats = createStats({
  clock: () => now,
  config: `
    modparam("statistics", "variable", "register_counter")
    modparam("statistics", "variable", "active_calls/no_reset")
    modparam("statistics", "stat_groups", "custgrp")
    modparam("statistics", "stat_series_profile", "perc: algorithm=percentage group=stats")
    modparam("statistics", "stat_series_profile", "10m-avg: algorithm=average window=600 slots=10 group=stats_10m")
    modparam("statistics", "stat_series_profile", "asr2: algorithm=percentage precision=2 min_samples=3")
  `,
});

// counters: update_stat / reset_stat / $stat
stats.updateStat('register_counter', '+1');
stats.updateStat('register_counter', 2);
stats.updateStat('active_calls', 1);
stats.updateStat('custgrp:acme_calls', 5); // grp:name needs a declared group
stats.updateStat('unknown_yet', 1); // created in group "dynamic"
stats.resetStat('active_calls'); // /no_reset: unchanged
console.log(stats.getStat('register_counter'), stats.getStat('active_calls')); // 3 1

// series: one answered call (+1) and two failed ones (-1) → ASR 33 %
stats.updateStatSeries('perc', 'ASR', +1);
stats.updateStatSeries('perc', 'ASR', -1);
stats.updateStatSeries('perc', 'ASR', -1);
stats.updateStatSeries('10m-avg', 'PDD_10m', 1800);
stats.updateStatSeries('10m-avg', 'PDD_10m', 2300);
console.log(stats.getStat('ASR'), stats.getStat('PDD_10m')); // 33 2050

// extensions: precision and min_samples
stats.updateStatSeries('asr2', 'ASR_precise', 1);
console.log(stats.getStat('ASR_precise')); // null (not enough data)
stats.updateStatSeries('asr2', 'ASR_precise', 1);
stats.updateStatSeries('asr2', 'ASR_precise', -1);
console.log(stats.getStat('ASR_precise')); // 66.67

// 61 seconds later the 1-minute window has moved on; the 10-minute one has not
now += 61_000;
console.log(stats.getStat('ASR'), stats.getStat('PDD_10m')); // 0 2050

// the MI, in-process, exactly as over HTTP
console.log(JSON.stringify(await stats.mi('get_statistics', [['stats_10m:', 'register_counter']])));
// {"result":{"stats_10m:PDD_10m":2050,"script:register_counter":3}}

// bad input is refused with a coded error and changes nothing
try {
  stats.updateStat('register_counter', 'abc');
} catch (e) {
  console.log(e.code, stats.getStat('register_counter')); // E_BAD_VALUE 3
}
