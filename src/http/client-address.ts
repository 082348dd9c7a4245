/**
 * The client address that per-address limits count: the socket's, or behind TRUST_PROXY
 * proxies the X-Forwarded-For entry that many hops from the right (as Koa's `ctx.ip` with
 * `proxy` and `maxIpsCount`), with IPv6 addresses taken by their /64, which one client
 * typically owns whole, and IPv4 addresses written as IPv6 ones (`::ffff:…`) as IPv4. The
 * same for Koa's requests and the direct lane's.
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

/**
 * An address as some proxies write it in X-Forwarded-For, with the client's port (`1.2.3.4:5678`,
 * `[2001:db8::1]:5678`): the port is no part of the client (attack helper round 24: each port
 * counted as an address of its own behind such a proxy).
 */
const WITH_PORT = /^(?:(\d{1,3}(?:\.\d{1,3}){3})|\[([0-9A-Fa-f:.]+)\])(?::\d{1,5})?$/;

/** An address as limits count it: the port dropped, IPv6 by its /64, IPv4 written as IPv6 as IPv4. */
export function limitedBy(written: string): string {
  const bare = WITH_PORT.exec(written);
  const address = bare ? bare[1] ?? bare[2]! : written;
  // A link-local peer comes with its zone (`fe80::1%eth0`), which the URL parser below refuses:
  // the zone is no part of the host (attack round 38: one such connection ended the process, the
  // per-connection limit being counted outside any request).
  const zone = address.indexOf('%');
  const bareAddress = zone < 0 ? address : address.slice(0, zone);
  if (!isIPv6(bareAddress)) return address;
  // One spelling per address (case, leading zeros, an IPv4 inside): a proxy may write it any way.
  let canonical: string;
  try {
    canonical = new URL(`http://[${bareAddress}]/`).hostname.slice(1, -1);
  } catch {
    return bareAddress; // never a throw: this runs on every connection
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (mapped) {
    const [hi, lo] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  const [head = '', tail = ''] = canonical.split('::');
  const groups = head.split(':').filter(Boolean);
  const tailGroups = tail.split(':').filter(Boolean);
  const full = [...groups, ...Array(Math.max(0, 8 - groups.length - tailGroups.length)).fill('0'), ...tailGroups];
  return `${full.slice(0, 4).join(':')}::/64`;
}
