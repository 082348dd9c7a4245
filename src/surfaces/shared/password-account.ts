/**
 * Which account a password attempt is a guess at, for the per-user limit (password-grant.ts).
 * Keycloak signs a user in by username or by email (an address with '@' is looked up as an
 * email first, then as a username, as Keycloak's own login does; as a username only in a realm
 * that has "login with email" off, so that there an address names no one), so counting attempts by the
 * name typed gave each account one allowance per spelling. The name is resolved to the
 * account's id through the admin API instead, and the id is what is counted.
 *
 * A name that matches no account (or several) is counted as typed, under a key of its own kind
 * (`name:`), which no account's key can be: no account's allowance is at stake. (Both kinds
 * shared one key space, and the name `account:<id>` was that account's key: five made-up
 * passwords under it locked the user out, with nothing at Keycloak; attack helper round 24.) If the admin API cannot be reached, the name as typed is counted too, so that a
 * sign-in never waits on the admin API being up; a search that does not answer in time ends
 * the attempt (504), counted. Answers are kept per process for a few
 * minutes (an account's id does not change; a new account or a new email for a name shows
 * within that time), bounded in number.
 */
import { LRUCache } from 'lru-cache';
import type { Deps } from '../../deps.js';
import { BrokerError } from '../../errors.js';
import { digestKey } from '../../store/digest-key.js';
import type { Tenant } from '../../tenancy/tenant.js';

const KEEP_MS = 5 * 60_000;
/** '' for a name that is no one account's. */
const resolved = new LRUCache<string, string>({ max: 10_000, ttl: KEEP_MS });

/** The per-user limit's key for an attempt at `tenant` with the name `typed`. */
export async function passwordAccountKey(deps: Pick<Deps, 'upstreams'>, tenant: Tenant, typed: string): Promise<string> {
  // Keycloak keeps usernames and emails lower-case and matches any letter case. Spaces around a
  // name are trimmed, as the grant sends it (password-grant.ts).
  const name = typed.trim().toLowerCase();
  // By the realm's id, not its name, which its admin can give to another realm (digest-key.ts).
  const cacheKey = digestKey(tenant.upstream, tenant.id.toLowerCase(), name);
  let id = resolved.get(cacheKey);
  if (id === undefined) {
    try {
      id = await accountIdOf(deps, tenant, name);
      resolved.set(cacheKey, id);
    } catch (err) {
      // A search with no answer in time (its budget, admin-connector.ts): the realm's user
      // federation stalls, and the grant would stall there too, holding a Keycloak worker
      // each: the attempt ends here and counts (an attack of 2026-12-06 ran out the server's
      // workers so, for every realm on it).
      if (err instanceof BrokerError && err.code === 'upstream_timeout') throw err;
      id = ''; // the admin API could not be reached: counted by the name as typed, not remembered
    }
  }
  return id ? `${tenant.slug}:account:${id}` : `${tenant.slug}:name:${name}`;
}

async function accountIdOf(deps: Pick<Deps, 'upstreams'>, tenant: Tenant, name: string): Promise<string> {
  const admin = deps.upstreams.get(tenant.upstream).admin;
  const only = (users: { id?: string }[]) => (users.length === 1 && users[0]!.id) || '';
  if (name.includes('@') && tenant.features.loginWithEmail !== false) {
    const byEmail = only(await admin.findUsersByEmail(tenant.realm, name));
    if (byEmail) return byEmail;
  }
  return only(await admin.findUsersByUsername(tenant.realm, name));
}
