/**
 * True when an Accept-Encoding header takes gzip (Prometheus sends `gzip` at every scrape, browsers `gzip, deflate, br`): listed,
 * or `*`, without q=0.
 */
export function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  for (const item of header.split(',')) {
    const [coding, ...params] = item.split(';').map((x) => x.trim().toLowerCase());
    if (coding !== 'gzip' && coding !== 'x-gzip' && coding !== '*') continue;
    const q = params.find((p) => p.startsWith('q='));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}
