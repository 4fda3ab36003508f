/**
 * A low-cardinality route from a URL path, for span names and http.route
 * when the application's own route template is unknown (it always is, to
 * a sensor). Path segments that look like identifiers are collapsed:
 *
 *   digits only                      -> {id}      /users/42
 *   a UUID                           -> {uuid}    /orders/0f8fad5b-d9cb-469f-a165-70867728950e
 *   16+ hex digits                   -> {hash}    /blobs/9f86d081884c7d65
 *   20+ chars mixing letters, digits -> {token}   /s/AbC123xyz987QwE456rTy
 *
 * Everything else is kept. The rule can be replaced (RouteRule[]) by config.
 */

export interface RouteRule {
  readonly pattern: RegExp;
  readonly replacement: string;
}

export const DEFAULT_ROUTE_RULES: readonly RouteRule[] = [
  { pattern: /^\d+$/, replacement: '{id}' },
  { pattern: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, replacement: '{uuid}' },
  { pattern: /^[0-9a-f]{16,}$/i, replacement: '{hash}' },
  { pattern: /^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_-]{20,}$/, replacement: '{token}' },
];

/**
 * Routes of recent paths under the default rules: a service's paths repeat,
 * and the segment regexes are a visible part of a span's cost. Bounded:
 * emptied when full (high-cardinality paths just miss).
 */
const defaultRoutes = new Map<string, string>();
const MAX_CACHED_ROUTES = 4096;

/** `path` without its query string. */
export function routeOf(path: string, rules: readonly RouteRule[] = DEFAULT_ROUTE_RULES): string {
  if (path === '' || path === '/') return path || '/';
  if (rules !== DEFAULT_ROUTE_RULES) return collapse(path, rules);
  let route = defaultRoutes.get(path);
  if (route === undefined) {
    route = collapse(path, rules);
    if (defaultRoutes.size >= MAX_CACHED_ROUTES) defaultRoutes.clear();
    defaultRoutes.set(path, route);
  }
  return route;
}

function collapse(path: string, rules: readonly RouteRule[]): string {
  return path
    .split('/')
    .map((seg) => {
      if (seg === '') return seg;
      for (const r of rules) if (r.pattern.test(seg)) return r.replacement;
      return seg;
    })
    .join('/');
}
