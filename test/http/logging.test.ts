/** Issue 10: pino logs, one line per request with its route and timings, and secrets censored by pino's redact. */
import assert from 'node:assert/strict';
import pino from 'pino';
import { accessLine, createLogger, timeField } from '../../src/http/logger.js';
import { INITECH_ID, post, startBroker } from '../helpers/broker.js';

describe('logs (pino)', () => {
  it('writes the access line by hand exactly as pino would, strings escaped', () => {
    const fields = { method: 'POST', route: '/a/"b"\\c', status: 200, ms: 1.5, tenant: 'acme\n"x"', upstreamMs: 0.7, reqId: 'req-1' };
    let byPino = '';
    const p = pino({ base: undefined, messageKey: 'msg', timestamp: () => ',"time":"T"', formatters: { level: (label) => ({ level: label }) } }, { write: (l: string) => { byPino = l; } });
    p.info(fields, 'request');
    const ours = accessLine(fields).replace(/"time":"[^"]+"/, '"time":"T"');
    assert.equal(ours, byPino);
    assert.deepEqual(JSON.parse(ours), { level: 'info', time: 'T', ...fields, msg: 'request' });
    // Without a tenant there is no tenant key, as pino leaves out undefined fields.
    assert.ok(!accessLine({ ...fields, tenant: undefined }).includes('tenant'));
  });

  it('stamps every line with the time toISOString gives, to the millisecond', () => {
    // Within one second, across second, minute, day and year boundaries, and the epoch.
    const base = Date.UTC(2026, 11, 31, 23, 59, 59, 0);
    const moments = [0, 1, 9, 10, 99, 100, 999, base, base + 7, base + 42, base + 999, base + 1000, base + 1001, base - 1, Date.now()];
    for (const now of moments) assert.equal(timeField(now), `,"time":"${new Date(now).toISOString()}"`, String(now));
  });

  it('censors tokens, passwords, secrets, codes and cookies wherever they appear as fields', () => {
    const lines: string[] = [];
    const log = createLogger('debug', { write: (l) => lines.push(l) });
    log.info('x', {
      password: 'p1', client_secret: 's1', refresh_token: 'r1', query: { code: 'c1' }, cookie: 'k1',
      body: { access_token: 'a1', code_verifier: 'v1' }, req: { headers: { authorization: 'Bearer b1', cookie: 'k2' } },
    });
    const line = lines[0]!;
    for (const secret of ['p1', 's1', 'r1', 'c1', 'k1', 'a1', 'v1', 'b1', 'k2']) assert.ok(!line.includes(`"${secret}"`) && !line.includes(` ${secret}`), `${secret} in ${line}`);
    assert.match(line, /\[redacted\]/);
    const parsed = JSON.parse(line);
    assert.equal(parsed.level, 'info');
    assert.equal(parsed.msg, 'x');
  });

  it('writes one line per request: method, route pattern, status, duration, tenant, request id, upstream time', async () => {
    const broker = await startBroker();
    try {
      // upstreamMs sums the request's Keycloak calls: a cold broker lists both servers' realms
      // in parallel, which can add up to more than the wall time. Warm it, then measure one call.
      await post(`${broker.url}/auth/api/v1/oauth/connect/token?client_secret=connect-demo-secret`, { client_id: 'connect-demo' });
      const res = await post(`${broker.url}/auth/api/v1/oauth/connect/token?client_secret=connect-demo-secret`, { client_id: 'connect-demo' }, { headers: { 'x-request-id': 'req-42' } });
      assert.equal(res.status, 200);
      const line = broker.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'request' && l.reqId === 'req-42');
      assert.ok(line, broker.logs.slice(-3).join('\n'));
      assert.equal(line.method, 'POST');
      assert.equal(line.route, '/auth/api/v1/oauth/connect/token');
      assert.equal(line.status, 200);
      assert.equal(line.tenant, 'acme');
      assert.ok(line.ms > 0 && line.upstreamMs > 0 && line.upstreamMs <= line.ms, JSON.stringify(line));
      assert.ok(!broker.logs.join('\n').includes('connect-demo-secret'));
    } finally {
      await broker.close();
    }
  });
  it('names the tenant whose realm answered: an introspection without a realm, of a token from initech (server 2)', async () => {
    const broker = await startBroker();
    try {
      const token = (await post(`${broker.url}/auth/api/v1/oauth/connect/token`, { client_id: 'connect-demo', client_secret: 'connect-demo-secret', realm: INITECH_ID })).body.access_token;
      const res = await post(`${broker.url}/auth/api/v1/oauth/connect/introspect`, { token }, { headers: { 'x-request-id': 'req-initech' } });
      assert.equal(res.body.active, true);
      const line = broker.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'request' && l.reqId === 'req-initech');
      assert.equal(line?.tenant, 'initech', 'not the default tenant, which the request named by naming none');
    } finally {
      await broker.close();
    }
  });
});
