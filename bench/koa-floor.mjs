// The floor for the broker's local answers inside Koa: a Koa app with no middleware but
// one that sends the same prepared bytes (and headers) the broker answers, read from the
// file named by argv[2]. What Koa itself costs over bare node:http.
import Koa from 'koa';
import { readFileSync } from 'node:fs';

const answers = JSON.parse(readFileSync(process.argv[2], 'utf8'));
for (const a of Object.values(answers)) a.bytes = Buffer.from(a.body);
const app = new Koa();
app.use((ctx) => {
  const a = answers[ctx.path];
  if (!a) return;
  ctx.set('cache-control', a.cacheControl);
  ctx.set('etag', a.etag);
  ctx.type = 'application/json';
  ctx.body = a.bytes;
});
const server = app.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
