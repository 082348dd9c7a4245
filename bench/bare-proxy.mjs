// The floor for proxied grants: a bare reverse proxy, node:http in front and undici's
// `request` over a keep-alive pool behind, forwarding each request's path and body to
// Keycloak (argv[2]) and its answer back. No routing, no checks, no logging: what any
// proxy on this machine must spend at least.
import { createServer } from 'node:http';
import { Pool } from 'undici';

const upstream = new Pool(process.argv[2], { connections: 64, pipelining: 1 });
const server = createServer(async (req, res) => {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  try {
    const answer = await upstream.request({
      path: req.url, method: req.method, body: Buffer.concat(chunks),
      headers: { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' },
    });
    const body = Buffer.from(await answer.body.arrayBuffer());
    res.writeHead(answer.statusCode, { 'content-type': answer.headers['content-type'] ?? 'application/json', 'cache-control': 'no-store' });
    res.end(body);
  } catch {
    res.writeHead(502).end();
  }
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
