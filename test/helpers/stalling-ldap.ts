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

/** Gives `realm` a user federation at `ldap`, whose connect and read timeouts are `timeoutMs`. */
export async function federateWith(admin: KcAdminClient, realm: string, ldap: StallingLdap, timeoutMs: number): Promise<void> {
  const found = await admin.realms.findOne({ realm });
  await admin.components.create({
    realm, name: 'stalling-ldap', providerId: 'ldap', providerType: 'org.keycloak.storage.UserStorageProvider', parentId: found!.id,
    config: {
      enabled: ['true'], priority: ['0'], vendor: ['other'], connectionUrl: [`ldap://127.0.0.1:${ldap.port}`], bindDn: ['cn=admin'], bindCredential: ['x'], authType: ['simple'],
      usersDn: ['ou=people,dc=x'], usernameLDAPAttribute: ['uid'], rdnLDAPAttribute: ['uid'], uuidLDAPAttribute: ['entryUUID'], userObjectClasses: ['inetOrgPerson'],
      editMode: ['READ_ONLY'], searchScope: ['1'], connectionTimeout: [String(timeoutMs)], readTimeout: [String(timeoutMs)], pagination: ['false'], importEnabled: ['true'],
      syncRegistrations: ['false'], connectionPooling: ['false'],
    },
  });
}
