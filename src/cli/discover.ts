/**
 * `discover <email>`: what the platform sign-in does with an address, taking the same path
 * as sign-in.ts continueWithEmail for the configured `platform.emailWithoutDomainRule`. It
 * used the full lookup always, so in "ask" mode it named tenants that the sign-in never
 * offers: there, only the domain rules count, and anything else gets the organisation page
 * (attack helper round 27, L6).
 */
import type { Deps } from '../deps.js';
import { printable } from './printable.js';

export interface Discovered {
  email: string;
  emailWithoutDomainRule: 'lookup' | 'ask';
  /** The tenants the sign-in finds for the address (domain rules alone in "ask" mode). */
  tenants: { slug: string; displayName: string; upstream: string }[];
  /** Where the sign-in goes on: that tenant's realm, the chooser, the default tenant's realm, or the organisation page. */
  next: 'realm' | 'chooser' | 'default-tenant' | 'organisation-page';
}

export async function discover(deps: Pick<Deps, 'config' | 'discovery'>, email: string): Promise<Discovered> {
  const mode = deps.config.platform.emailWithoutDomainRule;
  const found = mode === 'ask' ? await deps.discovery.byDomainRule(email) : await deps.discovery.find(email);
  const tenants = found.map((t) => ({ slug: t.slug, displayName: t.displayName, upstream: t.upstream }));
  // As continueWithEmail: "ask" goes to a realm only when one domain rule holds.
  const next = found.length === 1 ? 'realm'
    : mode === 'ask' ? 'organisation-page'
      : found.length > 1 ? 'chooser' : 'default-tenant';
  return { email, emailWithoutDomainRule: mode, tenants, next };
}

/** The answer in words, for support staff. */
export function inWords(d: Discovered): string {
  const listed = d.tenants.map((t) => `${printable(t.slug)} (${printable(t.displayName)}) on ${printable(t.upstream)}`).join('\n');
  switch (d.next) {
    case 'realm': return `${listed}\n→ the sign-in goes on to its realm`;
    case 'chooser': return `${listed}\n→ the user gets the chooser`;
    case 'default-tenant': return 'no tenant: the sign-in goes on to the default tenant';
    case 'organisation-page': return (listed ? `${listed} (by domain rules)\n` : 'no tenant by a domain rule\n')
      + '→ the organisation page: no single domain rule holds, and in "ask" mode nothing else is looked up';
  }
}
