/**
 * Checks the copy at the target against what was exported, before anything switches:
 * the counts of users, clients, realm roles, top-level groups and client scopes, the
 * realm id and attributes, and a sample of users (by id: username, email, a password
 * credential) and of confidential clients (by clientId: internal id and secret).
 * A sample, not everything: enough to catch a wrong or partial copy on any realm size.
 */
import type ClientRepresentation from '@keycloak/keycloak-admin-client/lib/defs/clientRepresentation.js';
import type RealmRepresentation from '@keycloak/keycloak-admin-client/lib/defs/realmRepresentation.js';
import type { AdminSession } from './admin-session.js';

const SAMPLE = 25;
/** Listings page by default: ask for everything. */
const ALL = 1_000_000;

export interface RealmCounts {
  users: number;
  clients: number;
  realmRoles: number;
  groups: number;
  clientScopes: number;
}

const people = (rep: RealmRepresentation) => (rep.users ?? []).filter((u) => !u.serviceAccountClientId);

/** What an export holds (the admin API's user count leaves service-account users out, so do we). */
export function countsOf(rep: RealmRepresentation): RealmCounts {
  return {
    users: people(rep).length,
    clients: rep.clients?.length ?? 0,
    realmRoles: rep.roles?.realm?.length ?? 0,
    groups: rep.groups?.length ?? 0,
    clientScopes: rep.clientScopes?.length ?? 0,
  };
}

/** What a realm on its server holds, counted as countsOf counts an export; and its clients, which the callers look into. */
export async function liveCounts(admin: AdminSession, realm: string): Promise<{ counts: RealmCounts; clients: ClientRepresentation[] }> {
  const [users, clients, roles, groups, scopes] = await Promise.all([
    admin.users.count({ realm }),
    admin.clients.find({ realm, max: ALL }),
    admin.roles.find({ realm, max: ALL } as { realm: string }),
    admin.groups.find({ realm, briefRepresentation: true, max: ALL }),
    admin.clientScopes.find({ realm }),
  ]);
  return { counts: { users, clients: clients.length, realmRoles: roles.length, groups: groups.length, clientScopes: scopes.length }, clients };
}

/** Every n-th element, so the sample spans the whole list. */
function spread<T>(list: T[], n: number): T[] {
  if (list.length <= n) return list;
  const step = list.length / n;
  return Array.from({ length: n }, (_, i) => list[Math.floor(i * step)]!);
}

/** The differences between the target realm and the export; empty when the copy is good. */
export async function verifyCopy(admin: AdminSession, realm: string, want: RealmRepresentation): Promise<string[]> {
  const problems: string[] = [];
  const got = await admin.realms.findOne({ realm });
  if (!got) return [`realm ${realm} is missing at the target`];
  if (got.id !== want.id) problems.push(`realm id ${got.id}, expected ${want.id}`);
  for (const [k, v] of Object.entries(want.attributes ?? {})) {
    if (got.attributes?.[k] !== v) problems.push(`realm attribute ${k} is ${JSON.stringify(got.attributes?.[k])}, expected ${JSON.stringify(v)}`);
  }

  const expected = countsOf(want);
  const { counts: actual, clients } = await liveCounts(admin, realm);
  for (const k of Object.keys(expected) as (keyof RealmCounts)[]) {
    if (actual[k] !== expected[k]) problems.push(`${k}: ${actual[k]} at the target, ${expected[k]} exported`);
  }

  for (const u of spread(people(want), SAMPLE)) {
    const found = await admin.users.findOne({ realm, id: u.id! });
    if (!found) { problems.push(`user ${u.username} (${u.id}) is missing`); continue; }
    if (found.username !== u.username || (found.email ?? '') !== (u.email ?? '')) problems.push(`user ${u.id}: ${found.username}/${found.email}, expected ${u.username}/${u.email}`);
    if (u.credentials?.some((c) => c.type === 'password')) {
      const creds = await admin.users.getCredentials({ realm, id: u.id! });
      if (!creds.some((c) => c.type === 'password')) problems.push(`user ${u.username} has no password at the target`);
    }
  }

  const byClientId = new Map(clients.map((c) => [c.clientId, c]));
  for (const c of spread((want.clients ?? []).filter((x) => !x.publicClient && !x.bearerOnly && x.secret), SAMPLE)) {
    const found = byClientId.get(c.clientId);
    if (!found) { problems.push(`client ${c.clientId} is missing`); continue; }
    if (found.id !== c.id) problems.push(`client ${c.clientId} has id ${found.id}, expected ${c.id}`);
    const secret = await admin.clients.getClientSecret({ realm, id: found.id! });
    if (secret.value !== c.secret) problems.push(`client ${c.clientId}: its secret differs at the target`);
  }
  return problems;
}

/** Calls at once to the target's admin API when every account is compared. */
const ACCOUNT_CALLS = 8;

/**
 * For a copy made earlier and used again (a move back onto the copy a rollback left): every
 * account of the export against the copy, not a sample: whether it is enabled, and when its
 * password was set. A copy reused so was as the source had been at the first move, and the move
 * undid what the source changed since: a user disabled there was enabled again, a new password was
 * the old one again (attack round 51).
 */
export async function verifyAccounts(admin: AdminSession, realm: string, want: RealmRepresentation): Promise<string[]> {
  const problems: string[] = [];
  const listed = await admin.users.find({ realm, max: ALL, briefRepresentation: false });
  const byId = new Map(listed.map((u) => [u.id, u]));
  const wanted = people(want);
  for (let i = 0; i < wanted.length; i += ACCOUNT_CALLS) {
    await Promise.all(wanted.slice(i, i + ACCOUNT_CALLS).map(async (u) => {
      const found = byId.get(u.id);
      if (!found) { problems.push(`user ${u.username} (${u.id}) is missing`); return; }
      if (Boolean(found.enabled) !== Boolean(u.enabled)) problems.push(`user ${u.username} is ${found.enabled ? 'enabled' : 'disabled'} at the target, ${u.enabled ? 'enabled' : 'disabled'} at the source`);
      const password = u.credentials?.find((c) => c.type === 'password');
      const theirs = (await admin.users.getCredentials({ realm, id: u.id! })).find((c) => c.type === 'password');
      if ((password?.createdDate ?? null) !== (theirs?.createdDate ?? null)) problems.push(`user ${u.username}: the password at the target is not the source's`);
    }));
  }
  return problems.sort();
}
