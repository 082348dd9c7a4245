/**
 * The client address that per-address limits count: Koa's `ctx.ip` (the socket, or the
 * entry TRUST_PROXY hops from the right of X-Forwarded-For), with IPv6 addresses taken
 * by their /64, which one client typically owns whole.
 */
import { isIPv6 } from 'node:net';
import type Koa from 'koa';

export function clientAddress(ctx: Koa.Context): string {
  const ip = ctx.ip.startsWith('::ffff:') ? ctx.ip.slice(7) : ctx.ip;
  if (!isIPv6(ip)) return ip;
  const [head = '', tail = ''] = ip.split('::');
  const groups = head.split(':').filter(Boolean);
  const tailGroups = tail.split(':').filter(Boolean);
  const full = [...groups, ...Array(Math.max(0, 8 - groups.length - tailGroups.length)).fill('0'), ...tailGroups];
  return `${full.slice(0, 4).join(':')}::/64`;
}
