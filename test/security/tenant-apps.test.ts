/**
 * An app that is not GLOBAL is served at its own tenants' issuers only (attack helper,
 * 2026-12-06). The registry said nothing of which tenant such an app was, and a tenant issuer
 * served any app of the registry: a resource server of acme's, with its own secret, introspected
 * (and could revoke) globex's and initech's tokens at their issuers, as the broker introspects
 * with its own client and Keycloak never sees the app. Now a non-GLOBAL app lists its tenants
 * (required), and elsewhere it is an unknown client. Against both real Keycloak servers.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../src/config/load.js';
import { ACME_ID, GLOBEX_ID, INITECH_ID, post, startBroker, type TestBroker } from '../helpers/broker.js';

/** The demo's apps, which an override of `apps` replaces. */
const DEMO_APPS = JSON.parse(readFileSync('demo.config.json', 'utf8')).apps as Record<string, object>;
const APP = { name: 'Acme reports', public: false, clientSecret: 'acme-reports-secret', grantTypes: ['authorization_code'], redirectUris: ['http://127.0.0.1:8765/callback'], postLogoutRedirectUris: ['http://127.0.0.1:8765/'] };

describe('an app that is not GLOBAL, at other tenants\' issuers', function () {
  this.timeout(60_000);
  let broker: TestBroker;
  before(async () => {
    broker = await startBroker({ overrides: { apps: { ...DEMO_APPS, 'acme-reports': { ...APP, tenants: ['acme'] } } } });
  });
  after(() => broker?.close());

  const issuer = (slug?: string) => slug ? `${broker.url}/api/v1/auth/tenants/${slug}/oauth` : `${broker.url}/api/v1/platform/oauth`;
  const tokenOf = async (realm: string) => {
    const res = await post(`${broker.url}/auth/api/v1/oauth/connect/token`, { client_id: 'connect-demo', client_secret: 'connect-demo-secret', realm });
    assert.equal(res.status, 200, res.text);
    return res.body.access_token as string;
  };
  const asApp = { client_id: 'acme-reports', client_secret: 'acme-reports-secret' };

  it('introspects its own tenant\'s tokens there', async () => {
    const res = await post(`${issuer('acme')}/introspect`, { token: await tokenOf(ACME_ID), ...asApp });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.active, true);
  });

  it('is an unknown client at another tenant\'s issuer, on either server, and at the platform\'s', async () => {
    for (const [slug, realm] of [['globex', GLOBEX_ID], ['initech', INITECH_ID], [undefined, GLOBEX_ID]] as const) {
      const token = await tokenOf(realm);
      for (const endpoint of ['introspect', 'revoke']) {
        const res = await post(`${issuer(slug)}/${endpoint}`, { token, ...asApp });
        assert.equal(res.status, 401, `${slug ?? 'platform'} ${endpoint}: ${res.text}`);
        assert.equal(res.body.error, 'invalid_client');
      }
      const still = await post(`${issuer()}/introspect`, { token, client_id: 'platform-service', client_secret: 'platform-service-secret' });
      assert.equal(still.body.active, true, `not revoked: ${still.text}`);
    }
  });

  it('has no authorization endpoint at another tenant\'s issuer (an error page, no redirect)', async () => {
    const u = new URL(`${issuer('globex')}/authorize`);
    for (const [k, v] of Object.entries({ response_type: 'code', client_id: 'acme-reports', redirect_uri: APP.redirectUris[0]!, scope: 'openid', state: 's' })) u.searchParams.set(k, v);
    const res = await fetch(u, { redirect: 'manual' });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
  });

  it('has no return address after a sign-out at another tenant\'s issuer (an error page, no redirect)', async () => {
    const u = new URL(`${issuer('globex')}/logout`);
    u.searchParams.set('client_id', 'acme-reports');
    u.searchParams.set('post_logout_redirect_uri', 'http://127.0.0.1:8765/');
    const res = await fetch(u, { redirect: 'manual' });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
    const own = new URL(`${issuer('acme')}/logout`);
    own.search = u.search;
    assert.equal((await fetch(own, { redirect: 'manual' })).status, 302, 'at its own tenant\'s issuer it has');
  });

  it('the config refuses an app that is not GLOBAL and names no tenant, and a GLOBAL one that names some', () => {
    assert.throws(() => loadConfig({ CONFIG_FILE: 'demo.config.json' }, { apps: { 'acme-reports': APP } }), /apps\.acme-reports: an app that is not GLOBAL needs tenants/);
    assert.throws(() => loadConfig({ CONFIG_FILE: 'demo.config.json' }, { apps: { x: { ...APP, global: true, tenants: ['acme'] } } }), /apps\.x: a GLOBAL app is every tenant's/);
  });
});
