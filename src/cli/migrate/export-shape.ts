/**
 * The shape a realm in a `kc.sh export` file must have before `migrate` trusts it: the
 * lists it copies and verifies (users, clients, roles, groups, client scopes) are lists of
 * objects, with the fields the verification reads. Only the realm's name, id and a users
 * array were checked (attack helper round 27, F3): `users: [null]` crashed the verification
 * ("Cannot read properties of null"), and an empty export passed for a realm. Every other
 * field is Keycloak's to define and is passed through as it is.
 */
import type RealmRepresentation from '@keycloak/keycloak-admin-client/lib/defs/realmRepresentation.js';
import { z } from 'zod';
import { MigrationError } from './migration-error.js';

const name = z.string().min(1);
const objects = z.array(z.looseObject({}));

const user = z.looseObject({
  id: name,
  username: name,
  email: z.string().optional(),
  serviceAccountClientId: z.string().optional(),
  credentials: z.array(z.looseObject({ type: z.string().optional() })).optional(),
});

const client = z.looseObject({
  id: z.string().optional(),
  clientId: name,
  secret: z.string().optional(),
  publicClient: z.boolean().optional(),
  bearerOnly: z.boolean().optional(),
});

const realm = z.looseObject({
  realm: name,
  id: name,
  // A kc.sh export always has both; without them the copy would be a realm with nobody and nothing.
  users: z.array(user),
  clients: z.array(client),
  roles: z.looseObject({ realm: z.array(z.looseObject({ name })).optional(), client: z.record(z.string(), objects).optional() }).optional(),
  groups: objects.optional(),
  clientScopes: objects.optional(),
  // Keycloak keeps realm attributes as strings; the broker's (realm-broker.*) are compared with the copy.
  attributes: z.record(z.string(), z.string()).optional(),
});

/** At most this many problems in the message: enough to see what kind of file it is. */
const SHOWN = 8;

/** The realm as `migrate` may use it, or a refusal naming the file and each bad path. */
export function checkExportShape(file: string, value: unknown): RealmRepresentation {
  const parsed = realm.safeParse(value);
  if (parsed.success) return parsed.data as RealmRepresentation;
  const problems = parsed.error.issues.map((i) => `${pathOf(i.path) || '(the realm)'}: ${i.message}`);
  const more = problems.length > SHOWN ? `\n  - … and ${problems.length - SHOWN} more` : '';
  throw new MigrationError(`export file ${file} is not a realm export as kc.sh writes it:\n  - ${problems.slice(0, SHOWN).join('\n  - ')}${more}`);
}

/** `users[0].id`, as the file reads. */
function pathOf(path: PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
}
