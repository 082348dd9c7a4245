/**
 * The host name a request was addressed to, for choosing a tenant by host. Without a
 * trusted proxy it is the Host header. Behind one (TRUST_PROXY), it is the last
 * X-Forwarded-Host entry, the one our nearest proxy set; earlier entries are the
 * client's own say (Koa's `ctx.hostname` would take the first). Lowercase, no port, and no
 * trailing dot: `globex.localhost.` is DNS's absolute spelling of `globex.localhost`, and was
 * served as the default tenant (attack helper, 2026-12-06).
 */
/** Koa's context, or a direct route's request (direct-lane.ts). */
export interface RequestHeaders {
  get(name: string): string;
}

export function requestHost(ctx: RequestHeaders, trustedHops: number): string {
  const forwarded = trustedHops > 0 ? ctx.get('x-forwarded-host').split(',').map((h) => h.trim()).filter(Boolean).at(-1) : undefined;
  const host = (forwarded ?? ctx.get('host')).toLowerCase();
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.indexOf(':');
  const name = colon < 0 ? host : host.slice(0, colon);
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/** A lookup in a host-keyed map of config that only sees the map's own keys (never `__proto__`, `constructor`…). */
export function byHost<T>(map: Record<string, T>, host: string): T | undefined {
  return Object.hasOwn(map, host) ? map[host] : undefined;
}
