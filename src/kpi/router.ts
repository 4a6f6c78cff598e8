import { DIMENSION_VALUE_RE, sanitizeDimensionValue, VIEWS } from './catalogue.ts';
import { KPI_INDEX } from './scopes.ts';
import type { KpiDef } from './catalogue.ts';
import type { CallTracker } from './call-tracker.ts';
import { defaultRouting, rankCarriers } from './routing.ts';
import type { CarrierAnswer, FigureCell, FigureSource, RoutingConfig } from './routing.ts';
import type { ScopeHandles } from './scopes.ts';

/** What a proxy asks: the dialled number, its customer (echoed), the carriers it can use (in its order). */
export interface RouteQuestion {
  readonly number: string;
  readonly customer?: string | undefined;
  readonly carriers?: readonly string[] | undefined;
}

export interface RouteAnswer {
  /** The destination the number goes to (as the tracker gives a call to it its own), null without destinations. */
  readonly destination: string | null;
  readonly customer?: string;
  readonly kpi: string;
  readonly window: string;
  readonly carriers: readonly CarrierAnswer[];
}

/** A question that cannot be answered: what is wrong with it. */
export class RouteQuestionError extends Error {}

/** The list of carriers, in a question and in an answer: the carrier view's rows (`carriers`). */
export const CARRIER_ROWS: string = VIEWS.find((v) => v.dimensions.length === 1 && v.dimensions[0].of === 'attempt')!.rows;

/** Carriers asked for at most (a proxy's gateway list). */
export const MAX_ROUTE_CARRIERS = 1000;


/**
 * Answers "which carrier for this number?" from the tracker's live carrier × destination figures
 * (routing.ts orders them). Holds the `routing` configuration (reload: `configure`).
 */
export class Router {
  private cfg: RoutingConfig = defaultRouting();
  /** The window read, and the time, of the answer being made (what `source` reads with). */
  private w = 0;
  private t = 0;
  /** The tracker's scopes as rankCarriers reads them (one object, no closure an answer). */
  private readonly source: FigureSource<ScopeHandles> = {
    scope: (carrier, dest) => this.tracker.scopes.scopeOf(carrier, dest) ?? null,
    read: (sc, kpi, out: FigureCell) => this.tracker.scopes.figureOf(sc, KPI_INDEX[kpi.name], this.w, this.t, out) !== null,
  };

  constructor(
    private readonly tracker: CallTracker,
    /** The engine's clock (the windows' time). */
    private readonly now: () => number,
  ) {}

  /** Names asked for, as the tracker names carriers (a header's or an address's text, sanitised), remembered. */
  private readonly names = new Map<string, string | null>();
  private carrierName(c: unknown): string | null {
    if (typeof c !== 'string') return null;
    let n = this.names.get(c);
    if (n === undefined) {
      const s = sanitizeDimensionValue(c);
      n = s !== null && DIMENSION_VALUE_RE.test(s) ? s : null;
      if (this.names.size >= 10_000) this.names.clear();
      this.names.set(c, n);
    }
    return n;
  }

  configure(cfg: RoutingConfig): void {
    this.cfg = cfg;
  }

  get config(): RoutingConfig {
    return this.cfg;
  }

  answer(q: RouteQuestion): RouteAnswer {
    const number = typeof q.number === 'string' ? q.number.trim() : '';
    if (number === '' || number.length > 64) throw new RouteQuestionError('number must be a dialled number (1 to 64 characters)');
    const asked = q.carriers ?? this.tracker.carrierNames();
    if (asked.length > MAX_ROUTE_CARRIERS) throw new RouteQuestionError(`at most ${MAX_ROUTE_CARRIERS} carriers`);
    const carriers: string[] = [];
    for (const c of asked) {
      const name = this.carrierName(c);
      if (name === null) throw new RouteQuestionError(`carrier ${JSON.stringify(c)} is not a carrier name`);
      if (!carriers.includes(name)) carriers.push(name);
    }
    const destination = this.tracker.destinationOfNumber(number);
    const cfg = this.cfg;
    this.w = this.tracker.scopes.windows.indexOf(cfg.window);
    this.t = this.now();
    return {
      destination,
      ...(q.customer !== undefined ? { customer: q.customer } : {}),
      kpi: cfg.terms.length === 1 ? cfg.terms[0].kpi.name : 'score',
      window: cfg.window.name,
      carriers: rankCarriers(cfg, destination, carriers, this.source),
    };
  }
}
