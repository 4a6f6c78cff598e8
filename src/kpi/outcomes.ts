import { SipstatsError } from '../errors.ts';
import { OUTCOME_KPIS, outcomeKey } from './catalogue.ts';

/**
 * The reply-code → KPI outcome table (docs/kpis.md), configurable. Each rule gives the weights a call
 * decided by that code adds to each outcome ratio of the catalogue (OUTCOME_KPIS: ASR, NER, CCR),
 * +1 success, −1 failure, 0 not counted, under the KPI's name in lower case. The first rule whose
 * codes match wins; `timeout` is the pseudo-code of a call that got no final reply in time.
 */
export type OutcomeWeight = 1 | -1 | 0;
export type OutcomeRule = { readonly codes: string } & { readonly [outcomeKey: string]: OutcomeWeight | string };

/** The default definitions (docs/kpis.md). */
export const DEFAULT_OUTCOMES: readonly OutcomeRule[] = Object.freeze([
  { codes: '200-299', asr: 1, ner: 1, ccr: 1 }, // answered
  { codes: '486,408', asr: -1, ner: 1, ccr: 1 }, // busy, request timeout: the network worked
  { codes: '300-499', asr: -1, ner: -1, ccr: 1 }, // other 3xx/4xx: the far end answered the signalling
  { codes: '500-699', asr: -1, ner: -1, ccr: -1 }, // server and global failures
  { codes: 'timeout', asr: -1, ner: -1, ccr: -1 }, // no final reply within the INVITE timeout
]);

export interface Outcome {
  /** The weight of each outcome KPI, in OUTCOME_KPIS order. */
  readonly weights: readonly number[];
  readonly answered: boolean;
}

export const TIMEOUT = 0;

/** Compiled table: outcome by code (index 100..699; 0 = timeout). */
export class OutcomeTable {
  private readonly byCode: (Outcome | undefined)[] = new Array(700);

  constructor(rules: readonly OutcomeRule[] = DEFAULT_OUTCOMES) {
    const problems = OutcomeTable.validate(rules);
    if (problems.length > 0) throw new SipstatsError('E_CONFIG', `invalid outcome table: ${problems.join('; ')}`);
    for (let code = 0; code < 700; code++) {
      if (code !== TIMEOUT && code < 200) continue;
      const r = rules.find((x) => matches(x.codes, code));
      if (r !== undefined) this.byCode[code] = Object.freeze({ weights: Object.freeze(OUTCOME_KPIS.map((k) => r[outcomeKey(k)] as number)), answered: code >= 200 && code < 300 });
    }
  }

  /** The outcome of a final reply `code` (200..699) or TIMEOUT; undefined when no rule matches. */
  of(code: number): Outcome | undefined {
    return this.byCode[code];
  }

  static validate(rules: readonly OutcomeRule[]): string[] {
    const out: string[] = [];
    rules.forEach((r, i) => {
      for (const part of String(r.codes).split(',')) {
        const p = part.trim();
        if (p === 'timeout') continue;
        const m = /^(\d{3})(?:-(\d{3}))?$/.exec(p);
        if (!m || Number(m[1]) < 200 || Number(m[2] ?? m[1]) > 699 || Number(m[2] ?? m[1]) < Number(m[1])) out.push(`rule ${i}: bad code range '${p}' (200..699 or 'timeout')`);
      }
      for (const k of OUTCOME_KPIS.map(outcomeKey)) if (![1, -1, 0].includes(r[k] as number)) out.push(`rule ${i}: ${k} must be 1, -1 or 0`);
    });
    return out;
  }
}

function matches(codes: string, code: number): boolean {
  for (const part of codes.split(',')) {
    const p = part.trim();
    if (p === 'timeout') {
      if (code === TIMEOUT) return true;
      continue;
    }
    const [a, b] = p.split('-').map(Number);
    if (code >= a && code <= (b ?? a)) return true;
  }
  return false;
}
