/**
 * An export file against the live realm it was exported from, before anything is written.
 * A real run verifies the copy against the file, so a file that is empty, partial or
 * stale would pass its own check and switch the tenant to a realm missing users or clients
 * (attack helper round 27, F3). The counts that matter, and the broker's own realm
 * attributes (`realm-broker.*`: email domains, features), are compared with the live source.
 */
import type RealmRepresentation from '@keycloak/keycloak-admin-client/lib/defs/realmRepresentation.js';
import type { AdminSession } from './admin-session.js';
import { countsOf, liveCounts, type RealmCounts } from './verify-copy.js';

/** The compared counts; a file short of users or clients is refused (unless --force), of realm roles only reported. */
const COMPARED: (keyof RealmCounts)[] = ['users', 'clients', 'realmRoles'];
const REFUSED_WHEN_FEWER = new Set<keyof RealmCounts>(['users', 'clients']);
const BROKER_ATTRIBUTE = /^realm-broker\./;

export interface SourceComparison {
  /** Every difference, one line each, for the operator. */
  differences: string[];
  /** The differences where the file holds fewer users or clients than the live realm. */
  fewer: string[];
}

/** Users are listed a page at a time: a realm may hold many. */
const PAGE = 500;
/** Identities named in one message line at most. */
const NAMED = 5;

const named = (list: string[]) => `${list.slice(0, NAMED).join(', ')}${list.length > NAMED ? `, … (${list.length})` : ''}`;

/** Every user of the live realm: id → username and email (service accounts left out, as countsOf does). */
async function liveUsers(admin: AdminSession, realm: string): Promise<Map<string, string>> {
  const users = new Map<string, string>();
  for (let first = 0; ; first += PAGE) {
    const page = await admin.users.find({ realm, first, max: PAGE, briefRepresentation: true });
    for (const u of page) if (u.id && !u.serviceAccountClientId) users.set(u.id, `${u.username}/${u.email ?? ''}`);
    if (page.length < PAGE) return users;
  }
}

/**
 * The identities, not only their number (round 28: a file with alice replaced by an account of
 * the attacker's, same count, "matched the live source"): every live user by id with the same
 * username and email, no user the live realm does not have, and the same client ids. Password
 * hashes cannot be compared (the admin API never hands them out): the file's are what the users
 * get, so it is to be kept as safe as a database dump.
 */
function identities(file: RealmRepresentation, users: Map<string, string>, clientIds: Set<string>): string[] {
  const problems: string[] = [];
  const inFile = new Map((file.users ?? []).filter((u) => !u.serviceAccountClientId).map((u) => [u.id!, `${u.username}/${u.email ?? ''}`]));
  const missing = [...users].filter(([id]) => !inFile.has(id)).map(([, who]) => who);
  const unknown = [...inFile].filter(([id]) => !users.has(id)).map(([, who]) => who);
  const changed = [...inFile].filter(([id, who]) => users.has(id) && users.get(id) !== who).map(([id, who]) => `${who} (live: ${users.get(id)})`);
  if (missing.length) problems.push(`users at the live source, not in the file: ${named(missing)}`);
  if (unknown.length) problems.push(`users in the file the live source does not have: ${named(unknown)}`);
  if (changed.length) problems.push(`users whose username or email differ: ${named(changed)}`);
  const fileClients = new Set((file.clients ?? []).map((c) => c.clientId!));
  const clientsMissing = [...clientIds].filter((c) => !fileClients.has(c));
  const clientsUnknown = [...fileClients].filter((c) => !clientIds.has(c));
  if (clientsMissing.length) problems.push(`clients at the live source, not in the file: ${named(clientsMissing)}`);
  if (clientsUnknown.length) problems.push(`clients in the file the live source does not have: ${named(clientsUnknown)}`);
  return problems;
}

export async function compareWithSource(admin: AdminSession, realm: string, file: RealmRepresentation): Promise<SourceComparison> {
  const live = await admin.realms.findOne({ realm });
  if (!live) return { differences: [`no realm ${realm} at the source`], fewer: [] };
  const [{ counts, clients }, users] = await Promise.all([liveCounts(admin, realm), liveUsers(admin, realm)]);
  const inFile = countsOf(file);
  const result: SourceComparison = { differences: [], fewer: [] };
  // Not who the live realm has: refused as a file short of users is (unless --force).
  for (const line of identities(file, users, new Set(clients.map((c) => c.clientId!)))) {
    result.differences.push(line);
    result.fewer.push(line);
  }
  for (const k of COMPARED) {
    if (inFile[k] === counts[k]) continue;
    const line = `${k}: ${inFile[k]} in the file, ${counts[k]} at the live source`;
    result.differences.push(line);
    if (REFUSED_WHEN_FEWER.has(k) && inFile[k] < counts[k]) result.fewer.push(line);
  }
  const keys = new Set([...Object.keys(file.attributes ?? {}), ...Object.keys(live.attributes ?? {})].filter((k) => BROKER_ATTRIBUTE.test(k)));
  for (const k of [...keys].sort()) {
    const [was, is] = [file.attributes?.[k], live.attributes?.[k]];
    if (was !== is) result.differences.push(`realm attribute ${k}: ${JSON.stringify(was)} in the file, ${JSON.stringify(is)} at the live source`);
  }
  return result;
}
