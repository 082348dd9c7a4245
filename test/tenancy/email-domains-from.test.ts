/**
 * `emailDomainsFrom: "config"`: tenants' email domains from config only, the realms'
 * `realm-broker.email-domains` attributes ignored. For an operator who does not trust every
 * realm's admin with the domains their realm answers for: an attack on 2026-12-06 listed a
 * domain no tenant held (contractor.example, where carol of globex and frank of initech have
 * addresses) in its own realm's attribute, took those addresses' platform sign-ins and had its
 * own users' addresses there vouched for. Against the demo realms on both servers.
 */
import assert from 'node:assert/strict';
import { startBroker } from '../helpers/broker.js';

describe('where tenants\' email domains come from (emailDomainsFrom)', function () {
  this.timeout(60_000);

  const domainsOf = async (overrides: Record<string, unknown>) => {
    const broker = await startBroker({ overrides });
    try {
      const slugs = ['acme', 'globex', 'initech'];
      const tenants = await Promise.all(slugs.map((s) => broker.deps.tenants.bySlug(s)));
      return Object.fromEntries(slugs.map((s, i) => [s, tenants[i]!.emailDomains]));
    } finally {
      await broker.close();
    }
  };

  it('by default from the realms\' attributes (and config); with "config", from config only', async () => {
    const fromRealms = await domainsOf({});
    assert.deepEqual(fromRealms.acme, ['acme.example'], 'the demo realm\'s attribute');
    const fromConfig = await domainsOf({ emailDomainsFrom: 'config', tenants: { globex: { emailDomains: ['globex.example'] } } });
    assert.deepEqual(fromConfig, { acme: [], globex: ['globex.example'], initech: [] });
  });
});
