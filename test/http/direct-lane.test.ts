/**
 * Issue 12: the direct lane (src/http/direct-lane.ts) serves the connect token and
 * introspection routes, ScaiWave's refresh and the platform's token endpoint on their
 * canonical URL without Koa; Koa serves every other form of
 * the URL. Whichever serves a request, the caller sees the same answer: these tests send
 * each request to both and compare status, body and headers, against the real Keycloak.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { request } from 'node:http';
import { buildApp } from '../../src/app.js';
import { ACME_ID, startBroker, type TestBroker } from '../helpers/broker.js';

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: any }

/** A raw POST (node:http, so that the path is sent exactly as given). */
function send(url: string, body: string | Buffer, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try { parsed = JSON.parse(text); } catch { parsed = text; }
        resolve({ status: res.statusCode!, headers: res.headers, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const JSON_TYPE = { 'content-type': 'application/json' };
/** Headers that differ per answer by nature. */
const PER_ANSWER = new Set(['date', 'x-request-id', 'content-length']);
const shape = (a: Answer) => Object.fromEntries(Object.entries(a.headers).filter(([k]) => !PER_ANSWER.has(k)).sort());
/** Tokens and their lifetimes (a cached token's counts down) differ per grant; their presence and the other fields do not. */
const stable = (body: any) => (body && typeof body === 'object' && 'access_token' in body
  ? Object.fromEntries(Object.entries(body).map(([k, v]) => [k, /token$|expires_in$/.test(k) ? typeof v : v]))
  : body);

describe('direct lane (issue 12): the proxied grants without Koa', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker();
  });
  after(() => broker.close());

  it('serves exactly POST on the canonical URLs; Koa serves every other form', () => {
    const { lane } = buildApp(broker.deps);
    const finds = (method: string, url: string) => lane.find({ method, url } as IncomingMessage) !== undefined;
    assert.ok(finds('POST', '/auth/api/v1/oauth/connect/token'));
    assert.ok(finds('POST', '/auth/api/v1/oauth/connect/introspect'));
    assert.ok(finds('POST', '/v1/auth/refresh'));
    assert.ok(!finds('POST', '/v1/auth/refresh?refresh_token=x'), 'refused in Koa: tokens go in the body');
    assert.ok(!finds('POST', '/auth/api/v1/oauth/connect/token?client_id=x'), 'a query string goes to Koa');
    assert.ok(!finds('POST', '/auth/api/v1/oauth/connect/Token'), 'another letter case goes to Koa');
    assert.ok(!finds('POST', '/auth/api/v1/oauth/connect/token/'));
    assert.ok(!finds('OPTIONS', '/auth/api/v1/oauth/connect/token'));
    assert.ok(!finds('GET', '/auth/api/v1/oauth/connect/token'));
    assert.ok(!finds('POST', '/auth/api/v1/oauth/connect/user/login'), 'not declared direct');
    assert.ok(finds('POST', '/api/v1/platform/oauth/token'));
    assert.ok(!finds('POST', '/api/v1/auth/tenants/acme/oauth/token'), 'a path parameter: Koa');
    assert.ok(finds('POST', '/api/v1/platform/oauth/introspect'));
    assert.ok(!finds('POST', '/api/v1/auth/tenants/acme/oauth/introspect'), 'a path parameter: Koa');
  });

  const creds = 'client_id=connect-demo&client_secret=connect-demo-secret';
  /** [what, the route's path after /auth/api/v1/oauth/connect/ or a full path, body, headers] */
  const cases: [string, string, string | Buffer, Record<string, string>][] = [
    ['a token', 'token', creds, FORM],
    ['a token, JSON and a realm', 'token', JSON.stringify({ client_id: 'connect-demo', client_secret: 'connect-demo-secret', realm: ACME_ID }), JSON_TYPE],
    ['a missing secret (422)', 'token', 'client_id=connect-demo', FORM],
    ['a wrong secret (401)', 'token', 'client_id=connect-demo&client_secret=nope', FORM],
    ['an unknown realm (404)', 'token', `${creds}&realm=00000000-0000-4000-8000-000000000000`, FORM],
    ['a malformed realm (404)', 'token', `${creds}&realm=acme`, FORM],
    ['another grant type (400)', 'token', `${creds}&grant_type=password`, FORM],
    ['malformed JSON (422)', 'token', '{"client_id":', JSON_TYPE],
    ['another media type (415)', 'token', creds, { 'content-type': 'text/plain' }],
    ['a body over the limit (413)', 'token', Buffer.alloc(70 * 1024, 'a'), FORM],
    ['no body (422)', 'token', '', FORM],
    ['introspection of garbage (inactive)', 'introspect', 'token=not-a-token', FORM],
    ['introspection without a token (422)', 'introspect', '', FORM],
    ['a garbage refresh token (401)', '/v1/auth/refresh', 'refresh_token=garbage', FORM],
    ['a refresh without a token (422)', '/v1/auth/refresh', '', FORM],
    ['a platform client-credentials token', '/api/v1/platform/oauth/token', `client_id=platform-service&client_secret=platform-service-secret&grant_type=client_credentials`, FORM],
    ['a platform token with Basic credentials', '/api/v1/platform/oauth/token', 'grant_type=client_credentials', { ...FORM, authorization: `Basic ${Buffer.from('platform-service:platform-service-secret').toString('base64')}` }],
    ['a wrong Basic secret (401, WWW-Authenticate)', '/api/v1/platform/oauth/token', 'grant_type=client_credentials', { ...FORM, authorization: `Basic ${Buffer.from('platform-service:nope').toString('base64')}` }],
    ['a grant the client may not use (400)', '/api/v1/platform/oauth/token', 'client_id=platform-service&client_secret=platform-service-secret&grant_type=refresh_token&refresh_token=x', FORM],
    ['an unknown grant type (400)', '/api/v1/platform/oauth/token', 'client_id=platform-service&client_secret=platform-service-secret&grant_type=magic', FORM],
    ['no grant type (422)', '/api/v1/platform/oauth/token', 'client_id=platform-service&client_secret=platform-service-secret', FORM],
    ['a garbage refresh token from a browser app (CORS for its origin)', '/api/v1/platform/oauth/token', 'client_id=platform-demo&grant_type=refresh_token&refresh_token=garbage', { ...FORM, origin: 'http://127.0.0.1:8765' }],
    ['a token request from an origin no app has (no CORS grant)', '/api/v1/platform/oauth/token', 'client_id=platform-demo&grant_type=refresh_token&refresh_token=garbage', { ...FORM, origin: 'https://evil.example' }],
    ['a lone surrogate in a connect field (422, not a 502)', 'token', '{"client_id":"connect-demo","client_secret":"connect-demo-secret","scopes":"openid \\ud800"}', JSON_TYPE],
    ['a lone surrogate in a platform field (422)', '/api/v1/platform/oauth/token', '{"client_id":"platform-service","client_secret":"platform-service-secret","grant_type":"client_credentials","scope":"\\udfff"}', JSON_TYPE],
    ['a garbage refresh token on a host no tenant claims', '/v1/auth/refresh', 'refresh_token=garbage', { ...FORM, host: 'nobody.localhost' }],
    ['a platform introspection of garbage (inactive)', '/api/v1/platform/oauth/introspect', 'token=x&client_id=platform-service&client_secret=platform-service-secret', FORM],
    ['a platform introspection by a public client (401)', '/api/v1/platform/oauth/introspect', 'token=x&client_id=platform-demo', FORM],
    ['a platform introspection without a client (401)', '/api/v1/platform/oauth/introspect', 'token=x', FORM],
    ['a platform introspection with a wrong Basic secret (401, WWW-Authenticate)', '/api/v1/platform/oauth/introspect', 'token=x', { ...FORM, authorization: `Basic ${Buffer.from('platform-service:nope').toString('base64')}` }],
    ['a platform introspection without a token (422)', '/api/v1/platform/oauth/introspect', 'client_id=platform-service&client_secret=platform-service-secret', FORM],
  ];
  const urls = (route: string) => (route.startsWith('/')
    ? [`${broker.url}${route}`, `${broker.url}${route.toUpperCase()}`]
    : [`${broker.url}/auth/api/v1/oauth/connect/${route}`, `${broker.url}/auth/api/v1/oauth/connect/${route.toUpperCase()}`]);
  for (const [what, route, body, headers] of cases) {
    it(`answers ${what} the same in both`, async () => {
      const [lane, other] = urls(route);
      const direct = await send(lane!, body, headers);
      const koa = await send(other!, body, headers);
      assert.equal(direct.status, koa.status, JSON.stringify(direct.body));
      assert.deepEqual(stable(direct.body), stable(koa.body));
      assert.deepEqual(shape(direct), shape(koa));
      assert.equal(direct.headers['x-content-type-options'], 'nosniff');
      assert.equal(direct.headers['cache-control'], 'no-store');
    });
  }

  it('introspects a live token the same in both', async () => {
    const token = (await send(`${broker.url}/auth/api/v1/oauth/connect/token`, creds, FORM)).body.access_token as string;
    const direct = await send(`${broker.url}/auth/api/v1/oauth/connect/introspect`, `token=${token}`, FORM);
    const koa = await send(`${broker.url}/auth/api/v1/oauth/connect/INTROSPECT`, `token=${token}`, FORM);
    assert.equal(direct.status, 200);
    assert.equal(direct.body.active, true);
    assert.deepEqual(Object.keys(direct.body).sort(), Object.keys(koa.body).sort());
    assert.deepEqual(shape(direct), shape(koa));
    const service = `token=${token}&client_id=platform-service&client_secret=platform-service-secret`;
    const platformDirect = await send(`${broker.url}/api/v1/platform/oauth/introspect`, service, FORM);
    const platformKoa = await send(`${broker.url}/api/v1/platform/oauth/Introspect`, service, FORM);
    assert.equal(platformDirect.status, 200);
    assert.equal(platformDirect.body.active, true);
    assert.deepEqual(platformDirect.body, platformKoa.body);
    assert.deepEqual(shape(platformDirect), shape(platformKoa));
  });

  it('answers the browser app with CORS headers from the lane, and another origin without', async () => {
    const form = 'client_id=platform-demo&grant_type=refresh_token&refresh_token=garbage';
    const mine = await send(`${broker.url}/api/v1/platform/oauth/token`, form, { ...FORM, origin: 'http://127.0.0.1:8765' });
    assert.equal(mine.headers['access-control-allow-origin'], 'http://127.0.0.1:8765');
    assert.equal(mine.headers.vary, 'Origin');
    const other = await send(`${broker.url}/api/v1/platform/oauth/token`, form, { ...FORM, origin: 'https://evil.example' });
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    assert.equal(other.headers.vary, 'Origin');
    // Koa's form of the same route (a trailing slash) answers the same (attack helper round 25).
    const slash = await send(`${broker.url}/api/v1/platform/oauth/token/`, form, { ...FORM, origin: 'http://127.0.0.1:8765' });
    assert.equal(slash.status, mine.status);
    assert.equal(slash.headers['access-control-allow-origin'], 'http://127.0.0.1:8765');
    assert.equal(slash.headers.vary, 'Origin');
    const basic = await send(`${broker.url}/api/v1/platform/oauth/token`, 'grant_type=client_credentials', { ...FORM, authorization: `Basic ${Buffer.from('platform-service:nope').toString('base64')}` });
    assert.equal(basic.status, 401);
    assert.equal(basic.headers['www-authenticate'], 'Basic realm="realm-broker"');
  });

  it('refreshes the same in both, and refuses another host\'s tenant\'s token the same in both', async () => {
    const signIn = async () => (await send(`${broker.url}/auth/api/v1/oauth/connect/user/login`, 'username=alice%40acme.example&password=alice-pass&scopes=openid', FORM)).body.refresh_token as string;
    const [lane, other] = urls('/v1/auth/refresh');
    const direct = await send(lane!, `refresh_token=${await signIn()}`, FORM);
    const koa = await send(other!, `refresh_token=${await signIn()}`, FORM);
    assert.equal(direct.status, 200, JSON.stringify(direct.body));
    assert.equal(koa.status, 200, JSON.stringify(koa.body));
    assert.deepEqual(Object.keys(direct.body.data ?? direct.body).sort(), Object.keys(koa.body.data ?? koa.body).sort());
    assert.deepEqual(shape(direct), shape(koa));
    const token = await signIn();
    const wrongHost = { ...FORM, host: 'globex.localhost' };
    const refusedDirect = await send(lane!, `refresh_token=${token}`, wrongHost);
    const refusedKoa = await send(other!, `refresh_token=${token}`, wrongHost);
    assert.equal(refusedDirect.status, 401);
    assert.deepEqual(refusedDirect.body, refusedKoa.body);
    assert.equal(refusedDirect.body.error.code, 'SW_AUTH_INVALID_REFRESH_TOKEN');
  });

  it('keeps a sane X-Request-Id, and writes the access line with route, tenant and upstream time', async () => {
    const res = await send(`${broker.url}/auth/api/v1/oauth/connect/token`, creds, { ...FORM, 'x-request-id': 'lane-42' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-request-id'], 'lane-42');
    const line = broker.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'request' && l.reqId === 'lane-42');
    assert.ok(line, broker.logs.slice(-3).join('\n'));
    assert.equal(line.route, '/auth/api/v1/oauth/connect/token');
    assert.equal(line.status, 200);
    assert.equal(line.tenant, 'acme');
    assert.ok(line.upstreamMs > 0, JSON.stringify(line));
    assert.ok(!broker.logs.join('\n').includes('connect-demo-secret'), 'no secret in the logs');
    const bad = await send(`${broker.url}/auth/api/v1/oauth/connect/token`, creds, { ...FORM, 'x-request-id': 'bad id with spaces' });
    assert.notEqual(bad.headers['x-request-id'], 'bad id with spaces');
  });

  it('a caller that hangs up in the middle of its body costs no error line, in either carrier', async () => {
    const { connect } = await import('node:net');
    const before = broker.logs.length;
    for (const path of ['/auth/api/v1/oauth/connect/token', '/auth/api/v1/oauth/connect/TOKEN']) {
      await new Promise<void>((resolve) => {
        const socket = connect(Number(new URL(broker.url).port), '127.0.0.1', () => {
          socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 500\r\n\r\nclient_id=a`);
          setTimeout(() => socket.destroy(), 50);
        });
        socket.on('close', () => resolve());
      });
    }
    // Each access line comes once the broker has seen its hang-up: within milliseconds, or
    // seconds on a loaded machine (a fixed wait of 200 ms is a flaky test there).
    const linesSince = () => broker.logs.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>);
    for (let i = 0; i < 100 && linesSince().filter((l) => l.msg === 'request').length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    const lines = linesSince();
    assert.deepEqual(lines.filter((l) => l.level === 'error'), []);
    const access = lines.filter((l) => l.msg === 'request');
    assert.equal(access.length, 2, JSON.stringify(lines));
    assert.ok(access.every((l) => l.status === 400), JSON.stringify(access));
    assert.equal((await send(`${broker.url}/auth/api/v1/oauth/connect/token`, creds, FORM)).status, 200, 'and serves on');
  });

  it('refuses text that is not well-formed Unicode as input (422), on the lane, in Koa and on Koa-only routes', async () => {
    for (const url of [`${broker.url}/auth/api/v1/oauth/connect/token`, `${broker.url}/auth/api/v1/oauth/connect/TOKEN`]) {
      const res = await send(url, '{"client_id":"connect-demo","client_secret":"connect-demo-secret","scopes":"openid \\ud800"}', JSON_TYPE);
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.deepEqual(res.body.detail, [{ loc: ['body', 'scopes'], msg: 'Input should be a valid string, unable to parse raw data as a unicode string', type: 'string_unicode' }]);
    }
    const login = await send(`${broker.url}/auth/api/v1/oauth/connect/user/login`, '{"username":"alice@acme.example","password":"alice-pass\\ud800"}', JSON_TYPE);
    assert.equal(login.status, 422, JSON.stringify(login.body));
  });

  it('logs the tenant of a refused request in both carriers', async () => {
    for (const [url, id] of [[`${broker.url}/auth/api/v1/oauth/connect/token`, 'tenant-lane'], [`${broker.url}/auth/api/v1/oauth/connect/TOKEN`, 'tenant-koa']] as const) {
      const res = await send(url, 'client_id=connect-demo&client_secret=nope', { ...FORM, 'x-request-id': id });
      assert.equal(res.status, 401);
      const line = broker.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'request' && l.reqId === id);
      assert.equal(line?.tenant, 'acme', JSON.stringify(line));
    }
  });

  it('counts its requests in the same metrics as Koa', async () => {
    const text = await broker.deps.metrics.registry.metrics();
    assert.match(text, /realm_broker_http_request_duration_seconds_count\{surface="connect",route="\/auth\/api\/v1\/oauth\/connect\/token",method="POST",status_class="2xx"\} [1-9]/);
  });
});
