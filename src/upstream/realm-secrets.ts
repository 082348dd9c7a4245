/**
 * The secret a client of the broker's has at one realm.
 *
 * The broker's own client and the registry's confidential apps exist in every tenant realm,
 * and the broker authenticates to each realm as them. With one secret in every realm
 * (`realmSecrets: "shared"`), an admin of any realm can read it in their own realm and use it
 * at every other: password grants past the broker's limits, token exchange of another
 * tenant's tokens, introspection (found in an attack, 2026-12-06). A tenant admin is not
 * trusted with another tenant.
 *
 * `realmSecrets: "per-realm"`: the secret at a realm is an HMAC of the configured secret and
 * the realm's id, made by the broker for each call and set in the realm by `sync-apps`. A
 * realm's admin sees only their realm's, which no other realm takes. The realm's id, not
 * its name: an admin can rename their realm, never change its id; and a migration's copy
 * keeps the id, so its clients' secrets still hold. Apps keep authenticating to the broker
 * with the secret of the registry: the realm's secret is for the broker only.
 *
 * Clients that are not the broker's (a connect caller's own client of a realm) are sent as
 * their callers gave them.
 */
import { createHmac } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { BrokerError } from '../errors.js';

/** A realm's id by its issuer, from the tenant registry (its current list, else after a refresh). */
export type RealmIdOf = (issuer: string) => string | undefined | Promise<string | undefined>;

export class RealmSecrets {
  /** Set once the registry exists (wire.ts): the registry reads realms through the upstreams. */
  realmIdOf?: RealmIdOf;

  constructor(private readonly config: Pick<Config, 'realmSecrets' | 'brokerClient' | 'apps'>) {}

  /** Whether `clientId`'s secret is made per realm: the broker's own client and the registry's apps, in per-realm mode. */
  binds(clientId: string): boolean {
    return this.config.realmSecrets === 'per-realm'
      && (clientId === this.config.brokerClient.clientId || Object.hasOwn(this.config.apps, clientId));
  }

  /** The secret of `clientId` at the realm of id `realmId`, from the one the broker holds. */
  static derive(secret: string, clientId: string, realmId: string): string {
    return createHmac('sha256', secret).update(`realm-broker realm secret\u0000${clientId}\u0000${realmId.toLowerCase()}`).digest('base64url');
  }

  /**
   * `secret` as the realm of `issuer` knows it. Made anew for each call (an HMAC, a
   * microsecond or two): keeping them would keep the secrets callers send, right or wrong.
   */
  async at(issuer: string, clientId: string, secret: string): Promise<string> {
    let id = this.realmIdOf?.(issuer);
    if (typeof id !== 'string') id = await id;
    if (!id) throw new BrokerError('upstream_unavailable', `The id of realm ${issuer} is not known (its client secrets are made from it)`, { retryAfter: 5 });
    return RealmSecrets.derive(secret, clientId, id);
  }
}
