import { SipstatsError } from '../errors.ts';

/** A decimal number with an optional sign, as the OpenSER docs write values ("+1", "-1", "42", "2.5"). */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;

/**
 * Turns an update value into a number, or throws E_BAD_VALUE. Numbers must be finite; strings must
 * hold a signed decimal number (no exponent, no spaces, no trailing garbage). OpenSIPS turns "abc"
 * into 0 and Kamailio takes values modulo 65536: sipstats refuses instead.
 */
export function toValue(value: unknown, param = 'value'): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
    throw new SipstatsError('E_BAD_VALUE', `parameter '${param}': ${value} is not a finite number`);
  }
  if (typeof value === 'string') {
    if (DECIMAL.test(value)) {
      const n = Number(value);
      if (Number.isFinite(n)) return n;
    }
    throw new SipstatsError('E_BAD_VALUE', `parameter '${param}': ${JSON.stringify(value.slice(0, 64))} is not a signed decimal number`);
  }
  throw new SipstatsError('E_BAD_VALUE', `parameter '${param}': expected a number or a decimal string, got ${value === null ? 'null' : typeof value}`);
}

/** Statistic names: 1..255 chars, no whitespace or control characters, no ':' (the group separator), no quotes. */
const NAME = /^[^\s\x00-\x1f\x7f:"'\\]{1,255}$/;
export function isValidStatName(name: unknown): boolean {
  return typeof name === 'string' && NAME.test(name);
}

/** Group and profile names: letters, digits, `_`, `-`, `.`; 1..64 chars. */
const IDENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
export function isValidIdent(name: unknown): boolean {
  return typeof name === 'string' && IDENT.test(name);
}
