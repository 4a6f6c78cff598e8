/**
 * ProfileRuntime.countLocal: the sample count readLocalInto gives, without bringing a sparse
 * series' entries up to the read time (the history's recordFrom test reads every KPI series of a
 * server every second: moving each one's entries reallocated its block at every slot).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createStats } from '../../src/index.ts';
import { SPARSE_BASE } from '../../src/core/profile-runtime.ts';
import { StatKind } from '../../src/core/stat.ts';

const T0 = 1_795_508_400_000;

for (const profile of ['pc: algorithm=percentage window=60 slots=6', 'av: algorithm=average window=60 slots=60 min_samples=1', 'ac: algorithm=accumulate window=60 slots=6']) {
  test(`countLocal equals readLocalInto's count and leaves a sparse series as it was (${profile})`, () => {
    let sparse = 0;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 25_000 }), fc.integer({ min: 0, max: 100 })), { minLength: 1, maxLength: 12 }), fc.integer({ min: 0, max: 90_000 }), (steps, later) => {
        let now = T0;
        const stats = createStats({ config: `modparam("statistics", "stat_series_profile", "${profile}")`, clock: () => now, sparseDoubles: 64 });
        const name = profile.slice(0, profile.indexOf(':'));
        const p = stats.engine.profile(name)!;
        for (const [dt, v] of steps) {
          now += dt;
          stats.updateStatSeries(name, 's', v);
        }
        const s = stats.engine.lookup('s');
        assert.equal(s?.kind, StatKind.Series);
        const local = (s as { local: number }).local;
        if (local >= SPARSE_BASE) sparse++;
        const t = now + later;
        const inner = p as unknown as { spBlk: Int32Array; spMeta: Int32Array };
        const before = [Array.from(inner.spBlk), Array.from(inner.spMeta), p.allocatedBytes()];
        const n = p.countLocal(local, t);
        if (local >= SPARSE_BASE) assert.deepEqual([Array.from(inner.spBlk), Array.from(inner.spMeta), p.allocatedBytes()], before, 'a sparse series is left as it was');
        const out = new Float64Array(2);
        p.readLocalInto(local, t, out);
        assert.ok(Object.is(n, out[1]) || (Number.isNaN(n) && Number.isNaN(out[1])), `count ${n} vs ${out[1]}`);
      }),
      { numRuns: 300 },
    );
    assert.ok(sparse > 100, `${sparse} of 300 runs read a sparse series`);
  });
}
