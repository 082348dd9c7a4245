/** An app's back-channel logout endpoint: records each logout token posted to it, by path. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LogoutCapture {
  url: string;
  received: { path: string; token: string }[];
  close(): void;
}

export async function startLogoutCapture(): Promise<LogoutCapture> {
  const received: LogoutCapture['received'] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      received.push({ path: req.url!, token: new URLSearchParams(body).get('logout_token') ?? '' });
      res.end();
    });
  }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, close: () => server.close() };
}
