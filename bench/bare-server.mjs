// The reference for the broker's local answers: a bare node:http server with the same
// bytes (and headers) the broker answers, read from the file named by argv[2].
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

const answers = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const server = createServer((req, res) => {
  const a = answers[req.url.split('?')[0]];
  if (!a) { res.statusCode = 404; res.end(); return; }
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': a.cacheControl, etag: a.etag });
  res.end(a.body);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
