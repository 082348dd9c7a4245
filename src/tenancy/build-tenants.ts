/**
 * Turns what the upstreams report (their realms) plus the config's overrides into the
 * tenant list. Pure, so the mapping rules are testable without a server:
 * - every realm (master and ignored ones aside) is the tenant of the same name;
 * - an override may point a slug at another realm or upstream (a migration): the
 *   realm it names no longer stands as a tenant of its own name, and other realms
 *   that carried the slug's name become its aliases (their UUIDs still resolve);
 * - with two realms of one name on two upstreams and no override, the first upstream wins.
 */
import type { Config } from '../config/schema.js';
import { ATTR_EMAIL_DOMAINS, ATTR_PASSWORD_GRANT, type RealmEntry, type Tenant } from './tenant.js';

function splitList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
}

export function buildTenants(realms: RealmEntry[], overrides: Config['tenants'], upstreamOrder: string[]): { tenants: Tenant[]; warnings: string[] } {
  const warnings: string[] = [];
  const key = (upstream: string, realm: string) => `${upstream}\u0000${realm}`;
  const byKey = new Map(realms.map((r) => [key(r.upstream, r.realm), r]));
  const claimed = new Map<string, string>(); // realm key → slug

  for (const [slug, o] of Object.entries(overrides)) {
    if (!o.realm && !o.upstream) continue;
    const upstream = o.upstream ?? upstreamOrder[0]!;
    const k = key(upstream, o.realm ?? slug);
    if (byKey.has(k)) claimed.set(k, slug);
    else warnings.push(`tenant ${slug}: realm ${o.realm ?? slug} not found on upstream ${upstream}`);
  }
  const ordered = [...realms].sort((a, b) => upstreamOrder.indexOf(a.upstream) - upstreamOrder.indexOf(b.upstream));
  for (const r of ordered) {
    const k = key(r.upstream, r.realm);
    if (claimed.has(k)) continue;
    const o = overrides[r.realm];
    if (o && (o.realm || o.upstream)) continue; // this slug is served by another realm
    if ([...claimed.values()].includes(r.realm)) {
      warnings.push(`realm ${r.realm} on ${r.upstream} is shadowed by an earlier upstream`);
      continue;
    }
    claimed.set(k, r.realm);
  }

  const tenants: Tenant[] = [];
  for (const [k, slug] of claimed) {
    const r = byKey.get(k)!;
    const o = overrides[slug] ?? {};
    const passwordGrant = o.features?.auth?.password_grant_enabled ?? r.attributes[ATTR_PASSWORD_GRANT] === 'true';
    tenants.push({
      id: r.id,
      slug,
      realm: r.realm,
      upstream: r.upstream,
      issuer: r.issuer,
      displayName: o.displayName ?? r.displayName,
      emailDomains: o.emailDomains ?? splitList(r.attributes[ATTR_EMAIL_DOMAINS]),
      features: { passwordGrantEnabled: passwordGrant },
      aliasIds: realms.filter((x) => x.realm === slug && x.id !== r.id).map((x) => x.id),
    });
  }
  return { tenants: withoutContestedDomains(tenants, overrides, warnings), warnings };
}

/**
 * A realm's admin sets its `email-domains` attribute; nothing stops them from naming
 * another tenant's domain (to appear in its users' chooser, or to receive the sign-ins of
 * a domain that has no rule yet). Domains from the broker's own config are authoritative;
 * a domain that realm attributes of two tenants claim routes to neither (the exact-email
 * lookup still finds the users), and the operator is told.
 */
function withoutContestedDomains(tenants: Tenant[], overrides: Config['tenants'], warnings: string[]): Tenant[] {
  const fromConfig = new Map<string, string>();
  for (const [slug, o] of Object.entries(overrides)) for (const d of o.emailDomains ?? []) fromConfig.set(d, slug);
  const claims = new Map<string, string[]>();
  for (const t of tenants) for (const d of t.emailDomains) claims.set(d, [...(claims.get(d) ?? []), t.slug]);
  const dropped = new Set<string>();
  for (const [domain, slugs] of claims) {
    if (slugs.length < 2) continue;
    warnings.push(`email domain ${domain} is claimed by ${slugs.join(', ')}: ${fromConfig.has(domain) ? `config gives it to ${fromConfig.get(domain)}` : 'it routes to none of them'}`);
    dropped.add(domain);
  }
  return tenants.map((t) => {
    const emailDomains = t.emailDomains.filter((d) => !dropped.has(d) || fromConfig.get(d) === t.slug);
    return emailDomains.length === t.emailDomains.length ? t : { ...t, emailDomains };
  });
}
