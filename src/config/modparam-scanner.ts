/** One `modparam(module, param, value)` found in OpenSIPS configuration text. */
export type Modparam =
  | { line: number; module: string; param: string; value: string | number; error?: undefined }
  | { line: number; error: string; module?: undefined; param?: undefined; value?: undefined };

/**
 * Finds the `modparam(...)` calls of an OpenSIPS configuration (a few lines or a whole
 * opensips.cfg), skipping `#` and `//` line comments, block comments and string literals elsewhere.
 * A `modparam` that does not parse is reported with its line; everything else is ignored.
 */
export function* scanModparams(text: string): Generator<Modparam> {
  let i = 0;
  let line = 1;
  const n = text.length;
  const isWord = (c: string) => /[A-Za-z0-9_]/.test(c);
  while (i < n) {
    const c = text[i];
    if (c === '\n') {
      line++;
      i++;
    } else if (c === '#' || (c === '/' && text[i + 1] === '/')) {
      while (i < n && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      i += 2;
      while (i < n && !(text[i] === '*' && text[i + 1] === '/')) {
        if (text[i] === '\n') line++;
        i++;
      }
      i += 2;
    } else if (c === '"' || c === "'") {
      const s = readString(text, i, line);
      line = s.line;
      i = s.end;
    } else if (c === 'm' && text.startsWith('modparam', i) && (i === 0 || !isWord(text[i - 1])) && !isWord(text[i + 8] ?? '')) {
      const start = line;
      const r = readCall(text, i + 8, line);
      line = r.line;
      i = r.end;
      if (r.error !== undefined) yield { line: start, error: r.error };
      else if (r.args.length !== 3) yield { line: start, error: `modparam takes 3 arguments (module, parameter, value), found ${r.args.length}` };
      else if (typeof r.args[0] !== 'string' || typeof r.args[1] !== 'string') yield { line: start, error: 'modparam module and parameter must be strings' };
      else yield { line: start, module: r.args[0], param: r.args[1], value: r.args[2] };
    } else i++;
  }
}

function readString(text: string, i: number, line: number): { value: string; end: number; line: number; closed: boolean } {
  const q = text[i];
  let out = '';
  let j = i + 1;
  while (j < text.length && text[j] !== q) {
    if (text[j] === '\n') {
      // strings do not span lines in OpenSIPS config
      return { value: out, end: j, line, closed: false };
    }
    if (text[j] === '\\' && j + 1 < text.length && text[j + 1] !== '\n') {
      const e = text[j + 1];
      out += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
      j += 2;
      continue;
    }
    out += text[j++];
  }
  return { value: out, end: j + 1, line, closed: j < text.length };
}

function readCall(text: string, i: number, line: number): { args: (string | number)[]; end: number; line: number; error?: string } {
  const args: (string | number)[] = [];
  const skipWs = () => {
    while (i < text.length && /\s/.test(text[i])) {
      if (text[i] === '\n') line++;
      i++;
    }
  };
  const fail = (error: string) => {
    while (i < text.length && text[i] !== '\n') i++;
    return { args, end: i, line, error };
  };
  skipWs();
  if (text[i] !== '(') return fail("expected '(' after modparam");
  i++;
  for (;;) {
    skipWs();
    const c = text[i];
    if (c === '"' || c === "'") {
      const s = readString(text, i, line);
      if (!s.closed) {
        i = s.end;
        return fail('unterminated string');
      }
      args.push(s.value);
      i = s.end;
    } else if (c !== undefined && /[-+0-9]/.test(c)) {
      const m = /^[-+]?\d+/.exec(text.slice(i, i + 32));
      if (m === null) return fail(`bad number near '${text.slice(i, i + 10)}'`);
      args.push(Number(m[0]));
      i += m[0].length;
    } else if (c === ')' && args.length === 0) {
      i++;
      return { args, end: i, line };
    } else return fail(`expected a string or a number, found ${c === undefined ? 'end of text' : `'${c}'`}`);
    skipWs();
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text[i] === ')') {
      i++;
      return { args, end: i, line };
    }
    return fail(`expected ',' or ')', found ${text[i] === undefined ? 'end of text' : `'${text[i]}'`}`);
  }
}
