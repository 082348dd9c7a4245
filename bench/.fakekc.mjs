import { createServer } from 'node:http';
import { Pool } from 'undici';
const real = new Pool('http://127.0.0.1:8080', { connections: 8 });
let token;
const server = createServer(async (req, res) => {
  const chunks = []; for await (const c of req) chunks.push(c);
  const body = Buffer.concat(chunks);
  if (req.method === 'POST' && req.url.endsWith('/protocol/openid-connect/token') && body.toString().includes('connect-demo')) {
    if (!token) { const a = await real.request({ path: req.url, method: 'POST', body, headers: { 'content-type': req.headers['content-type'] } }); token = Buffer.from(await a.body.arrayBuffer()); }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }); res.end(token); return;
  }
  const a = await real.request({ path: req.url, method: req.method, body: req.method === 'GET' ? undefined : body, headers: { ...req.headers, host: '127.0.0.1:8080' } });
  const out = Buffer.from(await a.body.arrayBuffer());
  const h = { ...a.headers }; delete h['transfer-encoding']; delete h['content-length'];
  res.writeHead(a.statusCode, h); res.end(out);
});
server.listen(8099, '127.0.0.1');
