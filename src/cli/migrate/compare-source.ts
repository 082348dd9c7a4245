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

export async function compareWithSource(admin: AdminSession, realm: string, file: RealmRepresentation): Promise<SourceComparison> {
  const live = await admin.realms.findOne({ realm });
  if (!live) return { differences: [`no realm ${realm} at the source`], fewer: [] };
  const { counts } = await liveCounts(admin, realm);
  const inFile = countsOf(file);
  const result: SourceComparison = { differences: [], fewer: [] };
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
