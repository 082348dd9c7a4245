/**
 * A request whose target is in absolute form (`POST http://globex.example/v1/auth/login`,
 * as clients send to a proxy) is for the host its target names: RFC 9112 §3.2.2 has an origin
 * server ignore the Host header then. Node keeps the target as sent and the Host as sent, and the
 * broker chose a ScaiWave tenant by the Host (attack round 48, INFO): the request is rewritten at
 * the door to the origin form, its Host the target's, for every route and the direct lane alike.
 */
import type { IncomingMessage, RequestListener } from 'node:http';

function toOriginForm(req: IncomingMessage): void {
  const target = req.url;
  // The common case costs one character's look: an origin-form target starts with '/'.
  if (!target || target.charCodeAt(0) === 47 /* '/' */ || !/^https?:\/\//i.test(target) || !URL.canParse(target)) return;
  const url = new URL(target);
  req.headers.host = url.host;
  req.url = `${url.pathname}${url.search}`;
}

/** `listener`, handed requests in origin form. */
export function inOriginForm(listener: RequestListener): RequestListener {
  return (req, res) => {
    toOriginForm(req);
    listener(req, res);
  };
}
