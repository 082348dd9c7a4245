// Writes realms/server<N>/*.json, the demo tenants of FIXTURES.md, for Keycloak's
// --import-realm: one folder per Keycloak server (scripts/keycloak.sh starts server N with
// the files of realms/serverN). The JSON files are committed (Keycloak and docker-compose
// read them as they are); edit this script and run `node scripts/generate-realms.mjs`.
import fs from 'node:fs';
// The broker's callbacks. The loopback wildcard (any port) lets tests run brokers on
// ephemeral ports; it is for these demo realms only: register exact URIs in production.
const brokerRedirects = ['http://127.0.0.1:3000/*', 'http://localhost:3000/*', 'http://acme.localhost:3000/*', 'http://globex.localhost:3000/*', 'http://initech.localhost:3000/*', 'http://127.0.0.1:*'];
// Keycloak 26 introspects a token only for a client in its audience: the broker's own
// client introspects every tenant token, so every client's tokens name it.
const brokerAudience = {
  name: 'realm-broker audience', protocol: 'openid-connect', protocolMapper: 'oidc-audience-mapper',
  config: { 'included.client.audience': 'realm-broker', 'access.token.claim': 'true', 'introspection.token.claim': 'true', 'id.token.claim': 'false' },
};
// Standard token exchange requires the requesting client in the subject token's audience.
const exchangeAudience = {
  ...brokerAudience, name: 'exchange-demo audience',
  config: { ...brokerAudience.config, 'included.client.audience': 'exchange-demo' },
};
const user = (email) => ({
  username: email, email, emailVerified: true, enabled: true,
  firstName: email.split('@')[0].replace(/^./, c => c.toUpperCase()), lastName: 'Demo',
  credentials: [{ type: 'password', value: `${email.split('@')[0]}-pass`, temporary: false }],
});
function realm({ id, name, displayName, domains, passwordGrant, users, extraClients = [] }) {
  return {
    id, realm: name, displayName, enabled: true, sslRequired: 'external',
    registrationAllowed: false, loginWithEmailAllowed: true, duplicateEmailsAllowed: false,
    bruteForceProtected: true, failureFactor: 30,
    accessTokenLifespan: 300, ssoSessionIdleTimeout: 1800, revokeRefreshToken: false,
    attributes: {
      'realm-broker.email-domains': domains.join(','),
      'realm-broker.features.auth.password_grant_enabled': String(passwordGrant),
    },
    users: users.map(user),
    clients: clients(extraClients),
  };
}
function clients(extraClients) {
  return [
      {
        clientId: 'connect-demo', name: 'Connect demo service', enabled: true, protocol: 'openid-connect',
        publicClient: false, clientAuthenticatorType: 'client-secret', secret: 'connect-demo-secret',
        serviceAccountsEnabled: true, standardFlowEnabled: false, directAccessGrantsEnabled: false,
      },
      {
        clientId: 'realm-broker', name: 'realm-broker', enabled: true, protocol: 'openid-connect',
        publicClient: false, clientAuthenticatorType: 'client-secret', secret: 'realm-broker-secret',
        serviceAccountsEnabled: false, standardFlowEnabled: true, directAccessGrantsEnabled: true,
        redirectUris: brokerRedirects, webOrigins: ['+'],
        attributes: {
          'standard.token.exchange.enabled': 'true',
          'standard.token.exchange.enableRefreshRequestedTokenType': 'SAME_SESSION',
          'post.logout.redirect.uris': '+',
        },
      },
      {
        clientId: 'platform-demo', name: 'Platform demo app', enabled: true, protocol: 'openid-connect',
        publicClient: true, standardFlowEnabled: true, directAccessGrantsEnabled: false,
        redirectUris: brokerRedirects, webOrigins: ['+'],
        attributes: { 'pkce.code.challenge.method': 'S256', 'post.logout.redirect.uris': '+' },
      },
      {
        // Device flow. Standard flow too, but only towards the broker's callbacks: the broker
        // obtains the device's tokens with the approving user's realm session (see README).
        clientId: 'tv-demo', name: 'TV demo app', enabled: true, protocol: 'openid-connect',
        publicClient: true, standardFlowEnabled: true, directAccessGrantsEnabled: false,
        redirectUris: brokerRedirects,
        attributes: { 'oauth2.device.authorization.grant.enabled': 'true', 'pkce.code.challenge.method': 'S256' },
      },
      {
        // Standard token exchange (RFC 8693, Keycloak 26.2+): confidential and enabled for it.
        clientId: 'exchange-demo', name: 'Token exchange demo service', enabled: true, protocol: 'openid-connect',
        publicClient: false, clientAuthenticatorType: 'client-secret', secret: 'exchange-demo-secret',
        serviceAccountsEnabled: false, standardFlowEnabled: false, directAccessGrantsEnabled: false,
        attributes: {
          'standard.token.exchange.enabled': 'true',
          'standard.token.exchange.enableRefreshRequestedTokenType': 'SAME_SESSION',
        },
      },
      ...extraClients,
    ].map((c) => ({ ...c, protocolMappers: [brokerAudience, exchangeAudience] }));
}
const acme = realm({
  id: '19340612-d99f-40e7-8f15-76f059339aba', name: 'acme', displayName: 'Acme',
  domains: ['acme.example'], passwordGrant: true,
  users: ['alice@acme.example', 'dave@shared.example'],
  extraClients: [{
    clientId: 'platform-service', name: 'Platform service', enabled: true, protocol: 'openid-connect',
    publicClient: false, clientAuthenticatorType: 'client-secret', secret: 'platform-service-secret',
    serviceAccountsEnabled: true, standardFlowEnabled: false, directAccessGrantsEnabled: false,
  }],
});
const globex = realm({
  id: 'a1f870e0-c3da-48ee-815c-a1c8352270a0', name: 'globex', displayName: 'Globex',
  domains: ['globex.example'], passwordGrant: false,
  users: ['bob@globex.example', 'carol@contractor.example', 'dave@shared.example'],
});
// On server 2 only: the demo of one API over two Keycloak servers.
const initech = realm({
  id: '7d5a4a0e-3f62-4c1b-9e8f-2b6c5d1e0f47', name: 'initech', displayName: 'Initech',
  domains: ['initech.example'], passwordGrant: false,
  users: ['erin@initech.example', 'frank@contractor.example', 'dave@shared.example'],
});
const servers = { server1: [acme, globex], server2: [initech] };
for (const [server, realms] of Object.entries(servers)) {
  fs.mkdirSync(`realms/${server}`, { recursive: true });
  for (const r of realms) fs.writeFileSync(`realms/${server}/${r.realm}-realm.json`, JSON.stringify(r, null, 2) + '\n');
}
