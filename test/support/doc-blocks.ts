/**
 * The fenced code blocks of the repository's documents, with their info string split into words
 * (```yaml config-check → ['yaml', 'config-check']): what the docs tests check blocks by
 * (test/integration/docs.test.ts: doctest, config-check...; documented-configs.test.ts: kamailio,
 * alertmanager, promtool).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DocBlock {
  /** The document it comes from, relative to the repository root. */
  doc: string;
  /** 1-based line of the opening fence. */
  line: number;
  info: string[];
  text: string;
}

/** Every fenced block of `docs` (paths relative to `root`), in order. */
export function docBlocks(root: string, docs: readonly string[]): DocBlock[] {
  const out: DocBlock[] = [];
  for (const doc of docs) {
    const lines = readFileSync(join(root, doc), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const m = /^```(.*)$/.exec(lines[i]);
      if (m === null) continue;
      let j = i + 1;
      while (j < lines.length && !lines[j].startsWith('```')) j++;
      out.push({ doc, line: i + 1, info: m[1].trim().split(/\s+/).filter((x) => x !== ''), text: lines.slice(i + 1, j).join('\n') });
      i = j;
    }
  }
  return out;
}
