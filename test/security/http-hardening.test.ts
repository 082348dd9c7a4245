/**
 * Issue 8, defects 4, 6, 7, 9 and 13: proxy trust, cache keys of per-tenant answers,
 * secrets only in bodies, no upstream detail in answers, every answer in its surface's
 * shape (405/501 too, whatever the path's case), HSTS over TLS.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { ACME_ID, GLOBEX_ID, post, startBroker, type TestBroker } from '../helpers/broker.js';
import { KEYCLOAK_URL } from '../helpers/services.js';

/** A request with any headers (fetch will not set Host). */
function raw(url: string, o: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: o.method ?? 'GET', headers: o.headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        let json: any;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode!, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

describe('proxy trust (defect 4)', () => {
  it('with one trusted hop, a client-supplied X-Forwarded-For does not escape the per-address limit', async () => {
    const broker = await startBroker({
      env: { TRUST_PROXY: '1' },
      overrides: { scaiwave: { hosts: {}, tenantHeader: '', redirectUris: {}, rateLimit: { perUser: 100, perAddress: 3, windowSeconds: 60 } } },
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        // The client forges a new address on the left each time; the proxy appends what it saw.
        const res = await raw(`${broker.url}/v1/auth/token`, {
          method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': `203.0.113.${i}, 198.51.100.7` },
          body: JSON.stringify({ username: `nobody-${randomUUID()}@acme.example`, password: 'x' }),
        });
        statuses.push(res.status);
      }
      assert.deepEqual(statuses, [401, 401, 401, 429, 429, 429]);
    } finally {
      await broker.close();
    }
  });

  it('an https PUBLIC_URL without a trusted proxy sets Secure cookies (no 500) and sends HSTS', async () => {
    const broker = await startBroker({ env: { PUBLIC_URL: 'https://id.example.com', TRUST_PROXY: 'false' } });
    try {
      const res = await raw(`${broker.url}/api/v1/platform/oauth/authorize?${new URLSearchParams({
        client_id: 'platform-demo', redirect_uri: 'http://127.0.0.1:8765/callback', response_type: 'code', scope: 'openid',
        code_challenge: 'a'.repeat(43), code_challenge_method: 'S256',
      })}`);
      assert.equal(res.status, 302, res.text);
      const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
      assert.ok(cookies.some((c) => c.startsWith('__Host-rb_bind=') && /;\s*secure/i.test(c)), cookies.join('\n'));
      assert.match(String(res.headers['strict-transport-security']), /max-age=\d+/);
    } finally {
      await broker.close();
    }
  });
});

describe('per-tenant answers and shared caches (defect 6)', () => {
  it('/v1/auth/config varies on Host and the tenant header; the header is off unless configured', async () => {
    const strict = await startBroker({ overrides: { scaiwave: { hosts: { 'acme.localhost': 'acme' }, tenantHeader: '', redirectUris: {}, rateLimit: { perUser: 5, perAddress: 20, windowSeconds: 900 } } } });
    try {
      const res = await raw(`${strict.url}/v1/auth/config`, { headers: { host: 'acme.localhost', 'x-tenant': 'globex' } });
      assert.equal(res.status, 200);
      assert.equal(res.json.data.issuer, `${KEYCLOAK_URL}/realms/acme`, 'X-Tenant ignored when not enabled');
      assert.match(String(res.headers.vary), /host/i);
    } finally {
      await strict.close();
    }
    const dev = await startBroker();
    try {
      const res = await raw(`${dev.url}/v1/auth/config`, { headers: { 'x-tenant': 'globex' } });
      assert.equal(res.json.data.issuer, `${KEYCLOAK_URL}/realms/globex`);
      assert.match(String(res.headers.vary), /host/i);
      assert.match(String(res.headers.vary), /x-tenant/i);
    } finally {
      await dev.close();
    }
  });
});

describe('answers and inputs', () => {
  let broker: TestBroker;
  before(async () => { broker = await startBroker(); });
  after(() => broker.close());

  it('token endpoints refuse secrets, codes and tokens in the URL (defect 7); connect keeps its query parameters', async () => {
    const platform = await post(`${broker.url}/api/v1/platform/oauth/token?client_secret=platform-service-secret`,
      { grant_type: 'client_credentials', client_id: 'platform-service' });
    assert.equal(platform.status, 400);
    assert.equal(platform.body.error, 'invalid_request');
    assert.match(platform.body.error_description, /client_secret/);
    const refresh = await post(`${broker.url}/v1/auth/refresh?refresh_token=abc`, {});
    assert.equal(refresh.status, 400);
    assert.equal(refresh.body.error.code, 'SW_AUTH_BAD_REQUEST');
    const connect = await post(`${broker.url}/auth/api/v1/oauth/connect/token`, { client_id: 'connect-demo', client_secret: 'connect-demo-secret' }, { query: true });
    assert.equal(connect.status, 200, connect.text);
  });

  it('a parameter given twice is refused, not read as its last value (RFC 6749 §3.2): direct lane, Koa, query', async () => {
    const form = (body: string) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    const twice = 'grant_type=client_credentials&grant_type=refresh_token&client_id=platform-service&client_secret=platform-service-secret';
    for (const path of ['/api/v1/platform/oauth/token', '/API/v1/platform/oauth/token']) { // the lane, and Koa (another case)
      const res = await raw(`${broker.url}${path}`, form(twice));
      assert.equal(res.status, 400, `${path}: ${res.text}`);
      assert.equal(res.json.error, 'invalid_request');
      assert.match(res.json.error_description, /grant_type was given more than once/);
    }
    const revoke = await raw(`${broker.url}/api/v1/platform/oauth/revoke`, form('token=a&token=b&client_id=platform-demo'));
    assert.equal(revoke.status, 400, revoke.text);
    assert.equal(revoke.json.error, 'invalid_request');
    const connect = await raw(`${broker.url}/auth/api/v1/oauth/connect/token?client_id=connect-demo&client_id=other&client_secret=connect-demo-secret`, { method: 'POST' });
    assert.equal(connect.status, 400, connect.text);
    // One name in the URL and in the body with two values: neither is taken (the body's was).
    const realms = await raw(`${broker.url}/auth/api/v1/oauth/connect/token?realm=${GLOBEX_ID}`, form(`realm=${ACME_ID}&client_id=connect-demo&client_secret=connect-demo-secret`));
    assert.equal(realms.status, 400, realms.text);
    assert.match(realms.text, /realm given in both the URL and the body, with different values/);
    const same = await raw(`${broker.url}/auth/api/v1/oauth/connect/token?realm=${ACME_ID}`, form(`realm=${ACME_ID}&client_id=connect-demo&client_secret=connect-demo-secret`));
    assert.equal(same.status, 200, same.text);
    // A JSON object whose toString is no function, against a query value (fuzz counterexample: a 500).
    const odd = await raw(`${broker.url}/auth/api/v1/oauth/connect/user/login?realm=%00`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ realm: { toString: 1 } }) });
    assert.equal(odd.status, 400, odd.text);
    assert.match(odd.text, /realm given in both the URL and the body/);
    // A JSON value nested thousands deep, against a query value (attack helper round 25: a 500
    // with a stack trace in the error log, on every connect route, for anyone), and alone.
    const deep = (field: string) => `{"${field}":${'['.repeat(6000)}${']'.repeat(6000)},"client_secret":"x","password":"x"}`;
    for (const [path, field] of [['token?client_id=x', 'client_id'], ['user/login?username=x', 'username'], ['introspect?token=x', 'token'], ['token', 'client_id']] as const) {
      const nested = await raw(`${broker.url}/auth/api/v1/oauth/connect/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: deep(field) });
      assert.ok(nested.status === 400 || nested.status === 422, `${path}: ${nested.status} ${nested.text.slice(0, 200)}`);
    }
    // A JSON member given twice, as a form's parameter (attack round 36: the last "realm" got its
    // realm's token, where a proxy reading the first saw another): direct lane, Koa, each surface's shape.
    const json = (body: string) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const twoRealms = `{"realm":"${ACME_ID}","client_id":"connect-demo","client_secret":"connect-demo-secret","realm":"${GLOBEX_ID}"}`;
    for (const path of ['/auth/api/v1/oauth/connect/token', '/AUTH/api/v1/oauth/connect/token']) {
      const res = await raw(`${broker.url}${path}`, json(twoRealms));
      assert.equal(res.status, 400, `${path}: ${res.text}`);
      assert.match(res.json.detail, /realm was given more than once/);
    }
    const swTwice = await raw(`${broker.url}/v1/auth/refresh`, json('{"refresh_token":"a","refresh_token":"b"}'));
    assert.equal(swTwice.status, 400, swTwice.text);
    assert.equal(swTwice.json.error.code, 'SW_AUTH_BAD_REQUEST');
    // Names alike only inside nested values, in strings, or escaped differently but equal once read: one each, or twice.
    const nestedAlike = await raw(`${broker.url}/auth/api/v1/oauth/connect/token`, json(JSON.stringify({ realm: ACME_ID, x: { realm: 1, a: [{ realm: 2 }] }, y: '\\","realm":{[', client_id: 'connect-demo', client_secret: 'connect-demo-secret' })));
    assert.equal(nestedAlike.status, 200, nestedAlike.text);
    const escaped = await raw(`${broker.url}/auth/api/v1/oauth/connect/token`, json(`{"realm":"${ACME_ID}","re\\u0061lm":"${GLOBEX_ID}","client_id":"connect-demo","client_secret":"connect-demo-secret"}`));
    assert.equal(escaped.status, 400, escaped.text);
    // An empty realm names no tenant, not the default one (attack round 36: a password went to acme's realm).
    for (const body of [json(`{"realm":"","client_id":"connect-demo","client_secret":"connect-demo-secret"}`), form('realm=&client_id=connect-demo&client_secret=connect-demo-secret')]) {
      const empty = await raw(`${broker.url}/auth/api/v1/oauth/connect/token`, body);
      assert.equal(empty.status, 404, empty.text);
    }
    // A compressed body, or JSON in another charset: 415 (RFC 7694 §3), not "malformed" (attack round 36: 422).
    const { gzipSync } = await import('node:zlib');
    const packed = gzipSync(JSON.stringify({ client_id: 'connect-demo', client_secret: 'connect-demo-secret' }));
    for (const [path, shape] of [['/auth/api/v1/oauth/connect/token', 'detail'], ['/v1/auth/refresh', 'error'], ['/api/v1/platform/oauth/token', 'error']] as const) {
      const res = await fetch(`${broker.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: packed });
      assert.equal(res.status, 415, `${path}: ${res.status}`);
      assert.ok(shape in (await res.json()), path);
    }
    for (const type of ['application/json; charset=utf-16le', 'application/json; charset=utf-8; charset=latin1']) {
      const other = await raw(`${broker.url}/auth/api/v1/oauth/connect/token`, { method: 'POST', headers: { 'content-type': type }, body: '{}' });
      assert.equal(other.status, 415, `${type}: ${other.text}`);
    }
    // A form says its charset as old clients do: its bytes are percent-encoded ASCII all the same.
    const latin1 = await raw(`${broker.url}/auth/api/v1/oauth/connect/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=ISO-8859-1' }, body: 'client_id=connect-demo&client_secret=connect-demo-secret' });
    assert.equal(latin1.status, 200, latin1.text);
    // One value each, and a JSON list (a wrong type, not a repetition), as before.
    assert.equal((await raw(`${broker.url}/api/v1/platform/oauth/token`, form('grant_type=client_credentials&client_id=platform-service&client_secret=platform-service-secret'))).status, 200);
    const list = await raw(`${broker.url}/auth/api/v1/oauth/connect/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: ['a', 'b'], client_secret: 'x' }) });
    assert.equal(list.status, 422, list.text);
  });

  it('405 and 501 in each surface\'s shape, with Allow; surfaces found whatever the path\'s case (defect 13)', async () => {
    const sw = await raw(`${broker.url}/v1/auth/config`, { method: 'DELETE' });
    assert.equal(sw.status, 405);
    assert.equal(sw.json.error.code, 'SW_AUTH_METHOD_NOT_ALLOWED');
    assert.match(String(sw.headers.allow), /GET/);
    const connect = await raw(`${broker.url}/auth/api/v1/oauth/connect/token`, { method: 'PUT' });
    assert.equal(connect.status, 405);
    assert.equal(typeof connect.json.detail, 'string');
    const platform = await raw(`${broker.url}/api/v1/platform/oauth/token`);
    assert.equal(platform.status, 405);
    assert.equal(platform.json.error, 'method_not_allowed');
    const upper = await raw(`${broker.url}/V1/AUTH/nothing-here`);
    assert.equal(upper.status, 404);
    assert.equal(upper.json.error.code, 'SW_AUTH_NOT_FOUND');
    const upperConnect = await raw(`${broker.url}/AUTH/API/V1/oauth/connect/token`, { method: 'PATCH' });
    assert.equal(upperConnect.status, 405);
    assert.equal(typeof upperConnect.json.detail, 'string');
    const weird = await raw(`${broker.url}/v1/auth/config`, { method: 'PROPFIND' });
    assert.ok([405, 501].includes(weird.status));
    assert.ok(weird.json?.error?.code, weird.text);
  });

  it('upstream failures answer generic messages: no internal URL or config hint (defect 9)', async () => {
    const wrong = await startBroker({ env: { KEYCLOAK_PUBLIC_URL: 'http://kc-internal.example:8080' } });
    try {
      const res = await post(`${wrong.url}/auth/api/v1/oauth/connect/token`, { client_id: 'connect-demo', client_secret: 'connect-demo-secret' });
      assert.equal(res.status, 502, res.text);
      assert.doesNotMatch(res.text, /kc-internal|127\.0\.0\.1|publicUrl|issuer/i);
      assert.ok(wrong.logs.some((l) => l.includes('kc-internal')), 'the details are in the log');
    } finally {
      await wrong.close();
    }
    // A Keycloak refusal's own words (here: an unknown refresh token's issuer) stay out too.
    const bad = await post(`${broker.url}/v1/auth/refresh`, { refresh_token: 'eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJodHRwOi8vMTI3LjAuMC4xOjgwODAvcmVhbG1zL2FjbWUifQ.x' });
    assert.equal(bad.status, 401);
    assert.doesNotMatch(bad.text, /127\.0\.0\.1|realms\//);
  });
});
