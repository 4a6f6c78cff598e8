import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_MODPARAMS } from '../../src/config/defaults.ts';
import { defaultEngineConfig, defaultProfiles } from '../../src/config/default-profiles.ts';
import { parseOpenSipsConfig } from '../../src/config/opensips.ts';
import { createStats } from '../../src/index.ts';
import {
  ALL_TRAFFIC,
  DIMENSIONS,
  identify,
  INVITE_SERIES,
  KPI_MODPARAMS,
  KPI_PROFILES,
  KPIS,
  profileOf,
  profileText,
  requiredProfiles,
  seriesName,
  viewByName,
  viewOf,
  VIEWS,
  WINDOWS,
} from '../../src/kpi/catalogue.ts';
import type { Scope } from '../../src/kpi/catalogue.ts';
import { emptyKpiRow, readKpis } from '../../src/kpi/kpi-read.ts';
import { DEFAULT_TABLE_VIEW, formatKpiTable, TABLE_VIEWS, tableView } from '../../src/kpi/kpi-table.ts';
import { RULE_VIEWS } from '../../src/alerts/rules.ts';
import { kpiSnapshot } from '../../src/web/routes.ts';

// ---- views

test('VIEWS: all traffic, each dimension alone, then the dimensions of an attempt together, derived from DIMENSIONS', () => {
  assert.deepEqual(
    VIEWS.map((v) => [v.name, v.dimensions.map((d) => d.name).join(','), v.title, v.rows, v.of]),
    [
      ['all', '', 'all traffic', 'overall', 'call'],
      ['customer', 'customer', 'customer', 'customers', 'call'],
      ['carrier', 'carrier', 'carrier', 'carriers', 'attempt'],
      ['destination', 'destination', 'destination', 'destinations', 'call'],
      ['carrier,destination', 'carrier,destination', 'carrier × destination', 'carrierDestinations', 'attempt'],
    ],
  );
  assert.equal(ALL_TRAFFIC, VIEWS[0]);
  for (const v of VIEWS) {
    assert.ok(Object.isFrozen(v), v.name);
    assert.equal(viewByName(v.name), v);
    // a view's dimensions are the catalogue's own objects, in catalogue order
    assert.deepEqual(v.dimensions, DIMENSIONS.filter((d) => v.dimensions.includes(d)), v.name);
  }
  assert.equal(new Set(VIEWS.map((v) => v.name)).size, VIEWS.length);
  assert.equal(new Set(VIEWS.map((v) => v.rows)).size, VIEWS.length);
  assert.equal(viewByName('customer,carrier'), undefined);
});

test('viewOf is the view of exactly the dimensions a scope, identity or labels object has', () => {
  for (const v of VIEWS) {
    const scope: Scope = Object.fromEntries(v.dimensions.map((d) => [d.name, 'x']));
    assert.equal(viewOf(scope), v, v.name);
    // the identity of each of its series (what the engine keeps beside them) is in the same view
    for (const k of KPIS) for (const w of WINDOWS) assert.equal(viewOf(identify(seriesName(k, w, scope), k.kind === 'level')!), v, `${k.name} ${w.name} ${v.name}`);
  }
  assert.equal(viewOf({}), ALL_TRAFFIC);
  assert.equal(viewOf({ customer: 'acme', carrier: undefined, destination: undefined }), viewByName('customer'));
  assert.equal(viewOf({ customer: 'acme', carrier: 'a' }), undefined, 'no view keeps a customer with a carrier');
  assert.equal(viewOf({ customer: 'acme', destination: '44' }), undefined);
});

test('the views of replay --by and of alert rules are the catalogue views with a dimension', () => {
  assert.deepEqual(TABLE_VIEWS, VIEWS.filter((v) => v !== ALL_TRAFFIC));
  assert.equal(DEFAULT_TABLE_VIEW, viewByName(DIMENSIONS[0].name));
  assert.equal(tableView('carrier,destination'), viewByName('carrier,destination'));
  assert.equal(tableView('all'), undefined);
  assert.deepEqual(RULE_VIEWS, TABLE_VIEWS.map((v) => v.name));
});

// ---- profiles as data

test('every window keeps each kind of KPI under a profile of its own length, and the kinds are the same in every window', () => {
  const kinds = Object.keys(WINDOWS[0].profiles);
  for (const w of WINDOWS) {
    assert.deepEqual(Object.keys(w.profiles), kinds, w.name);
    // window left out: OpenSIPS' default, 60 s
    for (const p of Object.values(w.profiles)) assert.equal(p.window ?? 60, w.seconds, `${w.name}: ${p.name}`);
  }
  const names = KPI_PROFILES.map((p) => p.name.toLowerCase());
  assert.equal(new Set(names).size, names.length, 'profile names are unique (case-insensitively, as the engine matches them)');
  for (const w of WINDOWS) for (const k of KPIS) if (k.kind in w.profiles) assert.ok(KPI_PROFILES.some((p) => p.name === profileOf(k, w)), `${k.name} ${w.name}`);
  for (const s of Object.values(INVITE_SERIES)) assert.ok(KPI_PROFILES.includes(s.spec), s.name);
  assert.deepEqual([...requiredProfiles({ percentiles: true, inviteSeries: true }).keys()].sort(), [...new Set(KPI_PROFILES.map((p) => p.name))].filter((n) => requiredProfiles({ percentiles: true, inviteSeries: true }).has(n)).sort());
});

test('KPI_MODPARAMS is written from the profile data, one modparam line per profile', () => {
  assert.equal(profileText({ name: 'perc', algorithm: 'percentage', group: 'stats' }), 'perc: algorithm=percentage group=stats');
  assert.equal(profileText({ name: '10m-avg', algorithm: 'average', window: 600, slots: 10, group: 'stats_10m' }), '10m-avg: algorithm=average window=600 slots=10 group=stats_10m');
  assert.equal(profileText({ name: 'inv_acc_per_min', algorithm: 'accumulate', window: 60 }), 'inv_acc_per_min: algorithm=accumulate window=60');
  const lines = KPI_MODPARAMS.split('\n').filter((l) => l.startsWith('modparam('));
  assert.deepEqual(lines, KPI_PROFILES.map((p) => `modparam("statistics", "stat_series_profile", "${profileText(p)}")`));
  assert.ok(DEFAULT_MODPARAMS.endsWith(KPI_MODPARAMS));
});

test('the embedded default profiles are built from the data, and equal what its text reads as', () => {
  const r = parseOpenSipsConfig(DEFAULT_MODPARAMS);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.issues));
  assert.deepEqual(defaultEngineConfig(), r.value);
  assert.equal(defaultProfiles(), defaultProfiles(), 'built once');
  assert.deepEqual(
    defaultProfiles().map((p) => p.name),
    KPI_PROFILES.map((p) => p.name),
  );
  // OpenSIPS' defaults filled in where the data leaves them out
  const perc = defaultProfiles().find((p) => p.name === WINDOWS[0].profiles.ratio.name)!;
  assert.deepEqual([perc.window, perc.slots, perc.group, perc.percentageFactor], [60, 60, 'stats', 100]);
});

// ---- the read model

test('readKpis: each KPI series once, by window, view and row, with its samples; the rest goes to `other`', () => {
  const stats = createStats({ config: KPI_MODPARAMS, clock: () => 1_800_000_000_000 });
  const [asr, pdd] = [KPIS.find((k) => k.kind === 'ratio')!, KPIS.find((k) => k.kind === 'average')!];
  const [w1, w2] = WINDOWS;
  const upd = (k: typeof asr, w: typeof w1, scope: Scope, v: number) => stats.updateStatSeries(profileOf(k, w), seriesName(k, w, scope), v);
  upd(asr, w1, {}, 1);
  upd(asr, w1, {}, -1);
  upd(asr, w1, { customer: 'acme' }, 1);
  upd(pdd, w1, { customer: 'acme' }, 1500);
  upd(asr, w1, { carrier: 'a', destination: '44' }, 1);
  upd(asr, w2, { carrier: 'a' }, -1);
  stats.updateStatSeries(INVITE_SERIES.perMinute.profile, INVITE_SERIES.perMinute.name, 1);
  stats.updateStat('my_counter', 3);

  const others: string[] = [];
  const read = readKpis(stats.engine, { other: (s) => others.push(s.name) });
  assert.equal(read.now, 1_800_000_000_000);
  assert.deepEqual([...read.windows.keys()], WINDOWS);
  for (const views of read.windows.values()) assert.deepEqual([...views.keys()], VIEWS, 'every view, rows or none');
  const one = read.windows.get(w1)!;
  const ai = KPIS.indexOf(asr);
  const pi = KPIS.indexOf(pdd);
  const all = one.get(ALL_TRAFFIC)!.get('')!;
  assert.deepEqual([all.values, all.v[ai], all.n[ai], all.has[ai], all.has[pi], all.n[pi]], [[], 50, 2, true, false, 0]);
  const acme = one.get(viewByName('customer')!)!.get('acme')!;
  assert.deepEqual([acme.values, acme.v[ai], acme.v[pi], acme.n[pi]], [['acme'], 100, 1500, 1]);
  const cell = one.get(viewByName('carrier,destination')!)!.get('a|44')!;
  assert.deepEqual([cell.values, cell.v[ai]], [['a', '44'], 100]);
  assert.equal(one.get(viewByName('carrier')!)!.size, 0);
  assert.deepEqual([...read.windows.get(w2)!.get(viewByName('carrier')!)!.keys()], ['a']);
  assert.deepEqual(others.sort(), [INVITE_SERIES.perMinute.name, 'my_counter'].sort());

  // windows and views asked for only
  const only = readKpis(stats.engine, { windows: [w2], views: [ALL_TRAFFIC] });
  assert.deepEqual([...only.windows.keys()], [w2]);
  assert.deepEqual([...only.windows.get(w2)!.keys()], [ALL_TRAFFIC]);
  assert.equal(only.windows.get(w2)!.get(ALL_TRAFFIC)!.size, 0);
  assert.deepEqual(emptyKpiRow(), { values: [], v: KPIS.map(() => null), n: KPIS.map(() => 0), has: KPIS.map(() => false) });

  // /api/kpis and the replay table are both made of it
  const snap = kpiSnapshot(stats.engine, { window: w1.name }).windows[w1.name]!;
  assert.deepEqual(Object.keys(snap), ['overall', 'customers', 'carriers', 'destinations', 'carrierDestinations', 'carrierDestinationsOmitted']);
  assert.deepEqual(snap.overall, { v: all.v, n: all.n });
  assert.deepEqual(snap.customers, { acme: { v: acme.v, n: acme.n } });
  assert.deepEqual(snap.carrierDestinations, { 'a|44': { v: cell.v, n: cell.n } });
  assert.equal(
    formatKpiTable(stats.engine, 'carrier,destination').split('\n').slice(0, 3).join('\n'),
    `KPIs over ${w1.title}, by carrier × destination\ncarrier × destination  ${asr.name} (%)\na × 44${' '.repeat(21)}100`,
  );
  assert.equal(
    formatKpiTable(stats.engine).split('\n').slice(0, 4).join('\n'),
    `KPIs over ${w1.title}\ncustomer  ${asr.name} (%)  ${pdd.name} (${pdd.unit})\n(all)          50         -\nacme          100      1500`,
  );
  assert.throws(() => formatKpiTable(stats.engine, 'all'), /no KPI table by 'all'/);
});
