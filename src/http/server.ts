/**
 * The broker's HTTP server, with explicit bounds on what a client may hold (attack helper,
 * 2026-12-06). Node's defaults let a slow or silent client keep a connection, its descriptor
 * and its memory for minutes: headers trickled for 86 s, a body trickled for 326 s, and with
 * no socket timeout at all a caller that never read its pipelined answers kept about 1 MB of
 * heap a connection for as long as it liked. Nor did anything cap connections: at the
 * process's open-file limit every new connection (the management port's probes included) was
 * dropped, and the broker's own calls to Keycloak failed.
 *
 * - headers within HEADERS_MS, the whole request within REQUEST_MS (bodies are ≤ 64 KiB);
 * - no bytes moving either way for longer than a request may wait for Keycloak, plus 10 s,
 *   and the socket is closed (an answer nobody reads, an idle socket Node keeps);
 * - at most `maxClientConnections`, by default what the open-file limit leaves after each
 *   upstream's pool and a reserve (the management listener, the store, logs);
 * - at most `maxConnectionsPerAddress` of them from one address, by default a quarter of the cap
 *   (256 at least) when clients connect directly (attack helper round 32: one host trickling headers on 520
 *   connections, reconnecting as each was closed, held a 500 cap and failed a third of other
 *   clients' requests). Behind a proxy (TRUST_PROXY) every connection is the proxy's: none.
 *
 * What Node's parser refuses before any route sees it (a malformed or smuggling-shaped request,
 * headers too large, a request too slow) is answered here, in RFC 6749's error shape (no surface
 * can be told without a parsed URL), and the connection closed; Node's own answer had no body.
 */
import { readFileSync } from 'node:fs';
import { createServer, STATUS_CODES, type RequestListener, type Server } from 'node:http';
import { inOriginForm } from './absolute-form.js';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { limitedBy } from './client-address.js';
import type { Config } from '../config/schema.js';

export const HEADERS_MS = 10_000;
export const REQUEST_MS = 20_000;
/** Descriptors kept for everything but client connections and upstream pools. */
const RESERVE = 256;

/** The soft limit on open files, where the platform says it (Linux); undefined elsewhere. */
export function openFileLimit(limits = '/proc/self/limits'): number | undefined {
  try {
    const line = readFileSync(limits, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line ? Number(line.slice('Max open files'.length).trim().split(/\s+/)[0]) : Number.NaN;
    return Number.isFinite(soft) ? soft : undefined;
  } catch {
    return undefined;
  }
}

/** Client connections to allow: the configured number, or what the open-file limit leaves. */
export function clientConnectionCap(config: Pick<Config, 'maxClientConnections' | 'upstreams'>, fileLimit = openFileLimit()): number | undefined {
  if (config.maxClientConnections) return config.maxClientConnections;
  if (fileLimit === undefined) return undefined;
  // Each upstream: its keep-alive pool, and as many again for discovery, JWKS and admin calls.
  const upstream = config.upstreams.reduce((sum, u) => sum + 2 * u.maxConnections, 0);
  return Math.max(64, fileLimit - upstream - RESERVE);
}

/** Node's parser errors by code, as statuses; any other is a 400. */
const PARSER_STATUS: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 431,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 413,
};

function answerParserError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // A connection reset or already half gone, or an answer begun on it: nothing can be said on
  // it any more. A request whose route is still at work (a body trickled past REQUEST_MS, a
  // broken chunk) has no answer begun and gets this one; the route's, if it comes, goes
  // nowhere (the socket is closed). It was closed with nothing said (attack helper round 25).
  const answering = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || answering?.headersSent) {
    socket.destroy();
    return;
  }
  const status = PARSER_STATUS[err.code ?? ''] ?? 400;
  const description = status === 431 ? 'Request headers too large' : status === 408 ? 'The request did not arrive in time'
    : status === 413 ? 'Request too large' : 'The request is not valid HTTP/1.1';
  const body = JSON.stringify({ error: 'invalid_request', error_description: description });
  // Then closed both ways: the server's sockets are half-open, and a client still sending
  // (trickled headers) would keep it.
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`, () => socket.destroy());
}

/**
 * Connections one address may hold: the configured number (0: no limit), else facing clients
 * directly a quarter of the cap, and never under 256 (a NAT's users, a test's bursts) unless the
 * cap itself is.
 */
export function perAddressCap(config: Pick<Config, 'maxConnectionsPerAddress' | 'trustProxy'>, cap: number | undefined): number | undefined {
  if (config.maxConnectionsPerAddress !== undefined) return config.maxConnectionsPerAddress || undefined;
  if (config.trustProxy > 0 || cap === undefined) return undefined;
  const share = Math.max(256, Math.floor(cap / 4));
  return share < cap ? share : undefined;
}

export function createBrokerServer(listener: RequestListener, config: Pick<Config, 'maxClientConnections' | 'maxConnectionsPerAddress' | 'trustProxy' | 'upstreams' | 'upstreamTimeoutMs'>): Server {
  const cap = clientConnectionCap(config);
  const server = boundedServer(inOriginForm(listener), config.upstreamTimeoutMs + 10_000, cap);
  const perAddress = perAddressCap(config, cap);
  if (perAddress !== undefined) limitPerAddress(server, perAddress);
  return server;
}

/**
 * Closes at once a connection past `limit` from its address (counted while open), an IPv6
 * address by its /64 as the other per-address limits count it (client-address.ts): one host
 * holds a whole /64 and may connect from any address in it.
 */
export function limitPerAddress(server: Pick<Server, 'on'>, limit: number): void {
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = limitedBy(socket.remoteAddress ?? '');
    const count = (open.get(address) ?? 0) + 1;
    if (count > limit) {
      socket.destroy();
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
}

/**
 * Connections the management listener takes at once: its probes and scrapers are few, and what
 * it holds comes out of the reserve above (attack helper round 25: 500 half-sent requests there,
 * unbounded and held for 84 s each, took the process's last descriptors and the public port with them).
 */
export const MANAGEMENT_CONNECTIONS = 64;

/** The management listener's server: the same bounds, its own cap, and no wait on Keycloak longer than a readiness check's. */
export function createManagementServer(listener: RequestListener, config: Pick<Config, 'upstreamTimeoutMs'>): Server {
  return boundedServer(listener, config.upstreamTimeoutMs + 10_000, MANAGEMENT_CONNECTIONS);
}

function boundedServer(listener: RequestListener, idleMs: number, cap: number | undefined): Server {
  // Node enforces the two request bounds on its connection check, every 30 s by default.
  const server = createServer({ headersTimeout: HEADERS_MS, requestTimeout: REQUEST_MS, connectionsCheckingInterval: 2_000 }, listener);
  // Inactivity: nothing read or written. A request waits at most its deadline for Keycloak,
  // then is answered. (A write stuck since the last look gets one more period: Node's socket
  // timer re-arms once when the queue moved since its previous look, so up to twice this.)
  server.setTimeout(idleMs);
  server.on('clientError', answerParserError);
  if (cap !== undefined) server.maxConnections = cap;
  return server;
}
