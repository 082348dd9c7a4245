/**
 * Sends one fuzz request with node:http, byte for byte as generated (Host, duplicate
 * query keys, a Content-Length that lies, chunked bodies), and reads the whole answer.
 * A request that gets no answer (hang, reset) is reported as status 0 with the reason.
 */
import { Agent, request } from 'node:http';
import type { Answer } from './oracle.js';
import { bodyBytes, type FuzzRequest } from './requests.js';

const agent = new Agent({ keepAlive: true, maxSockets: 8 });

export interface Sent extends Answer {
  /** Why no answer came (status 0). */
  error?: string;
  ms: number;
}

export function send(base: string, req: FuzzRequest, timeoutMs = 20_000): Promise<Sent> {
  const url = new URL(base);
  const body = bodyBytes(req.body);
  const headers: Record<string, string> = { ...req.headers };
  const special = req.body.kind === 'huge' || req.body.kind === 'lying';
  if (body.contentType !== undefined) headers['content-type'] = body.contentType;
  if (body.declaredLength !== undefined) headers['content-length'] = String(body.declaredLength);
  else if (body.chunked) headers['transfer-encoding'] = 'chunked';
  else if ((body.data.length > 0 || req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH')) headers['content-length'] = String(body.data.length);
  if (special) headers.connection = 'close';
  const start = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (a: Omit<Sent, 'ms'>) => {
      if (settled) return;
      settled = true;
      resolve({ ...a, ms: performance.now() - start });
    };
    const r = request({
      host: url.hostname, port: url.port, method: req.method, path: `${req.path}${req.query ? `?${req.query}` : ''}`,
      headers, agent: special ? false : agent, setHost: !('host' in headers),
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err) => done({ status: 0, headers: {}, text: '', error: `answer cut: ${err.message}` }));
    });
    r.setTimeout(timeoutMs, () => {
      done({ status: 0, headers: {}, text: '', error: `no answer within ${timeoutMs} ms` });
      r.destroy();
    });
    // The server may answer (413) and close while a large body is still being written.
    r.on('error', (err) => setTimeout(() => done({ status: 0, headers: {}, text: '', error: `no answer: ${err.message}` }), 200));
    if (body.chunked) {
      for (let i = 0; i < body.data.length; i += 16_384) r.write(body.data.subarray(i, i + 16_384));
      r.end();
    } else {
      r.end(body.data);
    }
  });
}
