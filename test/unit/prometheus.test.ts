import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { StatView } from '../../src/core/types.ts';
import { identify } from '../../src/kpi/catalogue.ts';
import { escapeLabelValue, formatValue, PrometheusSerializer, sanitizeMetricName, toPrometheusText } from '../../src/export/prometheus.ts';

const views = (xs: StatView[]) => (cb: (v: StatView) => void) => xs.forEach(cb);
const c = (group: string, name: string, value: number | null): StatView => ({ group, name, kind: 'counter', value });
const nr = (group: string, name: string, value: number | null): StatView => ({ group, name, kind: 'no_reset', value });
// series carry the labels the engine gives them at creation (the KPI catalogue's identity)
const s = (group: string, name: string, value: number | null, profile = 'p'): StatView => ({ group, name, kind: 'series', profile, value, labels: identify(name) });

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: string;
  type: string;
}

/** A strict little parser of the text format: families contiguous, one HELP/TYPE each, samples after them. */
function parse(text: string): Sample[] {
  assert.ok(text === '' || text.endsWith('\n'), 'ends with a newline');
  const out: Sample[] = [];
  const seen = new Set<string>();
  let family = '';
  let type = '';
  for (const line of text.split('\n').slice(0, -1)) {
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      assert.ok(!seen.has(m[1]), `second HELP for ${m[1]}`);
      seen.add(m[1]);
      family = m[1];
      type = '';
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$/.exec(line);
    if (m) {
      assert.equal(m[1], family, 'TYPE follows its HELP');
      type = m[2];
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$/.exec(line);
    assert.ok(m, `sample line: ${line}`);
    assert.equal(m[1], family, `sample ${m[1]} outside its family ${family}`);
    assert.ok(type !== '');
    const labels: Record<string, string> = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
    let lm;
    let at = 0;
    while ((lm = re.exec(m[2])) !== null) {
      labels[lm[1]] = lm[2].replace(/\\(.)/g, (_, ch) => (ch === 'n' ? '\n' : ch));
      at = re.lastIndex;
    }
    assert.equal(at, m[2].length, `labels parse: ${m[2]}`);
    out.push({ name: m[1], labels, value: m[3], type });
  }
  return out;
}

test('counters are counters with _total, no_reset counters and series are gauges, group is a label', () => {
  const text = toPrometheusText(views([c('script', 'register_counter', 5), nr('script', 'active_calls', -2), s('acc10', 'acc_a', 12)]));
  assert.equal(
    text,
    [
      '# HELP sipstats_register_counter_total Counter register_counter',
      '# TYPE sipstats_register_counter_total counter',
      'sipstats_register_counter_total{group="script"} 5',
      '# HELP sipstats_active_calls Counter active_calls (no_reset)',
      '# TYPE sipstats_active_calls gauge',
      'sipstats_active_calls{group="script"} -2',
      '# HELP sipstats_acc_a Series acc_a (profile p)',
      '# TYPE sipstats_acc_a gauge',
      'sipstats_acc_a{group="acc10"} 12',
      '',
    ].join('\n'),
  );
});

test('KPI series names become kpi/window/customer labels; customer "" for all traffic', () => {
  const samples = parse(
    toPrometheusText(
      views([
        s('stats', 'ASR', 66),
        s('stats_10m', 'ASR_10macme', 50),
        s('stats_1h', 'NER_1hfoo-bar', 90),
        s('stats', 'PDDacme', 1200),
        s('stats_1h', 'ACD_1h', 33),
        s('stats_10m', 'CCR_10m', 99.5),
      ]),
    ),
  );
  assert.deepEqual(
    samples.map((x) => [x.name, x.labels, x.value, x.type]),
    [
      ['sipstats_kpi', { kpi: 'ASR', window: '1m', customer: '', group: 'stats' }, '66', 'gauge'],
      ['sipstats_kpi', { kpi: 'ASR', window: '10m', customer: 'acme', group: 'stats_10m' }, '50', 'gauge'],
      ['sipstats_kpi', { kpi: 'NER', window: '1h', customer: 'foo-bar', group: 'stats_1h' }, '90', 'gauge'],
      ['sipstats_kpi', { kpi: 'PDD', window: '1m', customer: 'acme', group: 'stats' }, '1200', 'gauge'],
      ['sipstats_kpi', { kpi: 'ACD', window: '1h', customer: '', group: 'stats_1h' }, '33', 'gauge'],
      ['sipstats_kpi', { kpi: 'CCR', window: '10m', customer: '', group: 'stats_10m' }, '99.5', 'gauge'],
    ],
  );
});

test('the exact line of docs/metrics.md: ASR over 10 minutes for customer acme', () => {
  assert.match(toPrometheusText(views([s('stats_10m', 'ASR_10macme', 66)])), /^sipstats_kpi\{kpi="ASR",window="10m",customer="acme",group="stats_10m"\} 66$/m);
});

test('PDD_p95 and AST_p95 are catalogue KPIs; INVITE_per_min, INVITE_ratio are plain gauges, and counters never take KPI labels', () => {
  const samples = parse(
    toPrometheusText(views([s('stats', 'PDD_p95', 1), s('stats', 'AST_p95', 2), s('inv', 'INVITE_per_min', 3), s('inv', 'INVITE_ratio', 4), c('dynamic', 'ASRx', 5)])),
  );
  assert.deepEqual(
    samples.map((x) => [x.name, x.labels]),
    [
      ['sipstats_kpi', { kpi: 'PDD_p95', window: '1m', customer: '', group: 'stats' }],
      ['sipstats_kpi', { kpi: 'AST_p95', window: '1m', customer: '', group: 'stats' }],
      ['sipstats_INVITE_per_min', { group: 'inv' }],
      ['sipstats_INVITE_ratio', { group: 'inv' }],
      ['sipstats_ASRx_total', { group: 'dynamic' }],
    ],
  );
});

test('null values (min_samples not reached) are left out, not printed as 0; a family with none left has no HELP', () => {
  const text = toPrometheusText(views([s('stats', 'ASR', null), s('g', 'x', null), s('stats', 'NER', 0)]));
  assert.doesNotMatch(text, /ASR/);
  assert.doesNotMatch(text, /sipstats_x/);
  assert.match(text, /kpi="NER".* 0\n/);
});

test('names are sanitised to [a-zA-Z0-9_], the original kept in a stat label, so two statistics never collide', () => {
  const samples = parse(toPrometheusText(views([c('g', 'a-b', 1), c('g', 'a.b', 2), c('g', 'a_b', 3), nr('g', 'activeCalls', 4), s('g', 'x:y', 5)])));
  assert.deepEqual(
    samples.map((x) => [x.name, x.labels]),
    [
      ['sipstats_a_b_total', { group: 'g', stat: 'a-b' }],
      ['sipstats_a_b_total', { group: 'g', stat: 'a.b' }],
      ['sipstats_a_b_total', { group: 'g' }],
      ['sipstats_active_Calls', { group: 'g', stat: 'activeCalls' }],
      ['sipstats_x_y', { group: 'g', stat: 'x:y' }],
    ],
  );
  assert.equal(sanitizeMetricName('ä ö/ü'), '_____');
});

test('a gauge never ends in _total (that is the counter suffix), nor takes the kpi family name', () => {
  const samples = parse(toPrometheusText(views([nr('g', 'x_total', 1), c('g', 'x', 2), s('g', 'kpi', 3)])));
  assert.deepEqual(
    samples.map((x) => [x.name, x.type, x.labels]),
    [
      ['sipstats_x_total_value', 'gauge', { group: 'g', stat: 'x_total' }],
      ['sipstats_x_total', 'counter', { group: 'g' }],
      ['sipstats_kpi_value', 'gauge', { group: 'g', stat: 'kpi' }],
    ],
  );
});

test('one HELP/TYPE per family, its samples together, even when the input interleaves them', () => {
  const samples = parse(toPrometheusText(views([c('a', 'x', 1), s('stats', 'ASR', 2), c('b', 'x', 3), s('stats', 'NERz', 4)])));
  assert.deepEqual(
    samples.map((x) => `${x.name}/${x.labels.group}`),
    ['sipstats_x_total/a', 'sipstats_x_total/b', 'sipstats_kpi/stats', 'sipstats_kpi/stats'],
  );
});

test('label values are escaped: backslash, double quote, line feed', () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  const [x] = parse(toPrometheusText(views([s('stats', 'ASRcu"st\\o\nmer', 1), c('we"ird', 'n', 1)])));
  assert.equal(x.labels.customer, 'cu"st\\o\nmer');
});

test('values: integers, decimals, negative, -0, huge, non-finite', () => {
  assert.deepEqual([1, -4, 66.67, -0, 1e21, 2 ** 53 + 2, NaN, Infinity, -Infinity].map(formatValue), ['1', '-4', '66.67', '0', '1e+21', '9007199254740994', 'NaN', '+Inf', '-Inf']);
});

test('the serializer cache follows the statistics: values change, new ones appear, gone ones go', () => {
  const ser = new PrometheusSerializer();
  const a = ser.serialize(views([c('g', 'x', 1), s('stats', 'ASR', 5)]));
  const b = ser.serialize(views([c('g', 'x', 2), s('stats', 'ASR', 5), s('stats', 'ASRnew', 7)]));
  assert.match(a, /sipstats_x_total\{group="g"\} 1\n/);
  assert.match(b, /sipstats_x_total\{group="g"\} 2\n/);
  assert.match(b, /customer="new",group="stats"\} 7\n/);
  const cc = ser.serialize(views([s('stats', 'ASR', 6)]));
  assert.doesNotMatch(cc, /sipstats_x_total/);
  assert.equal(cc, toPrometheusText(views([s('stats', 'ASR', 6)])));
  assert.equal(ser.serialize(views([])), '');
});

test('many statistics come and go: the cache is swept and output stays equal to a fresh serializer', () => {
  const ser = new PrometheusSerializer();
  for (let round = 0; round < 4; round++) {
    const xs = Array.from({ length: 1500 }, (_, i) => c(`g${round}`, `n${i}`, i));
    assert.equal(ser.serialize(views(xs)), toPrometheusText(views(xs)));
  }
});

test('property: a serializer kept across scrapes writes what a fresh one writes, whatever comes and goes between them (order, kinds, nulls, bytes)', () => {
  // one pool of statistics; each scrape yields a subsequence of it, in pool order or shuffled, with
  // some kinds changed and values null: the cached order must never pair a line with another statistic
  const stat = fc.record({
    group: fc.constantFrom('g', 'stats', 'é"g'),
    name: fc.constantFrom('x', 'y', 'ASR', 'ASRacme', 'PDD_10mé', 'calls_total', 'a\\b'),
    kind: fc.constantFrom<StatView['kind']>('counter', 'no_reset', 'series'),
    value: fc.option(fc.oneof(fc.integer(), fc.double()), { freq: 5 }),
  });
  fc.assert(
    fc.property(fc.array(fc.array(stat, { maxLength: 12 }), { minLength: 1, maxLength: 6 }), (scrapes) => {
      const ser = new PrometheusSerializer();
      for (const raw of scrapes) {
        // (one statistic per group and name, as the engine has)
        const byKey = new Map(raw.map((x) => [`${x.group}\n${x.name}`, x]));
        const xs: StatView[] = [...byKey.values()].map((x) => (x.kind === 'series' ? s(x.group, x.name, x.value) : { ...x }));
        const bytes = ser.serializeBytes(views(xs), '# extra\n');
        const fresh = toPrometheusText(views(xs));
        assert.equal(bytes.toString('utf8'), fresh + '# extra\n');
        assert.equal(bytes.length, Buffer.byteLength(fresh) + 8);
      }
    }),
    { numRuns: 300 },
  );
});

test('property: any statistics give parseable exposition whose samples give back group, value and (for plain ones) the name', () => {
  const name = fc.stringMatching(/^[A-Za-z0-9_.\-:é"\\]{1,12}$/);
  const view = fc.record({
    group: fc.stringMatching(/^[A-Za-z0-9_.-]{1,8}$/),
    name,
    kind: fc.constantFrom('counter', 'no_reset', 'series') as fc.Arbitrary<StatView['kind']>,
    value: fc.oneof(fc.integer({ min: -1e9, max: 1e9 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(null)),
  });
  fc.assert(
    fc.property(fc.uniqueArray(view, { selector: (v) => `${v.group.toLowerCase()}\0${v.name}`, maxLength: 30 }), (xs) => {
      const samples = parse(toPrometheusText(views(xs)));
      const present = xs.filter((v) => v.value !== null);
      assert.equal(samples.length, present.length);
      const keys = new Set(samples.map((x) => `${x.name}${JSON.stringify(Object.entries(x.labels).sort())}`));
      assert.equal(keys.size, samples.length, 'no two samples share name and labels');
      for (const x of samples) {
        const src = present.find((v) => v.group === x.labels.group && formatValue(v.value!) === x.value && (x.labels.stat ?? x.labels.kpi !== undefined ? true : x.name.includes(v.name)));
        assert.ok(src, `sample ${JSON.stringify(x)} has a source`);
        if (x.type === 'counter') assert.ok(x.name.endsWith('_total'));
        else assert.ok(!x.name.endsWith('_total'));
        assert.doesNotMatch(x.name, /[a-z][A-Z]/, 'no camelCase (promtool lint)');
      }
    }),
    { numRuns: 200 },
  );
});
