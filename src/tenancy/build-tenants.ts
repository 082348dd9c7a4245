/**
 * Turns what the upstreams report (their realms) plus the config's overrides into the
 * tenant list. Pure, so the mapping rules are testable without a server:
 * - every realm (master and ignored ones aside) is the tenant of the same name;
 * - an override may point a slug at another realm or upstream (a migration), by name or
 *   by id (then whatever the realm is named now): that realm no longer stands as a
 *   tenant of its own name;
 * - a tenant's former realms (whose UUIDs and tokens still name it) are, by server and id,
 *   the one a migration's home says it moved from, and the one realm carrying each id config
 *   lists (`formerRealmIds`); a copy with its own id elsewhere is not one by its id alone;
 * - one tenant per realm id (withoutSharedIds);
 * - two realms of one name on two upstreams and no override: copies of one realm (same
 *   id) go to the first upstream; realms of different ids go to the one that served the
 *   slug until now (`previous`) when it was established there, or to none;
 * - while the realm that served a slug is missing from the lists, no realm of another id
 *   takes the slug: not while its server cannot be read, nor, for an established home,
 *   for `hold.holdMs` after it was last seen (deleted and restored, renamed away).
 *
 * Why names alone decide so little: a realm's name is its admin's to change (Keycloak lets
 * a realm admin rename their realm), and a tenant admin is not trusted with another
 * tenant. A realm renamed to another tenant's slug must neither take that tenant over by
 * upstream order nor become its alias (found in an attack, 2026-12-06).
 */
import type { Config } from '../config/schema.js';
import { established, type StandingHome, type StandingRules } from './standing-realms.js';
import { findHome } from './tenant-homes.js';
import { ATTR_EMAIL_DOMAINS, ATTR_PASSWORD_GRANT, sameRealm, type RealmEntry, type RealmRef, type Tenant } from './tenant.js';

/** Which realm served each slug until now (standing-realms.ts). */
export type PreviousHomes = ReadonlyMap<string, StandingHome>;

/** The standing rules' durations, at `now`. */
export interface Hold extends StandingRules {
  now: number;
}

/**
 * Email domains a realm's attribute may give its tenant. Its admin writes the attribute: a
 * bound keeps what every replica builds, indexes and records on each refresh small (an
 * attack set 200,000 and stalled every replica's event loop for half a second a refresh).
 */
const MAX_REALM_DOMAINS = 100;
/**
 * A host name as DNS writes it without its root: letters, digits and inner hyphens in labels of
 * 1–63, two labels at least, no empty label and no dot at either end. `globex.example.` is
 * `globex.example` to DNS and to mail, but another string to every comparison here: an
 * attack had a realm claim it beside globex's and get its users' addresses vouched for.
 */
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DOMAIN = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})+$`);

function realmDomains(r: RealmEntry, warnings: string[]): string[] {
  const listed = (r.attributes[ATTR_EMAIL_DOMAINS] ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const domains = [...new Set(listed.filter((d) => DOMAIN.test(d)))];
  if (domains.length > MAX_REALM_DOMAINS) warnings.push(`realm ${r.realm} on ${r.upstream} lists ${domains.length} email domains: the first ${MAX_REALM_DOMAINS} are used`);
  return domains.slice(0, MAX_REALM_DOMAINS);
}

export function buildTenants(realms: RealmEntry[], overrides: Config['tenants'], upstreamOrder: string[], previous: PreviousHomes = new Map(), unavailable: ReadonlySet<string> = new Set(), hold: Hold = { now: 0, holdMs: 0, establishMs: 0 }): { tenants: Tenant[]; warnings: string[] } {
  const warnings: string[] = [];
  const key = (upstream: string, realm: string) => `${upstream}\u0000${realm}`;
  const byKey = new Map(realms.map((r) => [key(r.upstream, r.realm), r]));
  const claimed = new Map<string, string>(); // realm key → slug

  for (const [slug, o] of Object.entries(overrides)) {
    if (!pinned(o)) continue;
    const upstream = o.upstream ?? upstreamOrder[0]!;
    const name = o.realm ?? slug;
    // By id when the override gives one: the realm follows its renames, and another realm
    // renamed to the name it had takes nothing (attack helper round 23).
    const r = findHome(realms, { upstream, realm: name, id: o.realmId });
    if (!r) {
      warnings.push(`tenant ${slug}: realm ${o.realmId ? `of id ${o.realmId}` : name} not found on upstream ${upstream}`);
      continue;
    }
    if (o.realmId && o.realm && r.realm !== o.realm) warnings.push(`tenant ${slug}: its realm ${o.realm} (id ${r.id}) on ${upstream} is named ${r.realm} now; it serves on from there`);
    claimed.set(key(r.upstream, r.realm), slug);
  }
  // The realms standing under their own name, by name, in upstream order.
  const ordered = [...realms].sort((a, b) => upstreamOrder.indexOf(a.upstream) - upstreamOrder.indexOf(b.upstream));
  const byName = new Map<string, RealmEntry[]>();
  for (const r of ordered) {
    if (claimed.has(key(r.upstream, r.realm))) continue;
    const o = overrides[r.realm];
    if (o && pinned(o)) continue; // this slug is served by another realm
    const same = byName.get(r.realm);
    if (same) same.push(r);
    else byName.set(r.realm, [r]);
  }
  for (const [slug, candidates] of byName) {
    const home = standingRealm(slug, candidates, previous.get(slug), unavailable, hold, warnings);
    if (home) claimed.set(key(home.upstream, home.realm), slug);
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
      emailDomains: o.emailDomains ?? realmDomains(r, warnings),
      ...(o.emailDomains ? { emailDomainsFromConfig: true } : {}),
      features: { passwordGrantEnabled: passwordGrant, loginWithEmail: r.loginWithEmail !== false },
      aliasIds: (o.formerRealmIds ?? []).filter((id) => id.toLowerCase() !== r.id.toLowerCase()),
      formerRealms: formerRealmsOf(slug, r, o, realms, warnings),
      ...(o.movedFrom?.at ? { movedAt: Date.parse(o.movedFrom.at) } : {}),
    });
  }
  const unique = withoutSharedIds(tenants, overrides, previous, unavailable, hold, warnings);
  return { tenants: withoutContestedDomains(unique, overrides, warnings, (slug, id) => {
    const home = previous.get(slug);
    return home && home.id === id && established(home, hold) ? home.domains ?? [] : [];
  }), warnings };
}

/**
 * One tenant per realm id. A realm id is unique on its server only: a realm created (or
 * imported) on another server may carry any tenant's id, under a name of its own, and was served
 * as a second tenant with that id: the connect API's `realm=<uuid>` (passwords included) and
 * every by-id lookup went to it, and the platform issuer's `sub` (`<tenant_id>:<user id>`) was
 * the same for its users as for the tenant's (attack round 33, 2026-12-07). A migration's copy
 * under another name (`--to eu/acme-2026`) is one too, until its switch. So of the tenants that
 * carry an id (their own, or another's former realm id: `formerRealmIds`):
 * - the one config or a migration homed there explicitly keeps it;
 * - else the realm on the server where the standing record says the id has stood longest
 *   (established, the earliest `since`): a realm made with its id elsewhere takes nothing, even while the holder's realm is
 *   missing from the lists (its server unreadable, or gone for less than the hold) and even once
 *   the newcomer is established in turn (round 34: a copy served while acme's server was down
 *   would have held the id from then on);
 * - else, with no history, the only one; of several, none, and the operator is told.
 */
function withoutSharedIds(tenants: Tenant[], overrides: Config['tenants'], previous: PreviousHomes, unavailable: ReadonlySet<string>, hold: Hold, warnings: string[]): Tenant[] {
  const byId = new Map<string, Tenant[]>();
  for (const t of tenants) for (const id of [t.id, ...t.aliasIds]) {
    const key = id.toLowerCase();
    byId.set(key, [...(byId.get(key) ?? []), t]);
  }
  // Per id, the established standing entry that has stood longest: read once, not per id.
  const holders = new Map<string, [string, StandingHome]>();
  for (const [slug, h] of previous) {
    const key = h.id.toLowerCase();
    const best = holders.get(key);
    if (established(h, hold) && (!best || (h.since ?? 0) < (best[1].since ?? 0))) holders.set(key, [slug, h]);
  }
  const where = (t: Tenant) => `${t.slug} (${t.upstream}/${t.realm})`;
  const dropped = new Set<Tenant>();
  for (const [id, sharing] of byId) {
    // A tenant that names the id as a former realm's (config) says explicitly whose it is.
    const explicit = sharing.filter((t) => pinned(overrides[t.slug] ?? {}) || t.aliasIds.some((a) => a.toLowerCase() === id));
    let keeper: Tenant | undefined;
    if (explicit.length) {
      keeper = explicit.length === 1 ? explicit[0] : undefined;
    } else {
      const held = holders.get(id);
      // The holder's realm is the one on its server (under any name: a realm's admin may rename it).
      keeper = held && sharing.find((t) => t.upstream === held[1].upstream);
      // The holder's realm missing for now (its server unreadable, or gone for less than the hold).
      if (!keeper && held && (unavailable.has(held[1].upstream) || hold.now - held[1].seen < hold.holdMs)) {
        warnings.push(`realm id ${id} is carried by ${sharing.map(where).join(', ')}, while tenant ${held[0]}, which holds it, is missing from ${held[1].upstream}: not served with it`);
        for (const t of sharing) dropped.add(t);
        continue;
      }
      keeper ??= sharing.length === 1 ? sharing[0] : undefined;
    }
    if (sharing.length === 1 && keeper) continue;
    warnings.push(keeper
      ? `realm id ${id} is carried by ${sharing.filter((t) => t !== keeper).map(where).join(', ')} as well as ${where(keeper)}: only ${keeper.slug} is served with it`
      : `realm id ${id} is carried by ${sharing.map(where).join(', ')}: none of them is served until the config names one (tenants.<slug>.upstream and realmId)`);
    for (const t of sharing) if (t !== keeper) dropped.add(t);
  }
  return dropped.size ? tenants.filter((t) => !dropped.has(t)) : tenants;
}

/**
 * The realms a tenant moved from, whose tokens stay its own: the one a migration's home or the
 * config names (`movedFrom`, server and id), and for each former id config lists (`formerRealmIds`) the one realm that
 * carries it. An id is unique on its server only: a former id that realms of several servers
 * carry names none of them (a realm made with it elsewhere would otherwise be the tenant's).
 */
function formerRealmsOf(slug: string, current: RealmEntry, o: Config['tenants'][string], realms: RealmEntry[], warnings: string[]): RealmRef[] {
  const former: RealmRef[] = [];
  const add = (ref: RealmRef) => {
    if (!sameRealm(ref, current) && !former.some((f) => sameRealm(f, ref))) former.push({ upstream: ref.upstream, id: ref.id });
  };
  if (o.movedFrom) add({ upstream: o.movedFrom.upstream, id: o.movedFrom.realmId });
  for (const id of o.formerRealmIds ?? []) {
    if (id.toLowerCase() === current.id.toLowerCase()) continue;
    const carriers = realms.filter((r) => r.id.toLowerCase() === id.toLowerCase());
    if (carriers.length === 1) add(carriers[0]!);
    else if (carriers.length > 1) warnings.push(`tenant ${slug}: its former realm id ${id} is carried on ${carriers.map((r) => `${r.upstream}/${r.realm}`).join(', ')}: none of them is taken for its former realm`);
  }
  return former;
}

/** An override that says which realm serves its slug (else the realm of the slug's name does). */
const pinned = (o: Config['tenants'][string]) => Boolean(o.realm || o.upstream || o.realmId);

/** Which of the realms named `slug` serves it, if any. */
function standingRealm(slug: string, candidates: RealmEntry[], previous: StandingHome | undefined, unavailable: ReadonlySet<string>, hold: Hold, warnings: string[]): RealmEntry | undefined {
  const first = candidates[0]!;
  const where = (r: { upstream: string; id: string }) => `${r.upstream} (id ${r.id})`;
  const settled = previous !== undefined && established(previous, hold);
  const kept = previous && candidates.find((r) => r.upstream === previous.upstream && r.id === previous.id);
  if (kept) {
    const others = candidates.filter((r) => r.id !== kept.id);
    if (!others.length) return kept;
    if (settled) {
      warnings.push(`tenant ${slug}: ignoring realms of another id that took its name, on ${others.map(where).join(', ')}; it stays on ${where(kept)}`);
      return kept;
    }
  } else if (previous && (unavailable.has(previous.upstream) || (settled && hold.now - previous.seen < hold.holdMs))) {
    // Its realm is missing for now: its server unreadable, or the realm gone since `seen`.
    const until = unavailable.has(previous.upstream) ? 'while its server cannot be read' : `before ${new Date(previous.seen + hold.holdMs).toISOString()}`;
    warnings.push(`tenant ${slug}: its realm ${where(previous)} is not in the lists; not served from ${candidates.map(where).join(', ')} ${until} unless the config names one (tenants.${slug}.upstream)`);
    return undefined;
  } else if (candidates.length === 1) {
    return first;
  } else if (candidates.every((r) => r.id === first.id)) {
    // Copies of one realm (a migration's, before its switch): the first upstream serves it.
    warnings.push(`realm ${slug} on ${candidates.slice(1).map((r) => r.upstream).join(', ')} is shadowed by an earlier upstream`);
    return first;
  }
  warnings.push(`tenant ${slug}: realms of different ids carry this name, on ${candidates.map(where).join(', ')}; none serves it until the config names one (tenants.${slug}.upstream)`);
  return undefined;
}

/**
 * A realm's admin sets its `email-domains` attribute; nothing stops them from naming
 * another tenant's domain (to appear in its users' chooser, or to receive the sign-ins of
 * a domain that has no rule yet). Domains from the broker's own config are authoritative;
 * a domain that realm attributes of two tenants claim goes to the one whose established
 * home routed it already (standing-realms.ts: a newcomer's claim takes nothing), else to
 * neither (the exact-email lookup still finds the users), and the operator is told.
 */
function withoutContestedDomains(tenants: Tenant[], overrides: Config['tenants'], warnings: string[], routedBefore: (slug: string, id: string) => string[]): Tenant[] {
  const fromConfig = new Map<string, string>();
  for (const [slug, o] of Object.entries(overrides)) for (const d of o.emailDomains ?? []) fromConfig.set(d, slug);
  const claims = new Map<string, string[]>();
  for (const t of tenants) for (const d of t.emailDomains) claims.set(d, [...(claims.get(d) ?? []), t.slug]);
  const dropped = new Set<string>();
  const keeper = new Map<string, string>();
  for (const [domain, slugs] of claims) {
    if (slugs.length < 2) continue;
    dropped.add(domain);
    if (fromConfig.has(domain)) {
      warnings.push(`email domain ${domain} is claimed by ${slugs.join(', ')}: config gives it to ${fromConfig.get(domain)}`);
      continue;
    }
    const holders = slugs.filter((slug) => routedBefore(slug, tenants.find((t) => t.slug === slug)!.id).includes(domain));
    if (holders.length === 1) keeper.set(domain, holders[0]!);
    warnings.push(`email domain ${domain} is claimed by ${slugs.join(', ')}: ${holders.length === 1 ? `it stays with ${holders[0]}, which routed it first` : 'it routes to none of them'}`);
  }
  return tenants.map((t) => {
    const emailDomains = t.emailDomains.filter((d) => !dropped.has(d) || (fromConfig.get(d) ?? keeper.get(d)) === t.slug);
    return emailDomains.length === t.emailDomains.length ? t : { ...t, emailDomains };
  });
}
