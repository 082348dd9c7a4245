/**
 * Fires N HTTP requests truly at once, for race tests (rate limits, single-use codes).
 *
 * Every request gets its own TCP connection. All N connections are opened first; then each
 * request is written except its last byte; then, once every socket holds its request but
 * one byte, the last bytes go out in one tight loop ("last-byte synchronisation"). The
 * server therefore sees N complete requests within microseconds of each other, which a
 * `Promise.all` of fetches over a pooled agent does not guarantee.
 *
 *   const { statuses } = await burst(`${url}/v1/auth/token`, 40, (i) => ({
 *     method: 'POST', form: { username: 'nobody@x.invalid', password: `guess-${i}` },
 *   }));
 *   assert.ok(statuses.filter((s) => s === 401).length <= 5);
 */
import { connect, type Socket } from 'node:net';

export interface BurstRequest {
  method?: string;
  /** Path and query, appended to the base URL's path; default: the base URL as given. */
  path?: string;
  headers?: Record<string, string>;
  /** A form body (application/x-www-form-urlencoded). */
  form?: Record<string, string>;
  /** A JSON body. */
  json?: unknown;
  /** A raw body; set content-type in `headers`. */
  body?: string | Buffer;
}

export interface BurstAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Parsed JSON body, when it is JSON. */
  json?: any;
  /** The connection failed before an answer (status is 0). */
  error?: string;
}

export interface BurstResult {
  /** The status of each request, in request order (0: no answer). */
  statuses: number[];
  answers: BurstAnswer[];
  /** Count of each status. */
  byStatus: Record<number, number>;
  /** Milliseconds from the last bytes sent to the last answer read. */
  ms: number;
}

export interface BurstOptions {
  /** Give up on an answer after this long (ms); default 30 s. */
  timeoutMs?: number;
}

function serialize(base: URL, req: BurstRequest): Buffer {
  const method = req.method ?? (req.form || req.json !== undefined || req.body !== undefined ? 'POST' : 'GET');
  const headers: Record<string, string> = { host: base.host, connection: 'close', ...lower(req.headers ?? {}) };
  let body: Buffer = Buffer.alloc(0);
  if (req.form) {
    body = Buffer.from(new URLSearchParams(req.form).toString());
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
  } else if (req.json !== undefined) {
    body = Buffer.from(JSON.stringify(req.json));
    headers['content-type'] ??= 'application/json';
  } else if (req.body !== undefined) {
    body = Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body);
  }
  if (body.length || method !== 'GET') headers['content-length'] = String(body.length);
  const target = req.path === undefined ? `${base.pathname}${base.search}` : `${base.pathname.replace(/\/$/, '')}${req.path}`;
  const head = `${method} ${target} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

function lower(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}

function dechunk(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = parseInt(raw.subarray(at, eol).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(raw.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** Parses one HTTP/1.1 answer read until the server closed the connection. */
export function parseAnswer(raw: Buffer): BurstAnswer {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: {}, body: '', error: 'incomplete answer' };
  const [statusLine, ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let bodyBytes = raw.subarray(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) bodyBytes = dechunk(bodyBytes);
  else if (headers['content-length']) bodyBytes = bodyBytes.subarray(0, Number(headers['content-length']));
  const body = bodyBytes.toString('utf8');
  let json: unknown;
  try { json = JSON.parse(body); } catch { json = undefined; }
  return { status, headers, body, json };
}

function open(url: URL): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port || 80) });
    socket.setNoDelay(true);
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

function readAll(socket: Socket, timeoutMs: number): Promise<BurstAnswer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => { socket.destroy(); resolve({ status: 0, headers: {}, body: '', error: 'timeout' }); }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('error', (err) => { clearTimeout(timer); resolve({ status: 0, headers: {}, body: '', error: err.message }); });
    socket.once('close', () => { clearTimeout(timer); resolve(parseAnswer(Buffer.concat(chunks))); });
  });
}

/**
 * Sends `n` requests at once to `url`: `request(i)` describes the i-th (a fixed
 * BurstRequest for all is fine too). Answers come back in request order.
 */
export async function burst(url: string, n: number, request: BurstRequest | ((i: number) => BurstRequest), options: BurstOptions = {}): Promise<BurstResult> {
  const base = new URL(url);
  const describe = typeof request === 'function' ? request : () => request;
  const payloads = Array.from({ length: n }, (_, i) => serialize(base, describe(i)));
  const sockets = await Promise.all(payloads.map(() => open(base)));
  const answers = sockets.map((s) => readAll(s, options.timeoutMs ?? 30_000));
  // Everything but the last byte: the server cannot start on any request yet.
  await Promise.all(sockets.map((s, i) => new Promise<void>((resolve) => s.write(payloads[i]!.subarray(0, -1), () => resolve()))));
  const start = performance.now();
  for (let i = 0; i < n; i++) sockets[i]!.write(payloads[i]!.subarray(-1));
  const all = await Promise.all(answers);
  const ms = performance.now() - start;
  const statuses = all.map((a) => a.status);
  const byStatus: Record<number, number> = {};
  for (const s of statuses) byStatus[s] = (byStatus[s] ?? 0) + 1;
  return { statuses, answers: all, byStatus, ms };
}
