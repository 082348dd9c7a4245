/**
 * The tenant chooser, when display names read alike (found in an attack, 2026-12-06): a
 * realm's admin set their realm's display name to another tenant's ("Acme") and made a user
 * with one of its users' addresses, so that user's chooser showed two "Acme" buttons, one
 * for the attacker's realm. Buttons that read alike now carry their slug.
 */
import assert from 'node:assert/strict';
import { startBroker } from '../helpers/broker.js';
import { HttpBrowser } from '../helpers/http-browser.js';

const APP = 'http://127.0.0.1:8765/';

describe('the tenant chooser', () => {
  it('gives buttons whose display names read alike their slug, so that none passes for another tenant\'s', async () => {
    // dave is in acme, globex and initech; globex's display name copies acme's, in another case and spacing
    // (config stands in for what globex's realm admin would set).
    const broker = await startBroker({ overrides: { tenants: { acme: { displayName: 'Acme' }, globex: { displayName: ' ACME ' }, initech: { displayName: 'Ac\u200bme\u200f' } } } });
    try {
      const page = await new HttpBrowser(APP).go(`${broker.url}/api/v1/platform/oauth/authorize?${new URLSearchParams({
        client_id: 'platform-demo', redirect_uri: `${APP}callback`, response_type: 'code', scope: 'openid',
        code_challenge: 'a'.repeat(43), code_challenge_method: 'S256', login_hint: 'dave@shared.example',
      })}`);
      assert.match(page.html, /Choose your organisation/);
      const labels = [...page.html.matchAll(/<button type="submit" name="tenant" value="([^"]+)">([^<]+)<\/button>/g)].map((m) => [m[1], m[2]]);
      // initech's reads alike too, with invisible characters in it (a zero-width space, a right-to-left mark).
      assert.deepEqual(labels.sort(), [['acme', 'Acme (acme)'], ['globex', ' ACME  (globex)'], ['initech', 'Ac\u200bme\u200f (initech)']].sort());
    } finally {
      await broker.close();
    }
  });
});
