/**
 * Issue 10: the OpenAPI document is valid OpenAPI 3.1 (a real validator), describes exactly
 * the routes the route tables serve, and real answers from each endpoint validate against
 * the schema it gives for their status.
 */
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { post, startBroker, type TestBroker } from '../helpers/broker.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

describe('OpenAPI document (GET /openapi.json)', function () {
  this.timeout(60_000);
  let broker: TestBroker;
  let doc: any;
  before(async () => {
    broker = await startBroker();
    const res = await fetch(`${broker.url}/openapi.json`);
    assert.equal(res.status, 200);
    doc = await res.json();
  });
  after(() => broker.close());

  it('is valid OpenAPI 3.1', async () => {
    assert.equal(doc.openapi, '3.1.0');
    const result = await new Validator().validate(doc);
    assert.deepEqual(result, { valid: true });
  });

  it('documents every routed path and method, and routes every documented one', () => {
    const routed = new Set<string>();
    for (const mw of broker.app.middleware as any[]) {
      for (const layer of (mw.routers ?? []).flatMap((r: any) => r.stack)) {
        for (const m of layer.methods) if (m !== 'HEAD') routed.add(`${m.toLowerCase()} ${layer.path.replace(/:(\w+)/g, '{$1}')}`);
      }
    }
    const documented = new Set<string>();
    for (const [path, item] of Object.entries<any>(doc.paths)) for (const m of METHODS) if (item[m]) documented.add(`${m} ${path}`);
    assert.ok(routed.size >= 45, `routes found: ${routed.size}`);
    assert.deepEqual([...routed].filter((r) => !documented.has(r)), [], 'routed but not documented');
    assert.deepEqual([...documented].filter((d) => !routed.has(d)), [], 'documented but not routed');
  });

  it('real answers of every JSON endpoint validate against their documented schema', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema(doc, 'doc');
    const esc = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');
    const check = async (method: string, path: string, res: { status: number; body: any; text?: string }) => {
      const pointer = `doc#/paths/${esc(path)}/${method}/responses/${res.status}/content/${esc('application/json')}/schema`;
      const validate = ajv.getSchema(pointer);
      assert.ok(validate, `no schema for ${method} ${path} ${res.status}: ${res.text?.slice(0, 200)}`);
      assert.ok(validate(res.body), `${method} ${path} ${res.status}: ${JSON.stringify(validate.errors)} for ${JSON.stringify(res.body).slice(0, 300)}`);
    };
    const get = async (url: string, headers: Record<string, string> = {}) => {
      const r = await fetch(`${broker.url}${url}`, { headers });
      const text = await r.text();
      return { status: r.status, body: JSON.parse(text), text };
    };
    const c = '/auth/api/v1';
    const alice = await post(`${broker.url}${c}/oauth/connect/user/login`, { username: 'alice@acme.example', password: 'alice-pass' });
    const samples: [string, string, { status: number; body: any; text?: string }][] = [
      ['get', `${c}/healthz`, await get(`${c}/healthz`)],
      ['get', `${c}/readyz`, await get(`${c}/readyz`)],
      ['post', `${c}/oauth/connect/token`, await post(`${broker.url}${c}/oauth/connect/token`, { client_id: 'connect-demo', client_secret: 'connect-demo-secret' })],
      ['post', `${c}/oauth/connect/token`, await post(`${broker.url}${c}/oauth/connect/token`, { client_id: 'connect-demo', client_secret: 'wrong' })],
      ['post', `${c}/oauth/connect/token`, await post(`${broker.url}${c}/oauth/connect/token`, {})],
      ['post', `${c}/oauth/connect/user/login`, alice],
      ['post', `${c}/oauth/connect/introspect`, await post(`${broker.url}${c}/oauth/connect/introspect`, { token: alice.body.access_token })],
      ['get', '/v1/auth/config', await get('/v1/auth/config')],
      ['post', '/v1/auth/token', await post(`${broker.url}/v1/auth/token`, { username: 'alice@acme.example', password: 'alice-pass' })],
      ['post', '/v1/auth/token', await post(`${broker.url}/v1/auth/token`, { username: 'bob@globex.example', password: 'x' }, { headers: { 'x-tenant': 'globex' } })],
      ['post', '/v1/auth/login', await post(`${broker.url}/v1/auth/login`, {})],
      ['post', '/v1/auth/refresh', await post(`${broker.url}/v1/auth/refresh`, { refresh_token: 'garbage' })],
      ['post', '/v1/auth/register', await post(`${broker.url}/v1/auth/register`, {}, { headers: { authorization: `Bearer ${alice.body.access_token}` } })],
      ['post', '/v1/auth/register', await post(`${broker.url}/v1/auth/register`, {})],
    ];
    const p = '/api/v1/platform';
    const t = '/api/v1/auth/tenants/{slug}/oauth';
    const device = await post(`${broker.url}${p}/oauth/device/authorize`, { client_id: 'tv-demo' });
    samples.push(
      ['get', `${p}/.well-known/jwks.json`, await get(`${p}/.well-known/jwks.json`)],
      ['get', `${p}/oauth/.well-known/openid-configuration`, await get(`${p}/oauth/.well-known/openid-configuration`)],
      ['get', `${p}/oauth/.well-known/jwks.json`, await get(`${p}/oauth/.well-known/jwks.json`)],
      ['post', `${p}/oauth/token`, await post(`${broker.url}${p}/oauth/token`, { grant_type: 'client_credentials', client_id: 'platform-service', client_secret: 'platform-service-secret' })],
      ['post', `${p}/oauth/token`, await post(`${broker.url}${p}/oauth/token`, { grant_type: 'magic', client_id: 'platform-service', client_secret: 'platform-service-secret' })],
      ['post', `${p}/oauth/token`, await post(`${broker.url}${p}/oauth/token`, {})],
      ['get', `${p}/oauth/userinfo`, await get(`${p}/oauth/userinfo`, { authorization: `Bearer ${alice.body.access_token}` })],
      ['post', `${p}/oauth/device/authorize`, device],
      ['get', `${p}/oauth/device/verify`, await get(`${p}/oauth/device/verify?user_code=${device.body.user_code}`)],
      ['post', `${p}/oauth/device/verify`, await post(`${broker.url}${p}/oauth/device/verify`, { user_code: device.body.user_code, action: 'deny' }, { json: true })],
      ['get', `${t}/.well-known/openid-configuration`, await get('/api/v1/auth/tenants/globex/oauth/.well-known/openid-configuration')],
      ['get', `${t}/.well-known/jwks.json`, await get('/api/v1/auth/tenants/globex/oauth/.well-known/jwks.json')],
      ['post', `${t}/token`, await post(`${broker.url}/api/v1/auth/tenants/globex/oauth/token`, { grant_type: 'client_credentials', client_id: 'nobody' })],
    );
    for (const [method, path, res] of samples) await check(method, path, res);
    assert.ok(samples.length >= 25);
  });

  it('pages answer HTML, as documented', async () => {
    const res = await fetch(`${broker.url}/api/v1/platform/oauth/authorize?client_id=nobody`);
    assert.equal(res.status, 400);
    assert.match(res.headers.get('content-type')!, /text\/html/);
    assert.ok(doc.paths['/api/v1/platform/oauth/authorize'].get.responses['400'].content['text/html']);
  });
});
