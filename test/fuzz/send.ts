/**
 * Sends one fuzz request on its own TCP connection, written byte for byte (any Host,
 * duplicate query keys, a Content-Length that lies, chunked bodies), and reads the answer
 * until the server closes. Raw sockets, not node:http: node:http would refuse or fix up
 * much of what the fuzzer means to send. A request that gets no answer (hang, reset) is
 * reported as status 0 with the reason.
 */
import { connect } from 'node:net';
import { parseAnswer } from '../helpers/burst.js';
import type { Answer } from './oracle.js';
import { bodyBytes, type FuzzRequest } from './requests.js';

export interface Sent extends Answer {
  /** Why no answer came (status 0). */
  error?: string;
  ms: number;
}

function chunked(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += 16_384) {
    const piece = data.subarray(i, i + 16_384);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

export function send(base: string, req: FuzzRequest, timeoutMs = 20_000): Promise<Sent> {
  const url = new URL(base);
  const body = bodyBytes(req.body);
  const headers: [string, string][] = [['host', req.headers.host ?? url.host]];
  for (const [k, v] of Object.entries(req.headers)) if (k !== 'host') headers.push([k, v]);
  if (body.contentType !== undefined) headers.push(['content-type', body.contentType]);
  if (body.declaredLength !== undefined) headers.push(['content-length', String(body.declaredLength)]);
  else if (body.chunked) headers.push(['transfer-encoding', 'chunked']);
  else if (body.data.length > 0 || ['POST', 'PUT', 'PATCH'].includes(req.method)) headers.push(['content-length', String(body.data.length)]);
  headers.push(['connection', 'close']);
  const head = `${req.method} ${req.path}${req.query ? `?${req.query}` : ''} HTTP/1.1\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  const payload = Buffer.concat([Buffer.from(head, 'latin1'), body.chunked ? chunked(body.data) : body.data]);
  const start = performance.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const answer = parseAnswer(Buffer.concat(chunks));
      const ms = performance.now() - start;
      // The server may answer (413) and close while a large body is still being written.
      if (answer.status) resolve({ status: answer.status, headers: answer.headers, text: answer.body, ms });
      else resolve({ status: 0, headers: {}, text: '', error: error ?? answer.error ?? 'no answer', ms });
    };
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    const timer = setTimeout(() => finish(`no answer within ${timeoutMs} ms`), timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => finish(`no answer: ${err.message}`));
    socket.on('close', () => finish());
    socket.on('connect', () => socket.write(payload));
  });
}
