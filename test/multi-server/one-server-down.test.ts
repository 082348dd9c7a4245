/**
 * One Keycloak server down must not take the other's tenants down. The broker reaches
 * server 2 through a TCP proxy that the test cuts and restores (the real server keeps
 * running: restarting it would take minutes). While it is cut: initech answers 503 with
 * Retry-After in each surface's error shape, acme and globex keep serving, and email
 * discovery finds what server 1 knows without saying anything wrong about server 2's users.
 */
import assert from 'node:assert/strict';
import { INITECH_ID, claims, deviceOverrides, getWithHost, post, startBroker, withHost, type TestBroker } from '../helpers/broker.js';
import { HttpBrowser } from '../helpers/http-browser.js';
import { APP, signIn } from '../helpers/platform-rp.js';
import { scaiwaveLogin } from '../helpers/scaiwave-login.js';
import { KEYCLOAK2_URL, KEYCLOAK_URL } from '../helpers/services.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

const HOST = 'initech.localhost:3000';

describe('One Keycloak server down (server 2 behind a proxy the test cuts)', function () {
  this.timeout(60_000);
  let proxy: TcpProxy;
  before(async () => { proxy = await new TcpProxy(Number(new URL(KEYCLOAK2_URL).port)).open(); });
  after(() => proxy.close());

  const start = () => startBroker({ env: { KEYCLOAK2_URL: proxy.url }, overrides: deviceOverrides() });
  const connect = (broker: TestBroker, path: string, fields: Record<string, string>) => post(`${broker.url}/auth/api/v1/oauth/connect/${path}`, fields);
  const initechToken = (broker: TestBroker) => connect(broker, 'token', { client_id: 'connect-demo', client_secret: 'connect-demo-secret', realm: INITECH_ID });

  /** The platform's authorize with a login hint: where email discovery sends the browser. */
  async function discover(broker: TestBroker, email: string) {
    const url = new URL(`${broker.url}/api/v1/platform/oauth/authorize`);
    url.search = new URLSearchParams({
      response_type: 'code', client_id: 'platform-demo', redirect_uri: `${APP}callback`, scope: 'openid', state: 's', login_hint: email,
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
    }).toString();
    return new HttpBrowser(APP).go(url);
  }
  const choices = (html: string) => [...html.matchAll(/<button[^>]*name="tenant"[^>]*value="([^"]+)"/g)].map((m) => m[1]);

  function assertServesServer1(broker: TestBroker) {
    return Promise.all([
      connect(broker, 'token', { client_id: 'connect-demo', client_secret: 'connect-demo-secret' }).then((r) => {
        assert.equal(r.status, 200, r.text);
        assert.equal(claims(r.body.access_token).iss, `${KEYCLOAK_URL}/realms/acme`);
      }),
      post(`${broker.url}/v1/auth/token`, { grant_type: 'password', username: 'alice@acme.example', password: 'alice-pass' })
        .then((r) => assert.equal(r.status, 200, r.text)),
      fetch(`${broker.url}/api/v1/platform/.well-known/jwks.json`).then((r) => assert.equal(r.status, 200)),
      discover(broker, 'carol@contractor.example').then((p) => assert.ok(p.url.href.startsWith(`${KEYCLOAK_URL}/realms/globex/`), `carol at globex, not ${p.url}`)),
      discover(broker, 'alice@acme.example').then((p) => assert.ok(p.url.href.startsWith(`${KEYCLOAK_URL}/realms/acme/`), `alice at acme, not ${p.url}`)),
    ]);
  }

  describe('a broker that knew server 2 before it went down', () => {
    let broker: TestBroker;
    /** Knows initech too, but has published no JWKS yet. */
    let noKeysYet: TestBroker;
    let erin: { access_token: string; refresh_token: string };
    let platformRefresh: string;
    before(async () => {
      broker = await start();
      assert.equal((await initechToken(broker)).status, 200);
      erin = await scaiwaveLogin(broker.url, { host: HOST, redirectUri: 'http://initech.localhost:3000/v1/auth/login', realm: 'initech', keycloakUrl: proxy.url }, 'erin@initech.example');
      // Tokens issued through the proxy carry its address as issuer, and route back to it.
      assert.equal(claims(erin.access_token).iss, `${proxy.url}/realms/initech`);
      platformRefresh = (await signIn(`${broker.url}/api/v1/platform/oauth`, 'erin@initech.example', { brokerUrl: broker.url })).tokens.refresh_token!;
      noKeysYet = await start();
      assert.equal((await initechToken(noKeysYet)).status, 200);
      await proxy.close();
    });
    after(async () => { await proxy.open(); await broker.close(); await noKeysYet.close(); });

    it('connect: 503 upstream_unavailable with Retry-After for initech', async () => {
      for (const res of [
        await initechToken(broker),
        await connect(broker, 'introspect', { token: erin.access_token, realm: INITECH_ID }),
      ]) {
        assert.equal(res.status, 503, res.text);
        assert.equal(res.body.error, 'upstream_unavailable');
        assert.equal(typeof res.body.detail, 'string');
        assert.ok(res.headers.get('retry-after'));
      }
    });

    it('ScaiWave: erin refresh at initech.localhost is SW_AUTH_UPSTREAM_UNAVAILABLE (503)', async () => {
      const res = await withHost('POST', `${broker.url}/v1/auth/refresh`, HOST, { refresh_token: erin.refresh_token });
      assert.equal(res.status, 503);
      assert.equal(res.body.error.code, 'SW_AUTH_UPSTREAM_UNAVAILABLE');
      assert.ok(res.headers['retry-after']);
    });

    it('platform: refresh routed to server 2 by the token issuer is temporarily_unavailable (503)', async () => {
      const res = await post(`${broker.url}/api/v1/platform/oauth/token`, { grant_type: 'refresh_token', client_id: 'platform-demo', refresh_token: platformRefresh });
      assert.equal(res.status, 503, res.text);
      assert.equal(res.body.error, 'temporarily_unavailable');
      assert.ok(res.headers.get('retry-after'));
    });

    it('acme and globex keep serving; readiness is degraded, not down', async () => {
      await assertServesServer1(broker);
      const ready = await fetch(`${broker.url}/auth/api/v1/readyz`);
      assert.equal(ready.status, 200);
      const body = await ready.json();
      assert.equal(body.msg, 'DEGRADED');
      assert.deepEqual({ ...body.checks, 'keycloak:server2': undefined }, { store: 'up', 'keycloak:server1': 'up', 'keycloak:server2': undefined });
      assert.match(body.checks['keycloak:server2'], /^(down|open)$/, 'down, or its circuit breaker open');
    });

    it('the platform JWKS still publishes server 1 realms\' keys, even when first asked during the outage', async () => {
      for (const b of [broker, noKeysYet]) {
        const res = await fetch(`${b.url}/api/v1/platform/.well-known/jwks.json`);
        assert.equal(res.status, 200);
        const kids = ((await res.json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
        const acme = (await (await fetch(`${KEYCLOAK_URL}/realms/acme/protocol/openid-connect/certs`)).json()) as { keys: { kid: string; use: string }[] };
        for (const k of acme.keys.filter((x) => x.use !== 'enc')) assert.ok(kids.includes(k.kid), `acme key ${k.kid}`);
      }
    });

    it('discovery: dave chooses among what server 1 knows; frank, only on server 2, is an outage, not "nobody"', async () => {
      const dave = await discover(broker, 'dave@shared.example');
      assert.deepEqual(choices(dave.html).sort(), ['acme', 'globex']);
      const frank = await discover(broker, 'frank@contractor.example');
      assert.equal(frank.status, 503, `not sent to a realm that would refuse his password: ${frank.url}`);
      assert.ok(frank.headers.get('retry-after'));
    });
  });

  describe('a broker started while server 2 is down, then server 2 comes back', () => {
    let broker: TestBroker;
    before(async () => {
      await proxy.close();
      broker = await start();
    });
    after(async () => { await proxy.open(); await broker.close(); });

    it('initech is unknown for now, so 503 on every surface (not 404)', async () => {
      const connectRes = await initechToken(broker);
      assert.equal(connectRes.status, 503, connectRes.text);
      assert.equal(connectRes.body.error, 'upstream_unavailable');
      const sw = await getWithHost(`${broker.url}/v1/auth/config`, HOST);
      assert.equal(sw.status, 503);
      assert.equal(sw.body.error.code, 'SW_AUTH_UPSTREAM_UNAVAILABLE');
      const tenantLevel = await fetch(`${broker.url}/api/v1/auth/tenants/initech/oauth/.well-known/openid-configuration`);
      assert.equal(tenantLevel.status, 503);
      assert.equal((await tenantLevel.json()).error, 'temporarily_unavailable');
      assert.ok(tenantLevel.headers.get('retry-after'));
      for (const email of ['erin@initech.example', 'frank@contractor.example']) {
        assert.equal((await discover(broker, email)).status, 503, email);
      }
    });

    it('a token of an issuer that is no server\'s is still invalid, not an outage', async () => {
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const foreign = `${b64({ alg: 'RS256' })}.${b64({ iss: 'https://elsewhere.example/realms/initech', sub: 'x' })}.c2ln`;
      const res = await post(`${broker.url}/api/v1/platform/oauth/token`, { grant_type: 'refresh_token', client_id: 'platform-demo', refresh_token: foreign });
      assert.equal(res.status, 400, res.text);
      assert.equal(res.body.error, 'invalid_grant');
    });

    it('acme and globex serve; dave sees their two tenants', async () => {
      await assertServesServer1(broker);
      assert.deepEqual(choices((await discover(broker, 'dave@shared.example')).html).sort(), ['acme', 'globex']);
    });

    it('serves initech by itself once server 2 is back, and dave sees all three', async () => {
      await proxy.open();
      // The server's circuit breaker closes at its next probe (every 500 ms): within seconds.
      let res = await initechToken(broker);
      for (let i = 0; i < 20 && res.status === 503; i++) {
        await new Promise((r) => setTimeout(r, 250));
        res = await initechToken(broker);
      }
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(choices((await discover(broker, 'dave@shared.example')).html).sort(), ['acme', 'globex', 'initech']);
      const erinPage = await discover(broker, 'erin@initech.example');
      assert.ok(erinPage.url.href.startsWith(`${proxy.url}/realms/initech/`), String(erinPage.url));
    });
  });
});
