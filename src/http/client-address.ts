/**
 * The client address that per-address limits count: the socket's, or behind TRUST_PROXY
 * proxies the X-Forwarded-For entry that many hops from the right (as Koa's `ctx.ip` with
 * `proxy` and `maxIpsCount`), with IPv6 addresses taken by their /64, which one client
 * typically owns whole. The same for Koa's requests and the direct lane's.
 */
import type { IncomingMessage } from 'node:http';
import { isIPv6 } from 'node:net';
import type Koa from 'koa';

export function clientAddress(ctx: Koa.Context): string {
  return limitedBy(ctx.ip);
}

/** The same for a request outside Koa (the direct lane), `hops` being config `trustProxy`. */
export function requestAddress(req: IncomingMessage, hops: number): string {
  const forwarded = hops > 0 ? req.headers['x-forwarded-for'] : undefined;
  const entries = typeof forwarded === 'string' && forwarded ? forwarded.split(',').map((s) => s.trim()).slice(-hops) : [];
  return limitedBy(entries[0] || req.socket.remoteAddress || '');
}

function limitedBy(address: string): string {
  const ip = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (!isIPv6(ip)) return ip;
  const [head = '', tail = ''] = ip.split('::');
  const groups = head.split(':').filter(Boolean);
  const tailGroups = tail.split(':').filter(Boolean);
  const full = [...groups, ...Array(Math.max(0, 8 - groups.length - tailGroups.length)).fill('0'), ...tailGroups];
  return `${full.slice(0, 4).join(':')}::/64`;
}
