import type { KeptOwner, SeriesLabels, StatView } from '../core/types.ts';
import { DIMENSIONS, identityLabels, replyCodeLabel } from '../kpi/catalogue.ts';
import type { KpiIdentity } from '../kpi/catalogue.ts';

/**
 * Prometheus text exposition (format 0.0.4) of the statistics, pure (docs/metrics.md):
 * - a resettable counter `grp:name` → `sipstats_name_total{group="grp"} v`, TYPE counter;
 * - a `/no_reset` counter or a series → `sipstats_name{group="grp"} v`, TYPE gauge;
 * - a call KPI series (one the KPI catalogue labelled: src/kpi/catalogue.ts) →
 *   `sipstats_kpi{kpi="ASR",window="10m",customer="acme",group="stats_10m"} v`, with `carrier` and/or
 *   `destination` labels instead of `customer` for those views (all traffic: `customer=""`), and
 *   beside it the samples in its window, `sipstats_kpi_samples{...same labels}` n; a KPI whose
 *   window holds no sample is left out (the MI answers OpenSIPS' 0 for it: Prometheus would read a
 *   false 0, and rules on it would fire for a carrier that has no traffic);
 * - a null value (`min_samples` not reached) is left out.
 * Metric names keep only `[a-zA-Z0-9_]` (':' too is replaced: promtool's linter refuses it), a
 * lower-to-upper case step gets a '_' (`activeCalls` → `active_Calls`, the linter refuses camelCase),
 * a gauge never ends in `_total` (`_value` is appended). When the metric name does not spell the
 * statistic name as it is, a `stat` label carries the original, so two statistics never share a series.
 *
 * Everything constant is rendered once per statistic and cached as bytes: a scrape finds each
 * statistic's entry (in the last scrape's order, else by name) and writes its bytes and value into
 * the reply body (100 000 series: see bench/server.ts).
 */

export interface PrometheusOptions {
  /** Prefix of every metric name (default `sipstats`). */
  readonly namespace?: string;
  /**
   * Statistics that come as new objects at every scrape, named KPI series among them (the cluster's
   * merge, built from Redis at each scrape): their KPI lines too are written from the text of their
   * place and their labels, not kept per line (default: only kept statistics are, see Place).
   */
  readonly freshViews?: boolean;
}

interface Family {
  /**
   * `# HELP` and `# TYPE` lines, UTF-8: those of the first statistic of the family in this scrape
   * (statistics of one metric name may have different help texts: a `no_reset` counter `x` and a series `x`).
   */
  header: Buffer;
  /** The header lines of the first help text seen, and of any other (rare: made when needed). */
  readonly help0: string;
  readonly header0: Buffer;
  more: Map<string, Buffer> | undefined;
  /**
   * This scrape's lines, written as the statistics come: full chunks, and the one being filled up
   * to `top` (nothing per statistic is kept past the scrape; the chunks go to the reply).
   */
  readonly chunks: Buffer[];
  chunk: Buffer;
  top: number;
  /** Compressed: its part (its full chunks went there, and the chunk was reused). */
  part: CompressedPart | undefined;
  gen: number;
}

interface Entry {
  readonly group: string;
  readonly name: string;
  readonly kind: StatView['kind'];
  readonly family: Family;
  /** Where `name{labels} ` is in the serializer's arena (UTF-8): start and length. The value follows. */
  at0: number;
  readonly len: number;
  /** The family's header as this statistic would write it (shared: see Family.header0). */
  readonly header: Buffer;
  gen: number;
  /** Where it was in the last scrape's order (see `order`). */
  at: number;
  /** A KPI series' second line: its sample count (`sipstats_kpi_samples`). */
  readonly twin: Entry | undefined;
}

/**
 * The text of a place of a kept statistic (StatView.owner, slot: a KPI scope's KPI in a window), for
 * every owner of one layout: `pre` and `post` go either side of the owner's own labels, as in
 * `sipstats_kpi{kpi="ASR",window="10m",` + `customer="acme",` + `group="stats_10m"} ` (UTF-8).
 * A few hundred of them in all, however many scopes: what a scrape keeps instead of an entry, a
 * name and the text of every statistic (~19 KB a customer, measured with 10 000 customers).
 */
interface Place {
  readonly group: string;
  readonly kind: StatView['kind'];
  readonly family: Family;
  readonly header: Buffer;
  readonly pre: Buffer;
  readonly post: Buffer;
  /** The sample count's line (`sipstats_kpi_samples`): every value line's place has one, the sample line's none. */
  readonly twin: Place | undefined;
}

type Lookup = (cb: (v: StatView) => void) => void;

/**
 * Compresses a scrape as it is written (export/gzip.ts): a family's text goes into a part of its
 * own, piece by piece as its chunk fills (the chunk is then reused: the text is never held whole),
 * and the parts are joined in the reply's order.
 */
export interface TextCompressor<P extends CompressedPart = CompressedPart> {
  part(): P;
  join(parts: readonly P[]): Buffer[];
}

export interface CompressedPart {
  /** A full chunk of the family's text, in order: compressed now (the chunk is then written again). */
  add(text: Buffer): void;
  /**
   * The text after its pieces, not compressed yet: joined, the tails of families that follow one
   * another are compressed together (a family of one line is not a compression of its own).
   */
  tail: Buffer;
}

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

/** Escapes HELP text: backslash and line feed. */
export function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A metric name from a statistic name: `[a-zA-Z0-9_]` only, no camelCase step. */
export function sanitizeMetricName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_').replace(/([a-z])(?=[A-Z])/g, '$1_');
}

/** Room for a value's text: formatValue gives at most 25 characters (`-0.0000012345678901234567`). */
const VALUE_MAX = 32;

/** A family's lines are written in chunks, each twice the last, up to this size (a longer line gets one of its own). */
const CHUNK = 256 * 1024;
/** A family's first chunk (it doubles from there); small chunks are cut from slabs of SLAB bytes. */
const FIRST_CHUNK = 256;
const SLAB = 256 * 1024;
const EMPTY = Buffer.alloc(0);

/** A family's `# HELP` and `# TYPE` lines. */
function headerLines(name: string, type: 'counter' | 'gauge', help: string): Buffer {
  return Buffer.from(`# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`, 'utf8');
}

/** Renders a sample value as the text format wants it. */
export function formatValue(v: number): string {
  if (Number.isFinite(v)) return Object.is(v, -0) ? '0' : String(v);
  return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
}

export class PrometheusSerializer {
  private readonly ns: string;
  private readonly families = new Map<string, Family>();
  /**
   * Every entry's `name{labels} `, end to end (compacted by the sweep): a Buffer per entry cost
   * ~200 B more per statistic than the text itself.
   */
  private arena = Buffer.allocUnsafe(64 * 1024);
  private arenaTop = 0;
  /** group → name → entry: no key string is built per scrape. */
  private readonly cache = new Map<string, Map<string, Entry>>();
  /**
   * The entries of the last scrape in the order the statistics came, and this scrape's: statistics
   * come in the same order scrape after scrape, so the next one is nearly always the entry after
   * the last one found, and a name is compared where it would otherwise be looked up in a map of
   * 100 000 (a cache miss each: measured ~40 % of a scrape). A statistic added or gone is looked
   * up, and the walk goes on after where that one was.
   */
  private order: Entry[] = [];
  /** The places of kept statistics by their owners' layout, by slot (null: not a KPI). */
  private readonly places = new WeakMap<object, (Place | null | undefined)[]>();
  private nextOrder: Entry[] = [];
  private cached = 0;
  private gen = 0;

  /** Named KPI series too by place (PrometheusOptions.freshViews): the places by group, kind, KPI and window. */
  private readonly namedPlaces: Map<string, Place | null> | undefined;

  constructor(options: PrometheusOptions = {}) {
    this.ns = sanitizeMetricName(options.namespace ?? 'sipstats');
    this.namedPlaces = options.freshViews === true ? new Map() : undefined;
  }

  /** Statistics whose text the serializer keeps between scrapes (each one's own: a KPI scope's series and levels have none). */
  get kept(): number {
    return this.cached;
  }

  /** Serialises every statistic `forEach` yields (e.g. `(cb) => stats.forEachStat(cb)`), as text. */
  serialize(forEach: Lookup): string {
    return this.serializeBytes(forEach).toString('utf8');
  }

  /** The same, as the UTF-8 bytes a scrape is sent, in one buffer (see serializeChunks). */
  serializeBytes(forEach: Lookup, extra = ''): Buffer {
    return Buffer.concat(this.serializeChunks(forEach, extra));
  }

  /**
   * The same, as the chunks of UTF-8 a scrape is sent, in order: each line is written as its
   * statistic comes, its cached name and labels and its value's text, into its metric family's
   * chunks (a family's lines go together); a reply writes the chunks one after the other. Nothing
   * per line is gathered first (an entry and a value per line: ~36 MB of arrays for 740 000 lines),
   * and no string is built for the text (concatenating 100 000 lines into one string and encoding it
   * took about twice as long, much of it the garbage of the pieces: bench/server.ts).
   */
  serializeChunks(forEach: Lookup, extra = '', compressor?: TextCompressor): Buffer[] {
    const gen = ++this.gen;
    let seen = 0;
    let lastGroup: string | undefined;
    let byName: Map<string, Entry> | undefined;
    const order = this.order;
    const next = this.nextOrder;
    let k = 0;
    // kept statistics come owner by owner: its labels' text is made once per owner and scrape
    let lastOwner: KeptOwner | undefined;
    let ownerText: Buffer = EMPTY;
    let lastLayout: object | undefined;
    let places: (Place | null | undefined)[] | undefined;
    /** The families of this scrape, in the order their first statistic came (as a fresh serializer writes them). */
    const touched: Family[] = [];
    // small chunks are pieces of one slab (a family of one line is 10 000 of them at 100 000
    // statistics: an allocation each cost the scrape ~10 %); large ones are buffers of their own
    let slab = EMPTY;
    let slabTop = 0;
    const carve = (size: number): Buffer => {
      if (size > SLAB / 8) return Buffer.allocUnsafe(size);
      if (slabTop + size > slab.length) {
        slab = Buffer.allocUnsafe(SLAB);
        slabTop = 0;
      }
      return slab.subarray(slabTop, (slabTop += size));
    };
    /** The family's chunk with room for `len` more bytes, the family started if it is this scrape's first line of it. */
    const room = (f: Family, header: Buffer, len: number): Buffer => {
      if (f.gen !== gen) {
        f.gen = gen;
        f.chunks.length = 0;
        f.part = compressor?.part();
        touched.push(f);
        // its header lines (those of its first statistic in this scrape), then its lines
        const out = (f.chunk = carve(Math.max(header.length + len, FIRST_CHUNK)));
        for (let j = 0; j < header.length; j++) out[j] = header[j];
        f.top = header.length;
        return out;
      }
      if (f.top + len <= f.chunk.length) return f.chunk;
      if (f.top > 0) {
        // compressed: the full chunk's text goes to the family's part now, and a chunk of the
        // largest size is written again (the text is never held whole)
        const text = f.chunk.subarray(0, f.top);
        if (f.part === undefined) f.chunks.push(text);
        else {
          f.part.add(text);
          f.top = 0;
          if (f.chunk.length >= CHUNK && len <= f.chunk.length) return f.chunk;
        }
      }
      f.chunk = carve(Math.max(len, Math.min(CHUNK, 2 * f.chunk.length)));
      f.top = 0;
      return f.chunk;
    };
    // (the arena grows when a statistic is rendered: `render` callers refresh it)
    let arena = this.arena;
    /** A statistic's line: its cached text, its value's (ASCII: a byte a character), a line feed. */
    const line = (e: Entry, v: number) => {
      const f = e.family;
      const len = e.len;
      let out = f.chunk;
      let o = f.top;
      if (f.gen !== gen || o + len + VALUE_MAX + 1 > out.length) {
        out = room(f, e.header, len + VALUE_MAX + 1);
        o = f.top;
      }
      const a = arena;
      for (let j = e.at0, end = j + len; j < end; j++) out[o++] = a[j];
      const t = formatValue(v);
      for (let j = 0; j < t.length; j++) out[o++] = t.charCodeAt(j);
      out[o++] = 0x0a;
      f.top = o;
    };
    /** A kept statistic's line: its place's text either side of its owner's labels. */
    const placeLine = (p: Place, v: number) => {
      const f = p.family;
      const { pre, post } = p;
      const own = ownerText;
      let out = f.chunk;
      let o = f.top;
      const len = pre.length + own.length + post.length;
      if (f.gen !== gen || o + len + VALUE_MAX + 1 > out.length) {
        out = room(f, p.header, len + VALUE_MAX + 1);
        o = f.top;
      }
      for (let j = 0; j < pre.length; j++) out[o++] = pre[j];
      for (let j = 0; j < own.length; j++) out[o++] = own[j];
      for (let j = 0; j < post.length; j++) out[o++] = post[j];
      const t = formatValue(v);
      for (let j = 0; j < t.length; j++) out[o++] = t.charCodeAt(j);
      out[o++] = 0x0a;
      f.top = o;
    };
    /** A KPI's lines by place: its value unless its window is empty, and its sample count when known. */
    const placeLines = (p: Place, value: number | null, n: number | null | undefined) => {
      if (value !== null && n !== 0) placeLine(p, value);
      if (n !== undefined && n !== null) placeLine(p.twin!, n);
    };
    forEach((v) => {
      const value = v.value;
      const n = v.samples;
      const owner = v.owner;
      if (owner !== undefined) {
        // nothing to write: no value, no sample count
        if (value === null && (n === undefined || n === null)) return;
        const layout = owner.layout;
        if (layout !== lastLayout) {
          lastLayout = layout;
          places = this.places.get(layout);
          if (places === undefined) this.places.set(layout, (places = []));
        }
        const slot = v.slot!;
        let p = places![slot];
        if (p === undefined || (p !== null && (p.group !== v.group || p.kind !== v.kind))) places![slot] = p = this.renderPlace(v);
        if (p !== null) {
          if (owner !== lastOwner) {
            lastOwner = owner;
            ownerText = this.ownerLabels(v.labels!);
          }
          placeLines(p, value, n);
          return;
        }
      }
      const named = this.namedPlaces;
      if (named !== undefined && owner === undefined) {
        const l = v.labels;
        if (l != null && l.kpi !== undefined) {
          const key = `${v.group}\n${v.kind}\n${l.kpi}\n${l.window ?? ''}`;
          let p = named.get(key);
          if (p === undefined) named.set(key, (p = this.renderPlace(v)));
          if (p !== null) {
            if (value === null && (n === undefined || n === null)) return;
            // (its own labels each line: these views share no owner)
            ownerText = this.ownerLabels(l);
            lastOwner = undefined;
            placeLines(p, value, n);
            return;
          }
        }
      }
      // nothing to write: no value, and no sample count a KPI line would carry
      if (value === null && (n === undefined || n === null || v.labels?.kpi === undefined)) return;
      let e: Entry | undefined = order[k];
      if (e !== undefined && e.name === v.name && e.group === v.group && e.kind === v.kind) k++;
      else {
        // statistics come group by group: look the group up once per run of them
        if (v.group !== lastGroup || byName === undefined) {
          lastGroup = v.group;
          byName = this.cache.get(v.group);
          if (byName === undefined) this.cache.set(v.group, (byName = new Map()));
        }
        e = byName.get(v.name);
        if (e === undefined || e.kind !== v.kind) {
          if (e === undefined) this.cached++;
          byName.set(v.name, (e = this.render(v)));
          arena = this.arena;
        } else if (e.gen !== gen && e.at >= 0) k = e.at + 1;
      }
      e.at = seen;
      next[seen] = e;
      seen++;
      e.gen = gen;
      if (e.twin === undefined) line(e, value!);
      else {
        if (value !== null && n !== 0) line(e, value);
        if (n !== undefined && n !== null) line(e.twin, n);
      }
    });
    let out: Buffer[] = [];
    const parts: CompressedPart[] = [];
    for (const f of touched) {
      if (f.part !== undefined) {
        f.part.tail = f.chunk.subarray(0, f.top);
        parts.push(f.part);
      } else {
        for (const c of f.chunks) out.push(c);
        if (f.top > 0) out.push(f.chunk.subarray(0, f.top));
      }
      // nothing of this scrape's text is kept
      f.chunks.length = 0;
      f.chunk = EMPTY;
      f.top = 0;
      f.part = undefined;
    }
    if (compressor !== undefined) {
      if (extra !== '') {
        const p = compressor.part();
        p.tail = Buffer.from(extra, 'utf8');
        parts.push(p);
      }
      out = compressor.join(parts);
    } else if (extra !== '') out.push(Buffer.from(extra, 'utf8'));
    next.length = seen;
    this.order = next;
    this.nextOrder = order;
    // statistics go away (idle sweep, remove_series, expired dimension values): drop cache entries not seen for a while
    if (this.cached > 2 * seen + 1024) this.sweep(gen);
    return out;
  }

  /** The text of a kept statistic's place (null: not a KPI, written as any other statistic). */
  private renderPlace(v: StatView): Place | null {
    const l = v.labels;
    if (v.kind === 'counter' || l == null || l.kpi === undefined || l.reply !== undefined) return null;
    const group = `group="${escapeLabelValue(v.group)}"} `;
    const own = `kpi="${escapeLabelValue(l.kpi)}",window="${escapeLabelValue(l.window ?? '')}",`;
    const [f, header] = this.kpiFamily();
    const [sf, sheader] = this.samplesFamily();
    const place = (family: Family, header: Buffer, name: string, twin: Place | undefined): Place => ({
      group: v.group,
      kind: v.kind,
      family,
      header,
      pre: Buffer.from(`${name}{${own}`, 'utf8'),
      post: Buffer.from(group, 'utf8'),
      twin,
    });
    return place(f, header, `${this.ns}_kpi`, place(sf, sheader, `${this.ns}_kpi_samples`, undefined));
  }

  /** A kept statistic's owner's own labels (its dimension values; `customer=""` for all traffic), as text. */
  private ownerLabels(l: SeriesLabels): Buffer {
    let text = '';
    for (const d of DIMENSIONS) {
      const x = l[d.name];
      if (x !== undefined) text += `${d.name}="${escapeLabelValue(x)}",`;
    }
    return Buffer.from(text === '' ? 'customer="",' : text, 'utf8');
  }

  private kpiFamily(): [Family, Buffer] {
    return this.family(`${this.ns}_kpi`, 'gauge', 'Call KPIs by kpi, window and customer, carrier and/or destination (customer="" alone: all traffic)');
  }

  private samplesFamily(): [Family, Buffer] {
    return this.family(`${this.ns}_kpi_samples`, 'gauge', 'Samples in the window behind each sipstats_kpi value: calls, attempts, calls timed (docs/metrics.md); 0 when the window is empty and the KPI is left out');
  }

  /** The family of metric `name`, and the header lines a statistic of it with `help` writes (one Buffer per distinct text). */
  private family(name: string, type: 'counter' | 'gauge', help: string): [Family, Buffer] {
    let f = this.families.get(name);
    if (f === undefined) {
      const header = headerLines(name, type, help);
      f = { header, help0: help, header0: header, more: undefined, chunks: [], chunk: EMPTY, top: 0, part: undefined, gen: 0 };
      this.families.set(name, f);
    }
    if (help === f.help0) return [f, f.header0];
    let header = f.more?.get(help);
    if (header === undefined) (f.more ??= new Map()).set(help, (header = headerLines(name, type, help)));
    return [f, header];
  }

  /** Renders the constant part of one statistic's line (done once per statistic). */
  private render(v: StatView): Entry {
    const group = `group="${escapeLabelValue(v.group)}"`;
    // the final replies by code of a scope in a window (the "why calls fail" view)
    if (v.kind === 'series' && v.labels != null && v.labels.reply !== undefined) {
      const name = `${this.ns}_final_replies`;
      const [f, header] = this.family(name, 'gauge', 'Failed calls (attempts, for carriers) in the window by final reply: code, class (4xx) or timeout, and Q.850 cause; by customer, carrier and/or destination (customer="" alone: all traffic)');
      const l = v.labels;
      let labels = `code="${escapeLabelValue(replyCodeLabel(l.reply!))}",window="${escapeLabelValue(l.window ?? '')}",`;
      let any = false;
      for (const d of DIMENSIONS) {
        const x = l[d.name];
        if (x === undefined) continue;
        labels += `${d.name}="${escapeLabelValue(x)}",`;
        any = true;
      }
      if (!any) labels += 'customer="",';
      return this.entry(v, f, header, `${name}{${labels}${group}} `, undefined);
    }
    // a KPI series, or a KPI level (concurrent calls: a /no_reset counter its feeder labelled)
    if (v.kind !== 'counter' && v.labels != null && v.labels.kpi !== undefined) {
      const [f, header] = this.kpiFamily();
      let labels = '';
      for (const [k, x] of Object.entries(identityLabels(v.labels as unknown as KpiIdentity))) labels += `${k}="${escapeLabelValue(x)}",`;
      const [sf, sheader] = this.samplesFamily();
      const twin = this.entry(v, sf, sheader, `${this.ns}_kpi_samples{${labels}${group}} `, undefined);
      return this.entry(v, f, header, `${this.ns}_kpi{${labels}${group}} `, twin);
    }
    const base = `${this.ns}_${sanitizeMetricName(v.name)}`;
    let name: string;
    let type: 'counter' | 'gauge';
    let help: string;
    if (v.kind === 'counter') {
      name = `${base}_total`;
      type = 'counter';
      help = `Counter ${v.name}`;
    } else {
      name = base.endsWith('_total') || base === `${this.ns}_kpi` ? `${base}_value` : base;
      type = 'gauge';
      help = v.kind === 'series' ? `Series ${v.name} (profile ${v.profile ?? '?'})` : `Counter ${v.name} (no_reset)`;
    }
    const exact = v.kind === 'counter' ? `${this.ns}_${v.name}_total` : `${this.ns}_${v.name}`;
    const stat = name === exact ? '' : `,stat="${escapeLabelValue(v.name)}"`;
    const [family, header] = this.family(name, type, help);
    return this.entry(v, family, header, `${name}{${group}${stat}} `, undefined);
  }

  /** A statistic's entry, its constant text written into the arena (UTF-8). */
  private entry(v: StatView, family: Family, header: Buffer, text: string, twin: Entry | undefined): Entry {
    const room = 3 * text.length; // (UTF-8 takes at most 3 bytes per UTF-16 unit)
    if (this.arenaTop + room > this.arena.length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * this.arena.length, this.arenaTop + room));
      this.arena.copy(grown, 0, 0, this.arenaTop);
      this.arena = grown;
    }
    const at0 = this.arenaTop;
    const len = this.arena.write(text, at0, 'utf8');
    this.arenaTop += len;
    return { group: v.group, name: v.name, kind: v.kind, family, at0, len, header, gen: 0, at: -1, twin };
  }

  private sweep(gen: number): void {
    this.cached = 0;
    // the texts of the entries kept move to a new arena, end to end
    const old = this.arena;
    let live = 0;
    for (const [g, byName] of this.cache) {
      for (const [n, e] of byName) {
        if (e.gen !== gen) byName.delete(n);
        else live += e.len + (e.twin?.len ?? 0);
      }
      if (byName.size === 0) this.cache.delete(g);
      else this.cached += byName.size;
    }
    this.arena = Buffer.allocUnsafe(Math.max(64 * 1024, Math.ceil(live * 1.5)));
    this.arenaTop = 0;
    for (const byName of this.cache.values())
      for (const e of byName.values())
        for (let x: Entry | undefined = e; x !== undefined; x = x.twin) {
          old.copy(this.arena, this.arenaTop, x.at0, x.at0 + x.len);
          x.at0 = this.arenaTop;
          this.arenaTop += x.len;
        }
    for (const [n, f] of this.families) if (f.gen !== gen) this.families.delete(n);
  }
}

/** One-shot form: serialises the statistics of `forEach` with a fresh serializer (no cache kept). */
export function toPrometheusText(forEach: Lookup, options?: PrometheusOptions): string {
  return new PrometheusSerializer(options).serialize(forEach);
}
