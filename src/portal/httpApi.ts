/**
 * The portal's HTTP API: routes, credentials, status codes. What each
 * route does is portalService.ts's business.
 *
 *   POST /api/v1/sensors                       admin   201 registered | 400
 *   GET  /api/v1/sensors/<uuid>                admin   200 | 404
 *   POST /api/v1/sensors/<uuid>/rotate         admin   200 | 400 | 404 | 409 revoked
 *   POST /api/v1/sensors/<uuid>/revoke         admin   200 (again: 200) | 404
 *   GET  /api/v1/manifests/sensor-saas/<uuid>  token   200 text/yaml | 403 | 410 revoked
 *   GET  /api/v1/crl[?format=pem]              public  200 DER (application/pkix-crl) or PEM
 *   GET  /api/v1/ca.crt                        public  200 PEM
 *   GET  /healthz                              public  200
 *
 * No credentials: 401 (with WWW-Authenticate). Wrong ones: 403. Both are
 * decided before anything is looked up, and their bodies are the same
 * for every route and every uuid: an unauthenticated caller learns
 * nothing about which sensors exist. The admin token goes in
 * `Authorization: Bearer`; the download token there or in `?token=`.
 */
import { crlHttpReply } from './revocationList.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminCredential } from './adminToken.ts';
import type { AuditLog } from './auditLog.ts';
import type { PortalService, RequestContext } from './portalService.ts';

export interface PortalApi {
  readonly service: PortalService;
  readonly admin: AdminCredential;
  readonly audit: AuditLog;
  /** The portal CA certificate, served at /api/v1/ca.crt. */
  readonly caPem: string;
  /** For errors that are the portal's own fault (500): one line, no request data. */
  readonly log: (line: string) => void;
}

type Access = 'admin' | 'download' | 'public';

interface Route {
  readonly method: 'GET' | 'POST';
  readonly pattern: RegExp;
  /** The route as the audit log names it: a caller's raw path never reaches the log. */
  readonly name: string;
  readonly access: Access;
  handle(req: Request): Promise<Reply> | Reply;
}

interface Request {
  readonly params: readonly string[];
  readonly query: URLSearchParams;
  readonly body: unknown;
  readonly token: string;
  readonly ctx: RequestContext;
}

interface Reply {
  readonly status: number;
  readonly body: string | Buffer | object;
  readonly type?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

const MAX_BODY_BYTES = 256 * 1024 + 4096; // a registration with a large CA bundle
// Path parameters that are not UUIDs still match (and then fail the lookup), so a malformed uuid is no different from an unknown one.
const PARAM = '([^/]+)';
const REFUSED = { unauthorized: { error: 'unauthorized' }, forbidden: { error: 'forbidden' } } as const;

export function portalRequestHandler(api: PortalApi): (req: IncomingMessage, res: ServerResponse) => void {
  const { service } = api;
  const routes: Route[] = [
    {
      method: 'POST', pattern: /^\/api\/v1\/sensors$/, name: 'POST /api/v1/sensors', access: 'admin',
      async handle(r) {
        const result = await service.register(r.body, r.ctx);
        return result.ok ? { status: 201, body: result.value } : { status: 400, body: { error: result.error } };
      },
    },
    {
      method: 'GET', pattern: new RegExp(`^/api/v1/sensors/${PARAM}$`), name: 'GET /api/v1/sensors/{uuid}', access: 'admin',
      handle(r) {
        const view = service.describe(r.params[0]!);
        return view ? { status: 200, body: view } : { status: 404, body: { error: 'no such sensor' } };
      },
    },
    {
      method: 'POST', pattern: new RegExp(`^/api/v1/sensors/${PARAM}/rotate$`), name: 'POST /api/v1/sensors/{uuid}/rotate', access: 'admin',
      async handle(r) {
        const result = await service.rotate(r.params[0]!, r.body, r.ctx);
        switch (result.kind) {
          case 'ok': return { status: 200, body: result.value };
          case 'invalid': return { status: 400, body: { error: result.error } };
          case 'not-found': return { status: 404, body: { error: 'no such sensor' } };
          case 'revoked': return { status: 409, body: { error: 'the sensor is revoked: register a new one' } };
        }
      },
    },
    {
      method: 'POST', pattern: new RegExp(`^/api/v1/sensors/${PARAM}/revoke$`), name: 'POST /api/v1/sensors/{uuid}/revoke', access: 'admin',
      handle(r) {
        const result = service.revoke(r.params[0]!, r.ctx);
        return result.kind === 'ok' ? { status: 200, body: result.value } : { status: 404, body: { error: 'no such sensor' } };
      },
    },
    {
      method: 'GET', pattern: new RegExp(`^/api/v1/manifests/sensor-saas/${PARAM}$`), name: 'GET /api/v1/manifests/sensor-saas/{uuid}', access: 'download',
      handle(r) {
        const result = service.download(r.params[0]!, r.token, r.ctx);
        switch (result.kind) {
          case 'manifest':
            return { status: 200, body: result.yaml, type: 'text/yaml; charset=utf-8', headers: { 'content-disposition': 'attachment; filename="sensor.yaml"' } };
          case 'forbidden': return { status: 403, body: REFUSED.forbidden };
          case 'gone': return { status: 410, body: { error: 'gone: this sensor is revoked' } };
        }
      },
    },
    {
      method: 'GET', pattern: /^\/api\/v1\/crl$/, name: 'GET /api/v1/crl', access: 'public',
      async handle(r) {
        return { status: 200, ...crlHttpReply(await service.revocationList(), r.query.get('format')) };
      },
    },
    {
      method: 'GET', pattern: /^\/api\/v1\/ca\.crt$/, name: 'GET /api/v1/ca.crt', access: 'public',
      handle: () => ({ status: 200, body: api.caPem, type: 'application/x-pem-file' }),
    },
    { method: 'GET', pattern: /^\/healthz$/, name: 'GET /healthz', access: 'public', handle: () => ({ status: 200, body: 'ok\n', type: 'text/plain' }) },
  ];

  return (req, res) => {
    handle(req).then((reply) => send(res, reply)).catch((err: unknown) => {
      api.log(JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: 'request failed', error: (err as Error).message }));
      try {
        if (res.headersSent) res.destroy();
        else send(res, { status: 500, body: { error: 'internal error' } });
      } catch {
        res.destroy(); // the connection is gone: nobody to answer
      }
    });
  };

  async function handle(req: IncomingMessage): Promise<Reply> {
    const url = new URL(req.url ?? '/', 'https://portal.invalid');
    const ctx: RequestContext = req.socket.remoteAddress ? { remote: req.socket.remoteAddress } : {};
    const candidates = routes.filter((r) => r.pattern.test(url.pathname));
    if (candidates.length === 0) return { status: 404, body: { error: 'not found' } };
    const route = candidates.find((r) => r.method === req.method);
    if (!route) return { status: 405, body: { error: 'method not allowed' }, headers: { allow: candidates.map((r) => r.method).join(', ') } };

    const bearer = bearerToken(req.headers.authorization);
    let token = '';
    if (route.access !== 'public') {
      const presented = bearer ?? (route.access === 'download' ? url.searchParams.get('token') ?? undefined : undefined);
      if (presented === undefined || presented === '') {
        api.audit.record({ actor: 'anonymous', action: 'auth.refused', ...ctx, detail: { route: route.name, reason: 'no credentials' } });
        return { status: 401, body: REFUSED.unauthorized, headers: { 'www-authenticate': 'Bearer realm="hydrophone-portal"' } };
      }
      if (route.access === 'admin' && !api.admin.matches(presented)) {
        api.audit.record({ actor: 'anonymous', action: 'auth.refused', ...ctx, detail: { route: route.name, reason: 'wrong admin token' } });
        return { status: 403, body: REFUSED.forbidden };
      }
      token = presented;
    }
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    if (body instanceof BodyError) return { status: body.status, body: { error: body.message } };
    const params = route.pattern.exec(url.pathname)!.slice(1).map(decodePathParam);
    return route.handle({ params, query: url.searchParams, body, token, ctx });
  }
}

/** A percent-decoded path segment; a malformed escape stays as it is (and then matches nothing). */
function decodePathParam(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The token of an `Authorization: Bearer <token>` header; undefined for none or another scheme. */
function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}

class BodyError {
  readonly status: number;
  readonly message: string;
  constructor(status: number, message: string) {
    this.status = status;
    this.message = message;
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return new BodyError(413, `the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return new BodyError(400, 'the body is not JSON: send Content-Type: application/json with a JSON object');
  }
}

function send(res: ServerResponse, reply: Reply): void {
  const isText = typeof reply.body === 'string' || Buffer.isBuffer(reply.body);
  const payload = isText ? reply.body as string | Buffer : `${JSON.stringify(reply.body, null, 2)}\n`;
  res.writeHead(reply.status, {
    'content-type': reply.type ?? 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    // Manifests hold keys, API answers hold tokens: no cache may keep them.
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...reply.headers,
  });
  res.end(payload);
}
