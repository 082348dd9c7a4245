/**
 * What a stranger can make the broker keep, and what must outlive it (attack helper round 26,
 * store pressure and races on single-use state), against the real Keycloak:
 * - a flood of sign-ins started from many addresses evicted every sign-in in progress from the
 *   memory store (least recently used first); now the addresses that hold the most lose first;
 * - the chooser's form, posted again and again, kept its sign-in alive for ever;
 * - an approved device's tokens sat in the room a flood evicts;
 * - a device that ignored slow_down still got a poll through at its old interval;
 * - two answers to one device code: the later overwrote the first (whose user saw "Device
 *   connected");
 * - a Deny revoked its tokens at the realm, which ended the user's other devices (round 29).
 */
import assert from 'node:assert/strict';
import { claims, deviceOverrides, post, startBroker, type TestBroker } from '../helpers/broker.js';
import { HttpBrowser } from '../helpers/http-browser.js';
import { KEYCLOAK_URL } from '../helpers/services.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { records } from '../../src/surfaces/platform/transactions.js';

const APP = 'http://127.0.0.1:8765/';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const authorizeUrl = (broker: TestBroker, extra: Record<string, string> = {}) => `${broker.url}/api/v1/platform/oauth/authorize?${new URLSearchParams({
  client_id: 'platform-demo', redirect_uri: `${APP}callback`, response_type: 'code', scope: 'openid',
  code_challenge: 'a'.repeat(43), code_challenge_method: 'S256', ...extra,
})}`;

describe('state a stranger can make, and what must outlive it (round 26)', () => {
  it('a flood of sign-ins from 40 addresses leaves a sign-in in progress at Keycloak\'s login page (memory store)', async () => {
    const store = new MemoryStore({ pendingChars: 1_000_000 });
    const broker = await startBroker({ store, env: { TRUST_PROXY: '1' } });
    try {
      const victim = new HttpBrowser(APP);
      let page = await victim.go(authorizeUrl(broker, { login_hint: 'alice@acme.example', state: 'victim' }));
      assert.ok(page.url.href.startsWith(KEYCLOAK_URL), String(page.url));

      // 40 addresses × 50 sign-ins (within each address's 60 a minute), each with a 4 KiB state:
      // about 9 MB through a room of 1 MB.
      let started = 0;
      for (let a = 0; a < 40; a++) {
        await Promise.all(Array.from({ length: 50 }, async (_, i) => {
          const res = await fetch(authorizeUrl(broker, { state: `${a}-${i}-`.padEnd(4096, 'x') }), { redirect: 'manual', headers: { 'x-forwarded-for': `10.0.0.${a + 1}` } });
          await res.arrayBuffer();
          if (res.status === 302) started++;
        }));
      }
      assert.equal(started, 2000);
      assert.ok(store.sizes().pending <= 1_000_000, `${store.sizes().pending} characters held, within 1,000,000`);

      page = await victim.keycloakLogin(page, 'alice@acme.example', 'alice-pass');
      assert.ok(page.url.href.startsWith(`${APP}callback`), `the sign-in finished: ${page.url} ${page.html.slice(0, 200)}`);
      assert.ok(page.url.searchParams.get('code'));
      assert.equal(page.url.searchParams.get('state'), 'victim');
    } finally {
      await broker.close();
      await store.close();
    }
  });

  it('the chooser posted again keeps its sign-in\'s end: a form cannot keep one alive', async () => {
    const store = new MemoryStore();
    const broker = await startBroker({ store });
    try {
      const browser = new HttpBrowser(APP);
      const page = await browser.go(authorizeUrl(broker, { login_hint: 'dave@shared.example' }));
      assert.match(page.html, /Choose your organisation/);
      const txId = /name="tx" value="([^"]+)"/.exec(page.html)![1]!;
      // The sign-in as it is 597 s after it began: three seconds left.
      const tx = (await records.tx.get(store, txId))!;
      await records.tx.put(store, txId, { ...tx, expiresAt: Date.now() + 3000 }, 3);
      const atRealm = await browser.submit(page, { tenant: 'acme' });
      assert.ok(atRealm.url.href.startsWith(`${KEYCLOAK_URL}/realms/acme/`), String(atRealm.url));
      const ttl = await store.ttl(records.tx.key(txId));
      assert.ok(ttl !== undefined && ttl <= 3, `the transaction lives ${ttl} s more, not a new 600`);
    } finally {
      await broker.close();
      await store.close();
    }
  });

  describe('device answers', () => {
    /** Reads of one device grant answered from a copy taken before: two answers that both read it pending. */
    class StaleDeviceStore extends MemoryStore {
      stale?: { key: string; value: unknown };
      override async get<T>(key: string): Promise<T | undefined> {
        if (this.stale?.key === key) return this.stale.value as T;
        return super.get<T>(key);
      }
    }
    const store = new StaleDeviceStore();
    let broker: TestBroker;
    let oauth: string;
    before(async () => {
      broker = await startBroker({ store, overrides: deviceOverrides() });
      oauth = `${broker.url}/api/v1/platform/oauth`;
    });
    after(async () => {
      await broker.close();
      await store.close();
    });

    const start = async () => (await post(`${oauth}/device/authorize`, { client_id: 'tv-demo' })).body as { device_code: string; user_code: string; verification_uri_complete: string };
    const poll = (deviceCode: string) => post(`${oauth}/token`, { grant_type: DEVICE_GRANT, client_id: 'tv-demo', device_code: deviceCode });
    /** A person signed in on the approval page of `verification`. */
    async function approvalPage(verification: string, user: string) {
      const browser = new HttpBrowser(APP);
      let page = await browser.go(verification);
      page = await browser.submit(page, {});
      page = await browser.submit(page, { email: user });
      page = await browser.keycloakLogin(page, user, `${user.split('@')[0]}-pass`);
      assert.match(page.html, /Allow TV demo app\?/);
      return { browser, page };
    }

    it('an approved device gets its tokens though the pending grant was lost', async () => {
      const d = await start();
      const { browser, page } = await approvalPage(d.verification_uri_complete, 'alice@acme.example');
      assert.match((await browser.submit(page, { action: 'approve' })).html, /Device connected/);
      await store.delete(records.device.key(d.device_code)); // as a flood of the pending room would
      const tokens = await poll(d.device_code);
      assert.equal(tokens.status, 200, tokens.text);
      assert.equal(claims(tokens.body.access_token).preferred_username, 'alice@acme.example');
    });

    it('a device whose user code was lost (a flood of the pending room) is told so, not left waiting', async () => {
      const d = await start();
      assert.equal((await poll(d.device_code)).body.error, 'authorization_pending');
      await store.delete(records.userCode.key(d.user_code.replace('-', ''))); // as the oldest of a flood's room
      await sleep(1100);
      const lost = await poll(d.device_code);
      assert.equal(lost.body.error, 'expired_token', lost.text);
    });

    it('slow_down holds from the too-fast poll on: a device that ignores it gets no poll through', async () => {
      const d = await start();
      assert.equal((await poll(d.device_code)).body.error, 'authorization_pending');
      const fast = await poll(d.device_code);
      assert.equal(fast.body.error, 'slow_down');
      assert.match(fast.body.error_description, /wait 6 s/);
      await sleep(1100); // past the old interval (1 s), not the new one (6 s)
      const again = await poll(d.device_code);
      assert.equal(again.body.error, 'slow_down', 'still too fast');
      assert.match(again.body.error_description, /wait 11 s/);
    });

    it('two answers to one code: the first wins, the second is refused and its tokens dropped', async () => {
      const d = await start();
      const alice = await approvalPage(d.verification_uri_complete, 'alice@acme.example');
      const bob = await approvalPage(d.verification_uri_complete, 'bob@globex.example');
      const bobConsent = /name="consent" value="([^"]+)"/.exec(bob.page.html)![1]!;
      const bobRefresh = String((await records.deviceConsent.get(store, bobConsent))!.tokens.refresh_token);
      // Both answers read the grant as it was before either (as two replicas at one moment).
      const key = records.device.key(d.device_code);
      store.stale = { key, value: await store.get(key) };
      try {
        assert.match((await alice.browser.submit(alice.page, { action: 'approve' })).html, /Device connected/);
        const second = await bob.browser.submit(bob.page, { action: 'approve' });
        assert.equal(second.status, 400, second.html.slice(0, 300));
        assert.match(second.html, /already answered/);
      } finally {
        store.stale = undefined;
      }
      const tokens = await poll(d.device_code);
      assert.equal(tokens.status, 200, tokens.text);
      assert.equal(claims(tokens.body.access_token).preferred_username, 'alice@acme.example', 'the first answer holds');
      // Bob's sign-in for the device is dropped with his consent: nobody holds its tokens.
      assert.equal(await records.deviceConsent.get(store, bobConsent), undefined);
      assert.ok(bobRefresh);
    });

    // Round 29: a Deny (or a losing answer) revoked its held refresh token at the realm, which
    // ended the user's whole realm session: a TV connected before stopped refreshing.
    it('a Deny ends no other device: a TV the user connected before goes on refreshing', async () => {
      const first = await start();
      const { browser, page } = await approvalPage(first.verification_uri_complete, 'alice@acme.example');
      assert.match((await browser.submit(page, { action: 'approve' })).html, /Device connected/);
      await sleep(1100);
      const tv1 = await poll(first.device_code);
      assert.equal(tv1.status, 200, tv1.text);
      const second = await start();
      let page2 = await browser.go(second.verification_uri_complete);
      page2 = await browser.submit(page2, {}); // signed in already: the realm's session answers
      assert.match(page2.html, /Allow TV demo app\?/);
      assert.match((await browser.submit(page2, { action: 'deny' })).html, /Device not connected/);
      const refreshed = await post(`${oauth}/token`, { grant_type: 'refresh_token', client_id: 'tv-demo', refresh_token: tv1.body.refresh_token });
      assert.equal(refreshed.status, 200, refreshed.text);
    });
  });
});
