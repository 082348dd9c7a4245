/**
 * `npm run rp:mod-auth-openidc`: Apache mod_auth_openidc (an OpenID Certified RP, Debian's
 * libapache2-mod-auth-openidc) signs in at the platform issuer, then receives the broker's
 * back-channel logout when the realm ends the session. Not part of the test command (it
 * needs Apache installed and run as a service); run it by hand:
 *
 *   apt-get install -y apache2 libapache2-mod-auth-openidc
 *   npm run rp:mod-auth-openidc        (Keycloak running: npm run keycloak)
 *
 * Exits 0 when the RP's session was ended by the logout token, 1 otherwise. Last run here
 * (mod_auth_openidc 2.4.12.3, Apache 2.4.71): signed in, then ended by the logout token.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import KcAdminClient from '@keycloak/keycloak-admin-client';
import { startBroker } from '../test/helpers/broker.js';
import { HttpBrowser } from '../test/helpers/http-browser.js';
import { ADMIN, KEYCLOAK_URL } from '../test/helpers/services.js';
import demo from '../demo.config.json' with { type: 'json' };

const MODULES = '/usr/lib/apache2/modules';
const PORT = Number(process.env.RP_PORT ?? 18090);
const say = (s: string) => process.stdout.write(`[mod_auth_openidc] ${s}\n`);

if (!existsSync(`${MODULES}/mod_auth_openidc.so`) || !existsSync('/usr/sbin/apache2')) {
  say('needs Apache and mod_auth_openidc: apt-get install -y apache2 libapache2-mod-auth-openidc');
  process.exit(1);
}

const rp = `http://localhost:${PORT}`;
const redirectUri = `${rp}/protected/redirect_uri`;
const app = { ...demo.apps['platform-demo'], redirectUris: [...demo.apps['platform-demo'].redirectUris, redirectUri], backchannelLogoutUri: `${redirectUri}?logout=backchannel` };
const broker = await startBroker({ overrides: { apps: { ...demo.apps, 'platform-demo': app } } });
const admin = new KcAdminClient({ baseUrl: KEYCLOAK_URL, realmName: 'master' });
await admin.auth({ grantType: 'client_credentials', ...ADMIN });
const [client] = await admin.clients.find({ realm: 'acme', clientId: 'platform-demo' });
const attributes = { ...client!.attributes };
await admin.clients.update({ realm: 'acme', id: client!.id! }, { ...client, attributes: { ...attributes, 'backchannel.logout.url': `${broker.url}/api/v1/platform/oauth/backchannel-logout`, 'backchannel.logout.session.required': 'true' } });

const dir = mkdtempSync(join(tmpdir(), 'rb-modauth-'));
chmodSync(dir, 0o755);
mkdirSync(join(dir, 'www', 'protected'), { recursive: true });
writeFileSync(join(dir, 'www', 'protected', 'index.html'), 'hello from behind mod_auth_openidc\n');
const conf = join(dir, 'httpd.conf');
writeFileSync(conf, `ServerName localhost
Listen 127.0.0.1:${PORT}
PidFile ${dir}/httpd.pid
ErrorLog ${dir}/error.log
LogLevel warn auth_openidc:info
User www-data
Group www-data
LoadModule mpm_event_module ${MODULES}/mod_mpm_event.so
LoadModule authz_core_module ${MODULES}/mod_authz_core.so
LoadModule authz_user_module ${MODULES}/mod_authz_user.so
LoadModule authn_core_module ${MODULES}/mod_authn_core.so
LoadModule dir_module ${MODULES}/mod_dir.so
LoadModule auth_openidc_module ${MODULES}/mod_auth_openidc.so
DocumentRoot ${dir}/www
DirectoryIndex index.html
OIDCProviderMetadataURL ${broker.url}/api/v1/platform/oauth/.well-known/openid-configuration
OIDCClientID platform-demo
OIDCProviderTokenEndpointAuth none
OIDCPKCEMethod S256
OIDCRedirectURI ${redirectUri}
OIDCCryptoPassphrase ${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}
OIDCScope "openid email"
OIDCAuthRequestParams login_hint=alice%40acme.example
# The test browser is Node's fetch, which says Sec-Fetch-Mode: cors: sign it in like a browser.
OIDCUnAuthAction auth true
<Location /protected>
  AuthType openid-connect
  Require valid-user
</Location>
`);
let ok = false;
try {
  execFileSync('/usr/sbin/apache2', ['-f', conf, '-k', 'start']);
  for (let i = 0; i < 50; i++) {
    if ((await fetch(`${rp}/`).catch(() => undefined))?.status) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const browser = new HttpBrowser('http://never.example/');
  let page = await browser.go(`${rp}/protected/`);
  page = await browser.keycloakLogin(page, 'alice@acme.example', 'alice-pass');
  say(`signed in through the broker: ${page.status} ${page.html.trim()}`);
  if (!page.html.includes('hello')) throw new Error(`not signed in: ${page.url} ${page.html.slice(0, 300)}`);

  const [alice] = await admin.users.find({ realm: 'acme', username: 'alice@acme.example' });
  await admin.users.logout({ realm: 'acme', id: alice!.id! });
  say('Keycloak ended alice\'s session; waiting for the broker\'s logout token to reach the RP');
  for (let i = 0; i < 50 && !ok; i++) {
    await new Promise((r) => setTimeout(r, 200));
    const again = await fetch(`${rp}/protected/`, { redirect: 'manual', headers: { cookie: [...browser.cookies(`localhost:${PORT}`)].map(([k, v]) => `${k}=${v}`).join('; ') } });
    ok = again.status === 302 && (again.headers.get('location') ?? '').startsWith(broker.url);
  }
  say(ok ? 'the RP session ended: back to the broker\'s authorize (back-channel logout received)' : 'the RP session is still alive');
} catch (err) {
  say(`failed: ${(err as Error).message}`);
} finally {
  spawnSync('/usr/sbin/apache2', ['-f', conf, '-k', 'stop']);
  const log = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '';
  if (!ok) process.stdout.write(log.split('\n').slice(-30).join('\n'));
  await admin.auth({ grantType: 'client_credentials', ...ADMIN });
  await admin.clients.update({ realm: 'acme', id: client!.id! }, { ...client, attributes: { ...attributes, 'backchannel.logout.url': attributes['backchannel.logout.url'] ?? '' } }); // cleared by name: Keycloak keeps attributes left out
  await broker.close();
}
process.exit(ok ? 0 : 1);
