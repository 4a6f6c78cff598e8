/** A naive re-computation of series values from raw samples, straight from the series rules of README (Series and profiles). */
export interface Sample {
  t: number;
  v: number;
}
export interface OracleProfile {
  algorithm: string;
  window: number;
  slots: number;
  percentageFactor: number;
  precision: number | null;
  minSamples: number;
}

/** Absolute slot of integer ms `t`, computed exactly with BigInt. */
export function slotOf(t: number, window: number, slots: number): bigint {
  return (BigInt(t) * BigInt(slots)) / BigInt(window * 1000);
}

export function oracleValue(p: OracleProfile, samples: readonly Sample[], now: number): number | null {
  const k = slotOf(now, p.window, p.slots);
  const live = samples.filter((s) => {
    const sk = slotOf(s.t, p.window, p.slots);
    return sk <= k && sk > k - BigInt(p.slots);
  });
  if (p.minSamples > 0 && live.length < p.minSamples) return null;
  const round = (x: number, floor: boolean) => {
    if (p.precision === null) return (floor ? Math.floor(x) : Math.trunc(x)) || 0; // never -0
    const m = 10 ** p.precision;
    const r = Math.round(x * m) / m;
    return Object.is(r, -0) ? 0 : r;
  };
  switch (p.algorithm) {
    case 'accumulate': {
      const sum = live.reduce((a, s) => a + s.v, 0);
      return p.precision === null ? sum : round(sum, false);
    }
    case 'average': {
      if (live.length === 0) return 0;
      return round(live.reduce((a, s) => a + s.v, 0) / live.length, false);
    }
    case 'percentage': {
      let tr = 0;
      let fa = 0;
      for (const s of live) {
        if (s.v > 0) tr += s.v;
        else fa -= s.v;
      }
      if (tr + fa === 0) return 0;
      return round((tr * p.percentageFactor) / (tr + fa), true);
    }
    default:
      throw new Error(`oracle: unknown algorithm ${p.algorithm}`);
  }
}
