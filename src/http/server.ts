import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { ERRORS, SipstatsError } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The HTTP listener: a small route table, an optional bearer token (and a read-only one), a body
 * limit and timeouts so that no client can stall or crash it. A leaf: it knows routes, not what
 * they serve; the MI (mi/route.ts), /metrics (export), the dashboard (web) and alerts bring their
 * routes, and the composition root (app/server.ts) puts them together.
 */

/** Limits of the HTTP listener (all times in milliseconds, sizes in bytes). */
export interface HttpLimits {
  /** Largest request body read; past it the reply is 413. */
  bodyLimit: number;
  /** Time allowed to receive the request headers (then 408 and close). */
  headersTimeout: number;
  /** Time allowed to receive a whole request, headers and body (then 408 and close). */
  requestTimeout: number;
  /** How long an idle keep-alive connection stays open between requests. */
  keepAliveTimeout: number;
  /** A socket with no traffic at all for this long is closed (also mid-response). */
  idleTimeout: number;
  /** How often Node checks headersTimeout/requestTimeout (their resolution). */
  checkInterval: number;
  /** After a 413, how long the rest of the body is read and dropped before the socket is cut. */
  drainTimeout: number;
  /** After a 413, how many more bytes are read and dropped before the socket is cut. */
  drainLimit: number;
  /** On close(): how long in-flight requests may take before their connections are cut. */
  shutdownGrace: number;
}

/** The defaults, each with its unit, live with every other default in config/defaults.ts. */
/** An HTTP error reply: its code in the registry gives the status and the title. */
export class HttpError extends SipstatsError {
  readonly status: number;
  constructor(code: HttpErrorCode, detail?: string, readonly headers: Record<string, string> = {}) {
    super(code, detail ?? ERRORS[code].title);
    this.status = ERRORS[code].mi;
    this.detail = detail;
  }
  readonly detail: string | undefined;
  /** The JSON body: `{"error": title, "code": code, "message"?: detail}`. */
  body(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { error: ERRORS[this.code].title, code: this.code, ...(this.detail !== undefined ? { message: this.detail } : {}), ...extra };
  }
}

export type HttpErrorCode = Extract<ErrorCode, `E_HTTP_${string}`>;

/**
 * What a request may do: `admin` (the admin token, or no token configured), `read` (the read-only
 * token: reads and /metrics, no MI command that changes statistics).
 */
export type Access = 'admin' | 'read';

export interface RouteContext {
  readonly url: URL;
  readonly access: Access;
  /** Reads the request body (at most bodyLimit bytes). Rejects with HttpError(413) past it. */
  body(): Promise<Buffer>;
  /** Sends a JSON reply. */
  json(status: number, value: unknown, headers?: Record<string, string>): void;
  /** Sends a coded error reply (E_HTTP_*: status, title and code from the registry). */
  fail(code: HttpErrorCode, detail?: string, headers?: Record<string, string>): void;
}

export interface Route {
  /** Methods answered; other methods get 405 with an Allow header. A GET route answers HEAD too. */
  readonly methods: readonly string[];
  /** Exact path (`/metrics`), or with `prefix: true` the path and everything under it (`/mi`, `/mi/...`). */
  readonly path: string;
  readonly prefix?: boolean;
  /** Needs the bearer token when one is configured (default true). */
  readonly auth?: boolean;
  handle(req: IncomingMessage, res: ServerResponse, ctx: RouteContext): void | Promise<void>;
}

export interface HttpServerOptions {
  routes?: Route[];
  /** Bearer token required by routes with `auth` (null/'' = no token): full access. */
  token?: string | null;
  /** A second token for reads only (GET routes, /metrics, MI commands that change nothing). */
  readToken?: string | null;
  /** Every limit (the caller's configuration decides them: config/defaults.ts `http` and the `http` section). */
  limits: Readonly<HttpLimits>;
  /** Where handler failures are reported (default: stderr). */
  log?: (message: string) => void;
}

const sha = (s: string) => createHash('sha256').update(s).digest();

export class SipstatsHttpServer {
  readonly server: Server;
  readonly limits: Readonly<HttpLimits>;
  private readonly routes: Route[] = [];
  private readonly tokenHash: Buffer | null;
  private readonly readTokenHash: Buffer | null;
  /** Dashboard sessions: cookie id → access and expiry (the token never travels in a URL). */
  private readonly sessions = new Map<string, { access: Access; until: number }>();
  private readonly log: (message: string) => void;

  constructor(options: HttpServerOptions) {
    this.limits = Object.freeze({ ...options.limits });
    const l = this.limits;
    this.tokenHash = options.token ? sha(options.token) : null;
    this.readTokenHash = options.readToken ? sha(options.readToken) : null;
    this.log = options.log ?? ((m) => process.stderr.write(`${m}\n`));
    for (const r of options.routes ?? []) this.addRoute(r);
    this.server = createServer({
      headersTimeout: Math.min(l.headersTimeout, l.requestTimeout),
      requestTimeout: l.requestTimeout,
      keepAliveTimeout: l.keepAliveTimeout,
      connectionsCheckingInterval: l.checkInterval,
    });
    this.server.keepAliveTimeout = l.keepAliveTimeout;
    this.server.timeout = l.idleTimeout;
    this.server.on('request', (req, res) => void this.dispatch(req, res));
    // `Expect: 100-continue` with a declared body past the limit: refuse before the body is sent
    this.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      if (Number(req.headers['content-length']) > l.bodyLimit) {
        res.shouldKeepAlive = false;
        this.sendError(res, new HttpError('E_HTTP_TOO_LARGE'), { limit: l.bodyLimit }, { connection: 'close' });
        return;
      }
      res.writeContinue();
      void this.dispatch(req, res);
    });
    // malformed requests and header/request timeouts: Node's own clientError handling answers
    // 400/408/431 and closes the socket.
  }

  /** Adds a route; routes added later are tried after earlier ones. */
  addRoute(route: Route): void {
    this.routes.push(route);
  }

  /** Binds; resolves with the base URL (`http://HOST:PORT`, the chosen port when port is 0). */
  listen(host: string, port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve(this.url());
      });
    });
  }

  url(): string {
    const a = this.server.address() as AddressInfo;
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  /** Stops accepting, lets in-flight requests finish (up to shutdownGrace), closes idle keep-alive sockets. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      const timer = setTimeout(() => this.server.closeAllConnections(), this.limits.shutdownGrace);
      timer.unref();
      this.server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      this.server.closeIdleConnections();
    });
  }

  private match(path: string): Route[] {
    return this.routes.filter((r) => path === r.path || (r.prefix === true && path.startsWith(r.path.endsWith('/') ? r.path : `${r.path}/`)));
  }

  /** The access a token gives, or null. Digests are compared: constant time, and no length leak. */
  tokenAccess(token: string): Access | null {
    const d = sha(token);
    if (this.tokenHash !== null && timingSafeEqual(d, this.tokenHash)) return 'admin';
    if (this.readTokenHash !== null && timingSafeEqual(d, this.readTokenHash)) return 'read';
    return null;
  }

  /**
   * The access of a request: a bearer token, or (GET only: the dashboard's reads) its session
   * cookie; everything when no token is configured; null when refused.
   */
  private access(req: IncomingMessage): Access | null {
    if (this.tokenHash === null && this.readTokenHash === null) return 'admin';
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
    if (m !== null) return this.tokenAccess(m[1]);
    if (req.method !== 'GET' && req.method !== 'HEAD') return null;
    const c = /(?:^|;\s*)sipstats_session=([A-Za-z0-9_-]{20,100})/.exec(String(req.headers.cookie ?? ''));
    if (c === null) return null;
    const s = this.sessions.get(c[1]);
    if (s === undefined || s.until < Date.now()) {
      if (s !== undefined) this.sessions.delete(c[1]);
      return null;
    }
    return s.access;
  }

  /** Opens a dashboard session for a token: the cookie value, or null for a bad token. */
  openSession(token: string, ttlMs = 12 * 3600_000): { id: string; access: Access } | null {
    const access = this.tokenAccess(token);
    if (access === null) return null;
    const now = Date.now();
    for (const [k, v] of this.sessions) if (v.until < now) this.sessions.delete(k);
    if (this.sessions.size >= 10_000) this.sessions.delete(this.sessions.keys().next().value as string);
    const id = randomBytes(24).toString('base64url');
    this.sessions.set(id, { access, until: now + ttlMs });
    return { id, access };
  }

  closeSession(id: string): void {
    this.sessions.delete(id);
  }

  /** Whether any token is configured. */
  get protected(): boolean {
    return this.tokenHash !== null || this.readTokenHash !== null;
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://localhost');
      } catch {
        return this.sendError(res, new HttpError('E_HTTP_BAD_REQUEST'));
      }
      const candidates = this.match(url.pathname);
      const method = req.method ?? 'GET';
      if (candidates.length === 0) return this.sendError(res, new HttpError('E_HTTP_NOT_FOUND', this.takenAt(method, url.pathname, 'no such path')));
      const route = candidates.find((r) => r.methods.includes(method) || (method === 'HEAD' && r.methods.includes('GET')));
      if (route === undefined) {
        const allow = [...new Set(candidates.flatMap((r) => (r.methods.includes('GET') ? [...r.methods, 'HEAD'] : r.methods)))].join(', ');
        return this.sendError(res, new HttpError('E_HTTP_METHOD', this.takenAt(method, url.pathname, `this path takes ${allow}`)), {}, { allow });
      }
      const access = route.auth === false ? 'admin' : this.access(req);
      if (access === null) return this.sendError(res, new HttpError('E_HTTP_UNAUTHORIZED'), {}, { 'www-authenticate': 'Bearer realm="sipstats"' });
      const ctx: RouteContext = {
        url,
        access,
        body: () => this.readBody(req, res),
        json: (status, value, headers) => this.sendJson(res, status, value, headers),
        fail: (code, detail, headers) => this.sendError(res, new HttpError(code, detail), {}, headers),
      };
      await route.handle(req, res, ctx);
      if (!res.headersSent && !res.writableEnded) this.sendError(res, new HttpError('E_HTTP_INTERNAL', 'no reply'));
    } catch (e) {
      if (e instanceof HttpError && e.code === 'E_HTTP_TOO_LARGE') return; // already answered by readBody
      if (e instanceof HttpError) {
        if (!res.headersSent) this.sendError(res, e);
        return;
      }
      this.log(`sipstats http: ${req.method} ${req.url}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      if (!res.headersSent) this.sendError(res, new HttpError('E_HTTP_INTERNAL'));
      else res.destroy();
    }
  }

  /**
   * For a method other than GET/HEAD sent where no route takes it (`POST /` instead of `POST /mi`):
   * the paths that do take it, e.g. `POST /: no such path; POST is taken at /mi, /api/session`.
   * Undefined (the bare title) for GET/HEAD or a method no route takes.
   */
  private takenAt(method: string, path: string, why: string): string | undefined {
    if (method === 'GET' || method === 'HEAD') return undefined;
    const paths = [...new Set(this.routes.filter((r) => r.methods.includes(method)).map((r) => r.path))];
    if (paths.length === 0) return undefined;
    return `${method} ${path.length > 100 ? `${path.slice(0, 100)}...` : path}: ${why}; ${method} is taken at ${paths.join(', ')}`;
  }

  /** A coded error reply (see HttpError). */
  sendError(res: ServerResponse, e: HttpError, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): void {
    this.sendJson(res, e.status, e.body(extra), { ...e.headers, ...headers });
  }

  sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
    const body = JSON.stringify(value);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
  }

  /**
   * Reads the body up to bodyLimit. Past it: answers 413 at once with `Connection: close`, then reads
   * and drops the rest for a short while (drainTimeout, drainLimit) so the client receives the reply
   * instead of a reset, and cuts the socket if it keeps sending.
   */
  private readBody(req: IncomingMessage, res: ServerResponse): Promise<Buffer> {
    const limit = this.limits.bodyLimit;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const tooLarge = () => {
        req.removeListener('data', onData);
        req.removeListener('end', onEnd);
        this.refuse413(req, res);
        reject(new HttpError('E_HTTP_TOO_LARGE'));
      };
      const onData = (c: Buffer) => {
        size += c.length;
        if (size > limit) return tooLarge();
        chunks.push(c);
      };
      const onEnd = () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
      if (Number(req.headers['content-length']) > limit) return tooLarge();
      req.on('data', onData);
      req.on('end', onEnd);
      req.on('error', (e) => reject(new HttpError('E_HTTP_BAD_REQUEST', `request body: ${e.message}`)));
      req.on('close', () => {
        if (!req.complete) reject(new HttpError('E_HTTP_BAD_REQUEST', 'request aborted'));
      });
    });
  }

  private refuse413(req: IncomingMessage, res: ServerResponse): void {
    const e = new HttpError('E_HTTP_TOO_LARGE');
    const body = JSON.stringify(e.body({ limit: this.limits.bodyLimit }));
    res.shouldKeepAlive = false;
    res.writeHead(e.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
    // the reply goes out now; ending it waits for the request to be drained (ending closes the socket,
    // and closing with unread bytes makes the kernel send a reset that can swallow the reply)
    res.write(body);
    let dropped = 0;
    const cut = () => {
      clearTimeout(timer);
      req.socket.destroy();
    };
    const timer = setTimeout(cut, this.limits.drainTimeout);
    timer.unref();
    req.on('data', (c: Buffer) => {
      dropped += c.length;
      if (dropped > this.limits.drainLimit) cut();
    });
    req.on('end', () => {
      clearTimeout(timer);
      res.end();
    });
    req.on('error', cut);
    req.on('close', () => clearTimeout(timer));
    req.resume();
  }
}

export function createHttpServer(options: HttpServerOptions): SipstatsHttpServer {
  return new SipstatsHttpServer(options);
}

/**
 * `POST /api/session` `{"token": "..."}`: a dashboard session in an HttpOnly, SameSite=Strict
 * cookie, so the token is typed once and never put in a URL (URLs end up in logs and history);
 * `DELETE /api/session` ends it. The cookie authenticates GET requests only.
 */
export function sessionRoute(http: SipstatsHttpServer): Route {
  return {
    methods: ['POST', 'DELETE'],
    path: '/api/session',
    auth: false,
    async handle(req, _res, ctx) {
      const cookie = /(?:^|;\s*)sipstats_session=([A-Za-z0-9_-]{20,100})/.exec(String(req.headers.cookie ?? ''));
      if (req.method === 'DELETE') {
        if (cookie !== null) http.closeSession(cookie[1]);
        return ctx.json(200, { ok: true }, { 'set-cookie': 'sipstats_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0' });
      }
      let token: unknown;
      try {
        token = (JSON.parse((await ctx.body()).toString('utf8')) as { token?: unknown }).token;
      } catch {
        return ctx.fail('E_HTTP_BAD_REQUEST', 'body must be {"token": "..."}');
      }
      if (!http.protected) return ctx.json(200, { access: 'admin', message: 'this server needs no token' });
      const s = typeof token === 'string' && token !== '' ? http.openSession(token) : null;
      if (s === null) return ctx.fail('E_HTTP_UNAUTHORIZED');
      ctx.json(200, { access: s.access }, { 'set-cookie': `sipstats_session=${s.id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${12 * 3600}` });
    },
  };
}

/** `GET /health`: `{status, uptime (s), version}`, no token needed. */
export function healthRoute(version: string, startedAt = Date.now()): Route {
  return {
    methods: ['GET'],
    path: '/health',
    auth: false,
    handle(_req, _res, ctx) {
      ctx.json(200, { status: 'ok', uptime: Math.round((Date.now() - startedAt) / 1000), version });
    },
  };
}
