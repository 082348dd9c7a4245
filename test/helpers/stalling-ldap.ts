/**
 * An "LDAP server" that accepts connections and never answers, made a realm's user federation:
 * what a realm's admin can do to make every user search and password grant of their realm stall
 * inside Keycloak, each holding one of the server's workers until the LDAP timeouts end it
 * (the attacks of 2026-12-06).
 */
import { createServer, type Server, type Socket } from 'node:net';
import type KcAdminClient from '@keycloak/keycloak-admin-client';

export interface StallingLdap {
  port: number;
  /** Connections open to it now (Keycloak's, stalled). */
  open(): number;
  close(): void;
}

export async function startStallingLdap(): Promise<StallingLdap> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    open: () => sockets.size,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

/**
 * Gives `realm` a user federation at `ldap`, whose connect and read timeouts are `timeoutMs`;
 * returns its id. `linked`: users of the realm made the federation's (their `federationLink`;
 * they need the LDAP_ID and LDAP_ENTRY_DN attributes, `asLdapUser`), with no cache: Keycloak then asks the LDAP about them on every sign-in, and waits the whole
 * read timeout (a search it gives up after about 3 s).
 */
export async function federateWith(admin: KcAdminClient, realm: string, ldap: StallingLdap, timeoutMs: number, linked: string[] = []): Promise<string> {
  const found = await admin.realms.findOne({ realm });
  const config = (enabled: boolean) => ({
    enabled: [String(enabled)], priority: ['0'], vendor: ['other'], connectionUrl: [`ldap://127.0.0.1:${ldap.port}`], bindDn: ['cn=admin'], bindCredential: ['x'], authType: ['simple'],
    usersDn: ['ou=people,dc=x'], usernameLDAPAttribute: ['uid'], rdnLDAPAttribute: ['uid'], uuidLDAPAttribute: ['entryUUID'], userObjectClasses: ['inetOrgPerson'],
    editMode: ['READ_ONLY'], searchScope: ['1'], connectionTimeout: [String(timeoutMs)], readTimeout: [String(timeoutMs)], pagination: ['false'], importEnabled: ['true'],
    syncRegistrations: ['false'], connectionPooling: ['false'], ...(linked.length ? { cachePolicy: ['NO_CACHE'] } : {}),
  });
  const component = { name: 'stalling-ldap', providerId: 'ldap', providerType: 'org.keycloak.storage.UserStorageProvider', parentId: found!.id };
  // Users are linked while it is off: with it on, the admin API's own user search would stall.
  const { id } = await admin.components.create({ realm, ...component, config: config(linked.length === 0) });
  if (linked.length === 0) return id;
  for (const username of linked) {
    const [user] = await admin.users.find({ realm, username, exact: true });
    await admin.users.update({ realm, id: user!.id! }, { ...user, federationLink: id });
  }
  await admin.components.update({ realm, id }, { id, ...component, config: config(true) });
  return id;
}

/** The attributes a user of the federation has (set when the realm is made, with `federateWith`'s `linked`). */
export function asLdapUser(username: string): Record<string, string[]> {
  return { LDAP_ID: [`${username}-uuid`], LDAP_ENTRY_DN: [`uid=${username},ou=people,dc=x`] };
}
