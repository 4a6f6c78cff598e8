import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createStats } from '../../src/index.ts';
import { identityLabels, KPI_MODPARAMS, KPIS, profileOf, WINDOWS } from '../../src/kpi/catalogue.ts';
import { KPI_INDEX, Scopes } from '../../src/kpi/scopes.ts';
import { SipPipeline } from '../../src/kpi/sip-pipeline.ts';
import { identityOf, StatKind } from '../../src/core/stat.ts';

// The series the KPI scopes make keep no name, labels or name-index entry of their own (memory per
// dimension value): the scope spells them, and the engine finds them by name through the scopes.

const T0 = 1_795_508_400_000;

function rig(idleMs = 0) {
  let now = T0;
  const stats = createStats({ config: KPI_MODPARAMS, clock: () => now });
  const pipe = new SipPipeline(stats.engine);
  const scopes = new Scopes(pipe.sink, { maxValues: { customer: 100, carrier: 100, destination: 100 }, idleMs });
  return { stats, scopes, at: (t: number) => (now = T0 + t) };
}

const names = (stats: ReturnType<typeof createStats>) => [...stats.engine.all()].filter((s) => s.kind === StatKind.Series).map((s) => s.name);

test('a scope series is found by name, listed once, and its labels are its identity', () => {
  const { stats, scopes } = rig();
  const acme = scopes.get({ customer: 'acme' }, T0);
  acme.add(KPI_INDEX.ASR, 1, T0);
  const cd = scopes.get({ carrier: 'carrier_a', destination: '44' }, T0);
  cd.add(KPI_INDEX.PDD, 1500, T0);
  assert.equal(stats.getStat('ASR_10macme'), 100);
  assert.equal(stats.getStat('stats_10m:ASR_10macme'), 100);
  assert.equal(stats.getStat('PDD_1h~carrier=carrier_a~dest=44'), 1500);
  const s = stats.engine.lookup('ASR_1hacme')!;
  assert.ok(s.kind === StatKind.Series && s.kept);
  assert.deepEqual(identityLabels(s.labels as never), { kpi: 'ASR', window: '1h', customer: 'acme' });
  // every window of the two KPIs fed, once each; nothing else
  const got = names(stats).sort();
  assert.equal(new Set(got).size, got.length);
  assert.deepEqual(got, [...WINDOWS.map((w) => `ASR${w.suffix}acme`), ...WINDOWS.map((w) => `PDD${w.suffix}~carrier=carrier_a~dest=44`)].sort());
  // an update by name reaches the same series
  stats.updateStatSeries('perc', 'ASRacme', -1);
  assert.equal(stats.getStat('ASRacme'), 50);
  assert.equal(names(stats).length, got.length);
});

test('a scope that expired while a call held it updates the scope made since for the same values: one series per name', () => {
  const { stats, scopes, at } = rig(1000);
  const old = scopes.get({ customer: 'acme' }, T0);
  old.add(KPI_INDEX.ASR, 1, T0); // a call answered
  at(5000);
  assert.equal(scopes.expire(T0 + 5000), 1);
  assert.equal(stats.getStat('ASRacme'), null);
  const fresh = scopes.get({ customer: 'acme' }, T0 + 5000);
  fresh.add(KPI_INDEX.ASR, 1, T0 + 5000);
  old.add(KPI_INDEX.ACD, 30, T0 + 6000); // the long call's BYE, through the expired scope
  old.add(KPI_INDEX.ASR, -1, T0 + 6000);
  fresh.add(KPI_INDEX.ACD, 10, T0 + 6000);
  assert.equal(stats.getStat('ACDacme'), 20);
  assert.equal(stats.getStat('ASRacme'), 50);
  const got = names(stats);
  assert.equal(new Set(got).size, got.length, `duplicates in ${got.join(' ')}`);
});

test('property: scope series and by-name updates, removals and expiry in any order leave one findable series per name', () => {
  const CUST = ['acme', 'globex', 'initech'];
  fc.assert(
    fc.property(
      fc.array(
        fc.record({ op: fc.constantFrom('scope', 'byName', 'expire', 'remove'), c: fc.nat(CUST.length - 1), k: fc.constantFrom(KPI_INDEX.ASR, KPI_INDEX.PDD), v: fc.integer({ min: 1, max: 900 }), gap: fc.integer({ min: 0, max: 3000 }) }),
        { minLength: 1, maxLength: 40 },
      ),
      (ops) => {
        const { stats, scopes, at } = rig(2000);
        let t = 0;
        const held = CUST.map((c) => scopes.get({ customer: c }, T0));
        for (const o of ops) {
          t += o.gap;
          at(t);
          const kpi = KPIS[o.k];
          const name = `${kpi.name}_10m${CUST[o.c]}`;
          const profile = o.k === KPI_INDEX.ASR ? '10m-perc' : '10m-avg';
          const v = o.k === KPI_INDEX.ASR ? (o.v % 2 === 0 ? 1 : -1) : o.v;
          if (o.op === 'scope') held[o.c].add(o.k, v, T0 + t);
          else if (o.op === 'byName') stats.updateStatSeries(profile, name, v);
          else if (o.op === 'expire') scopes.expire(T0 + t);
          else {
            const s = stats.engine.lookup(name);
            if (s !== undefined && s.kind === StatKind.Series) stats.engine.removeSeries(s);
          }
          // one series per name, each found by its name, none removed still listed
          const all = [...stats.engine.all()].filter((s) => s.kind === StatKind.Series);
          const got = all.map((s) => s.name);
          assert.equal(new Set(got).size, got.length, `duplicate names after ${JSON.stringify(o)}: ${got.join(' ')}`);
          for (const s of all) {
            assert.equal(s.removed, false);
            // (a kept series is a view made when asked: the same series by identityOf)
            assert.equal(identityOf(stats.engine.lookup(s.name)!), identityOf(s));
          }
          if (o.op === 'scope' || o.op === 'byName') assert.notEqual(stats.getStat(name), null, name);
        }
      },
    ),
    { numRuns: 200 },
  );
});

test('property: updates through scopes give the values the same updates by name give (series turning dense included)', () => {
  const CUST = ['acme', 'globex'];
  fc.assert(
    fc.property(
      fc.array(fc.record({ byName: fc.boolean(), c: fc.nat(CUST.length - 1), k: fc.constantFrom(KPI_INDEX.ASR, KPI_INDEX.PDD, KPI_INDEX.PDD_p95), v: fc.integer({ min: 1, max: 900 }), gap: fc.integer({ min: 0, max: 20_000 }) }), { minLength: 1, maxLength: 60 }),
      (ops) => {
        const { stats, scopes, at } = rig();
        let t = 0;
        const ref = createStats({ config: KPI_MODPARAMS, clock: () => T0 + t });
        const held = CUST.map((c) => scopes.get({ customer: c }, T0));
        for (const o of ops) {
          t += o.gap;
          at(t);
          const kpi = KPIS[o.k];
          const v = o.k === KPI_INDEX.ASR ? (o.v % 2 === 0 ? 1 : -1) : o.v;
          for (const w of WINDOWS) {
            const name = `${kpi.name}${w.suffix}${CUST[o.c]}`;
            ref.updateStatSeries(profileOf(kpi, w), name, v);
            if (o.byName) stats.updateStatSeries(profileOf(kpi, w), name, v);
          }
          if (!o.byName) held[o.c].add(o.k, v, T0 + t);
          for (const c of CUST) for (const k of [KPI_INDEX.ASR, KPI_INDEX.PDD, KPI_INDEX.PDD_p95]) for (const w of WINDOWS) {
            const name = `${KPIS[k].name}${w.suffix}${c}`;
            assert.equal(stats.getStat(name), ref.getStat(name), `${name} after ${JSON.stringify(o)}`);
          }
        }
      },
    ),
    { numRuns: 150 },
  );
});

test('a value that is not a finite number is counted as a failed update, and the series keeps what it had', () => {
  const { stats, scopes } = rig();
  const acme = scopes.get({ customer: 'acme' }, T0);
  for (let i = 0; i < 10; i++) acme.add(KPI_INDEX.PDD, 100, T0); // dense by now
  acme.add(KPI_INDEX.PDD, Number.NaN, T0);
  acme.add(KPI_INDEX.PDD, Number.POSITIVE_INFINITY, T0);
  assert.equal(stats.getStat('PDDacme'), 100);
  assert.equal(stats.getStat('sipstats:kpi_update_errors'), 2 * WINDOWS.length);
});

test('a profile replaced on reload once none of its series was left: scopes write into the new one', async () => {
  // regression: the scopes remembered each slot's profile from its first series and kept it across
  // a reload that replaced the profile (allowed when it holds no series), so updates went into the old one
  const { parseOpenSipsConfig } = await import('../../src/config/opensips.ts');
  const { stats, scopes } = rig();
  const acme = scopes.get({ customer: 'acme' }, T0);
  acme.add(KPI_INDEX.ACD, 30, T0);
  for (const s of [...stats.engine.all()]) if (s.kind === StatKind.Series && s.profile.def.name === 'avg') stats.engine.removeSeries(s);
  const next = parseOpenSipsConfig(KPI_MODPARAMS.replace('avg: algorithm=average group=stats', 'avg: algorithm=average window=60 slots=12 group=stats'));
  assert.ok(next.ok);
  const r = stats.engine.reconfigure(next.value);
  assert.ok(r.ok && r.changes.some((c) => /profile 'avg' replaced/.test(c)), JSON.stringify(r));
  acme.add(KPI_INDEX.ACD, 10, T0);
  acme.add(KPI_INDEX.ACD, 20, T0);
  assert.equal(stats.getStat('ACDacme'), 15);
  assert.equal(stats.engine.lookup('ACDacme')!.profile, stats.engine.profile('avg'));
});

test('property: scopes of every shape are found again by their values while held, and made afresh once expired', () => {
  const value = fc.constantFrom(undefined, 'a', 'b', 'other');
  const scope = fc.record({ customer: value, carrier: value, destination: value }).map((s) => Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)));
  const op = fc.oneof(fc.record({ get: scope }), fc.record({ expire: fc.constant(true) }));
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      const { scopes } = rig(1000);
      const model = new Map<string, unknown>();
      let t = T0;
      for (const o of ops) {
        t += 600;
        if ('expire' in o) {
          // everything got before t - 1000 goes (each get is 600 ms apart: all but the newest)
          scopes.expire(t);
          for (const [k, v] of model) if ((v as { lastUsed: number }).lastUsed + 1000 <= t) model.delete(k);
          continue;
        }
        const key = JSON.stringify([o.get.customer, o.get.carrier, o.get.destination]);
        const s = scopes.get(o.get, t);
        if (model.has(key)) assert.equal(s, model.get(key), `the held scope of ${key}`);
        else for (const other of model.values()) assert.notEqual(s, other, `a new scope for ${key}`);
        assert.deepEqual({ ...s.scope }, o.get);
        model.set(key, s);
      }
      assert.equal(scopes.size, model.size);
    }),
    { numRuns: 300 },
  );
});

test('a view of a kept series follows it: made before the series turned dense it still reads it after, and it says when the series is gone', () => {
  const { stats, scopes, at } = rig(1000);
  const acme = scopes.get({ customer: 'acme' }, T0);
  acme.add(KPI_INDEX.PDD, 100, T0);
  const view = stats.engine.lookup('PDDacme')!;
  assert.ok(view.kind === StatKind.Series && view.kept);
  const sparse = view.local;
  for (let i = 0; i < 10; i++) acme.add(KPI_INDEX.PDD, 100, T0); // past the 8th update: rows of its own
  assert.notEqual(view.local, sparse);
  assert.equal(stats.engine.value(view), 100);
  // two views of one series are two objects with one identity; another series has another
  assert.notEqual(stats.engine.lookup('PDDacme'), view);
  assert.equal(identityOf(stats.engine.lookup('PDDacme')!), identityOf(view));
  assert.notEqual(identityOf(stats.engine.lookup('PDD_10macme')!), identityOf(view));
  at(5000);
  assert.equal(scopes.expire(T0 + 5000), 1);
  assert.equal(view.removed, true);
  // the scope made again for acme holds a new series of that name: the old view does not read it as its own
  scopes.get({ customer: 'acme' }, T0 + 5000).add(KPI_INDEX.PDD, 300, T0 + 5000);
  assert.equal(view.removed, true);
  assert.notEqual(identityOf(stats.engine.lookup('PDDacme')!), identityOf(view));
  assert.equal(stats.getStat('PDDacme'), 300);
});

test('a scope level (CC) is a view: found and listed by name from the first leg of its scope, reading its count of legs up, one identity, gone with its scope', () => {
  const { stats, scopes, at } = rig(1000);
  const acme = scopes.get({ customer: 'acme' }, T0);
  assert.equal(stats.engine.lookup('CCacme'), undefined);
  acme.listCounts();
  acme.up = 3;
  const cc = stats.engine.lookup('stats:CCacme')!;
  assert.ok(cc.kind === StatKind.Counter && cc.kept && cc.noReset);
  assert.equal(cc.value, 3);
  assert.deepEqual(identityLabels(cc.labels as never), { kpi: 'CC', window: 'now', customer: 'acme' });
  acme.up = 2;
  assert.equal(cc.value, 2);
  assert.equal(stats.getStat('CCacme'), 2);
  assert.equal(stats.getStat('CC_earlyacme'), 0);
  assert.equal(identityOf(stats.engine.lookup('CCacme')!), identityOf(cc));
  assert.deepEqual([...stats.engine.all()].filter((s) => s.kind === StatKind.Counter && s.labels !== null).map((s) => s.name).sort(), ['CC_earlyacme', 'CCacme']);
  // reset_statistics leaves a level alone (no_reset), and a write through the view does not change the count of legs
  stats.engine.reset(cc);
  assert.equal(stats.getStat('CCacme'), 2);
  cc.value = 7;
  assert.equal(stats.getStat('CCacme'), 2);
  acme.up = 0;
  at(5000);
  assert.equal(scopes.expire(T0 + 5000), 1);
  assert.equal(stats.engine.lookup('CCacme'), undefined);
  assert.equal(cc.value, 0);
});
