/**
 * Closing the realm a tenant left to new sign-ins, and opening it again (`migrate --close`,
 * `--rollback`, and a move back onto a copy that was closed).
 *
 * The old realm keeps its users as they were at the move, and the broker's JWKS, introspection and
 * userinfo take its tokens as the tenant's until `--retire` (tokens from before the move must keep
 * working). So whoever could sign in there (a user disabled at the new realm since, one its admin
 * added) got the tenant's tokens straight from Keycloak, with any client of the old realm (attack
 * rounds 37 and 38). Closed, every way Keycloak has of starting a new session or token there is
 * shut, while the sessions it has go on (a refresh runs no flow and no client's grant setting):
 * - the realm's browser, direct-grant, registration and reset-credentials flows are bound to a flow
 *   that denies access (Keycloak's "Deny access" authenticator), and self-registration is off;
 * - each client's own flow bindings (which override the realm's) are cleared, its device, CIBA and
 *   JWT-authorization grants are off, and its service account's user is disabled (a
 *   client-credentials grant runs no flow). Not the client's service-account switch: Keycloak
 *   deletes the account's user when it is turned off, and the rollback made a new one, without
 *   its roles and with another `sub` (round 40);
 * - the identity providers are off (a login through one ends in flows of its own);
 * - the client registration service refuses every request (a policy that trusts no host).
 * (Round 39 got the tenant's tokens past the first version, which bound the two realm flows only,
 * through a client's override, a service account, and self-registration.)
 *
 * What each had before is kept in one realm attribute, and opening puts back what is still as
 * closing left it. Closing again closes what was opened since (by the realm's admin, say) and keeps
 * what it had first. The realm's admins can open it again by hand: only `--retire` ends it for good.
 */
import type ClientRepresentation from '@keycloak/keycloak-admin-client/lib/defs/clientRepresentation.js';
import type RealmRepresentation from '@keycloak/keycloak-admin-client/lib/defs/realmRepresentation.js';
import { z } from 'zod';
import { MigrationError } from './migration-error.js';
import type { AdminSession } from './admin-session.js';

/** The flow that denies every sign-in (Keycloak's "Deny access" authenticator). */
export const CLOSED_FLOW = 'realm-broker-moved';
const DENY = 'deny-access-authenticator';
const REGISTRATION_POLICY = 'org.keycloak.services.clientregistration.policy.ClientRegistrationPolicy';
/** The realm attribute that holds what closing changed (JSON, a Closure). */
export const CLOSURE_ATTRIBUTE = 'realm-broker.closed';
/** The realm's flow bindings that start a session, with Keycloak's default flow for each. */
const FLOWS = { browserFlow: 'browser', directGrantFlow: 'direct grant', registrationFlow: 'registration', resetCredentialsFlow: 'reset credentials' } as const;
type FlowBinding = keyof typeof FLOWS;
/** What the first version kept (browser and direct grant only): read when opening a realm it closed. */
const LEGACY: Partial<Record<FlowBinding, string>> = { browserFlow: 'realm-broker.browser-flow-before-close', directGrantFlow: 'realm-broker.direct-grant-flow-before-close' };
/** Client attributes of grants that start a session without a flow of the realm's. */
const GRANT_ATTRIBUTES = ['oauth2.device.authorization.grant.enabled', 'oidc.ciba.grant.enabled', 'oauth2.jwt.authorization.grant.enabled'] as const;

/**
 * What closing changed, to put back. The record sits in the realm, where the realm's own admin
 * can write it: it is read by this shape, or refused with a clear message (a planted `null`
 * crashed the command: round 40), and what it names is looked up in that realm only.
 */
const closureSchema = z.object({
  flows: z.object(Object.fromEntries(Object.keys(FLOWS).map((f) => [f, z.string().optional()])) as Record<FlowBinding, z.ZodOptional<z.ZodString>>).default({}),
  registrationAllowed: z.literal(true).optional(),
  /** By the client's internal id: what closing changed in each. */
  clients: z.record(z.string(), z.object({
    clientId: z.string(),
    overrides: z.record(z.string(), z.string()).optional(),
    /** The id of the client's service-account user, which closing disabled. */
    serviceAccountUser: z.string().optional(),
    grants: z.array(z.enum(GRANT_ATTRIBUTES)).optional(),
  })).default({}),
  /** Aliases of the identity providers that were enabled. */
  identityProviders: z.array(z.string()).default([]),
});
type Closure = z.infer<typeof closureSchema>;
type ClientBefore = Closure['clients'][string];

function closureOf(rep: RealmRepresentation): Closure | undefined {
  const raw = rep.attributes?.[CLOSURE_ATTRIBUTE];
  const legacy = Object.entries(LEGACY).filter(([, attr]) => rep.attributes?.[attr]);
  if (!raw && !legacy.length) return undefined;
  let parsed: unknown = {};
  try {
    if (raw) parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  const closure = closureSchema.safeParse(parsed);
  if (!closure.success) {
    throw new MigrationError(`realm ${rep.realm}: its attribute ${CLOSURE_ATTRIBUTE} is not what --close wrote (its realm's admins can write it); ` +
      `put the realm's flow bindings, clients and identity providers back by hand, then delete the attribute`);
  }
  for (const [flow, attr] of legacy) closure.data.flows[flow as FlowBinding] ??= rep.attributes![attr]!;
  return closure.data;
}

/** The attributes without closing's records. */
function withoutClosure(attributes: Record<string, string> | undefined): Record<string, string> {
  const kept = { ...attributes };
  for (const attr of [CLOSURE_ATTRIBUTE, ...Object.values(LEGACY)]) delete kept[attr];
  return kept;
}

const hasOverrides = (c: ClientRepresentation) => Object.values(c.authenticationFlowBindingOverrides ?? {}).some(Boolean);
const grantsOn = (c: ClientRepresentation) => GRANT_ATTRIBUTES.filter((a) => c.attributes?.[a] === 'true');
const boundToClosedFlow = (rep: RealmRepresentation) => (Object.keys(FLOWS) as FlowBinding[]).some((f) => rep[f] === CLOSED_FLOW);

/** Closes `realm` to new sign-ins and tokens; false when nothing was open. */
export async function closeToSignIns(admin: AdminSession, realm: string): Promise<boolean> {
  const rep = await admin.realms.findOne({ realm });
  if (!rep) throw new MigrationError(`realm ${realm} is not there`);
  const closure = closureOf(rep) ?? { flows: {}, clients: {}, identityProviders: [] };

  // What is open, and what it had (what closing first found is kept: its second run finds it closed).
  const flows: Partial<Record<FlowBinding, string>> = {};
  for (const [flow, fallback] of Object.entries(FLOWS) as [FlowBinding, string][]) {
    if (rep[flow] === CLOSED_FLOW) continue;
    closure.flows[flow] ??= rep[flow] ?? fallback;
    flows[flow] = CLOSED_FLOW;
  }
  if (rep.registrationAllowed) closure.registrationAllowed = true;
  const clients: { client: ClientRepresentation; grants: string[]; serviceAccountUser?: string }[] = [];
  for (const client of await admin.clients.find({ realm })) {
    const account = client.serviceAccountsEnabled ? await admin.clients.getServiceAccountUser({ realm, id: client.id! }) : undefined;
    const serviceAccountUser = account?.enabled ? account.id : undefined;
    const grants = grantsOn(client);
    if (!hasOverrides(client) && !grants.length && !serviceAccountUser) continue;
    clients.push({ client, grants, serviceAccountUser });
    const before: ClientBefore = closure.clients[client.id!] ?? { clientId: client.clientId! };
    if (hasOverrides(client)) before.overrides ??= client.authenticationFlowBindingOverrides as Record<string, string>;
    if (serviceAccountUser) before.serviceAccountUser = serviceAccountUser;
    if (grants.length) before.grants = [...new Set([...(before.grants ?? []), ...grants])];
    closure.clients[client.id!] = before;
  }
  const providers = (await admin.identityProviders.find({ realm })).filter((idp) => idp.enabled);
  closure.identityProviders = [...new Set([...closure.identityProviders, ...providers.map((idp) => idp.alias!)])];
  const mended = await ensureClosedFlow(admin, realm);
  const shut = await shutClientRegistration(admin, realm, rep.id!);
  if (!Object.keys(flows).length && !rep.registrationAllowed && !clients.length && !providers.length) return mended || shut;

  // The record first, with the realm's bindings: a run cut short after it leaves nothing changed
  // unrecorded (opening puts back what it names; closing again finishes).
  await admin.realms.update({ realm }, {
    ...flows,
    registrationAllowed: false,
    attributes: { ...withoutClosure(rep.attributes), [CLOSURE_ATTRIBUTE]: JSON.stringify(closure) },
  });
  for (const { client, grants, serviceAccountUser } of clients) {
    if (hasOverrides(client) || grants.length) {
      await admin.clients.update({ realm, id: client.id! }, {
        ...client,
        // Keycloak removes an override given as "" (an empty map removes none).
        authenticationFlowBindingOverrides: Object.fromEntries(Object.keys(client.authenticationFlowBindingOverrides ?? {}).map((k) => [k, ''])),
        attributes: { ...client.attributes, ...Object.fromEntries(grants.map((a) => [a, 'false'])) },
      });
    }
    // Its tokens then answer "User 'service-account-…' disabled"; the user keeps its id and roles.
    if (serviceAccountUser) await admin.users.update({ realm, id: serviceAccountUser }, { enabled: false });
  }
  for (const idp of providers) await admin.identityProviders.update({ realm, alias: idp.alias! }, { ...idp, enabled: false });
  return true;
}

/** Whether `realm` is closed (or partly: a run cut short); undefined when it is not there. */
export async function isClosed(admin: AdminSession, realm: string): Promise<boolean | undefined> {
  const rep = await admin.realms.findOne({ realm });
  return rep ? closureOf(rep) !== undefined || boundToClosedFlow(rep) : undefined;
}

/**
 * The flow that denies access, in `realm`: its deny step, at its top, required, and every other
 * step off; true when it had to be made or mended. Checked at every close, whatever else is
 * closed already: a flow without its step (a run cut short between two calls, an admin's edit)
 * refused with Keycloak's 500 (round 40), and one whose deny step an admin turned off beside a
 * password step took passwords while a second `--close` said "already closed" (round 41).
 */
async function ensureClosedFlow(admin: AdminSession, realm: string): Promise<boolean> {
  let mended = false;
  const flows = await admin.authenticationManagement.getFlows({ realm });
  if (!flows.some((f) => f.alias === CLOSED_FLOW)) {
    await admin.authenticationManagement.createFlow({ realm, alias: CLOSED_FLOW, providerId: 'basic-flow', topLevel: true, builtIn: false, description: 'realm-broker: this realm\'s tenant has moved; no new sign-ins here' });
    mended = true;
  }
  const isDeny = (e: { level?: number; providerId?: string }) => e.level === 0 && e.providerId === DENY;
  let executions = await admin.authenticationManagement.getExecutions({ realm, flow: CLOSED_FLOW });
  if (!executions.some(isDeny)) {
    await admin.authenticationManagement.addExecutionToFlow({ realm, flow: CLOSED_FLOW, provider: DENY });
    executions = await admin.authenticationManagement.getExecutions({ realm, flow: CLOSED_FLOW });
    mended = true;
  }
  for (const execution of executions) {
    const requirement = isDeny(execution) ? 'REQUIRED' : 'DISABLED';
    if (execution.requirement === requirement) continue;
    await admin.authenticationManagement.updateExecution({ realm, flow: CLOSED_FLOW }, { ...execution, requirement });
    mended = true;
  }
  return mended;
}

/**
 * Keycloak's client registration service, shut by a policy of each kind (anonymous, and with an
 * initial or a registration access token) that trusts no host: a token handed out before the
 * move registered a client with a service account, or gave a registered client a flow of its
 * own, and got the tenant's tokens past everything else `--close` shuts (round 41). True when
 * one had to be added. The policies are found by name and removed when the realm opens.
 */
async function shutClientRegistration(admin: AdminSession, realm: string, realmId: string): Promise<boolean> {
  const ours = await registrationPolicies(admin, realm);
  let added = false;
  for (const subType of ['anonymous', 'authenticated']) {
    if (ours.some((c) => c.subType === subType)) continue;
    await admin.components.create({
      realm, name: CLOSED_FLOW, providerId: 'trusted-hosts', providerType: REGISTRATION_POLICY, subType, parentId: realmId,
      config: { 'trusted-hosts': [], 'host-sending-registration-request-must-match': ['true'], 'client-uris-must-match': ['true'] },
    } as Parameters<AdminSession['components']['create']>[0]);
    added = true;
  }
  return added;
}

async function registrationPolicies(admin: AdminSession, realm: string) {
  const all = await admin.components.find({ realm, type: REGISTRATION_POLICY } as Parameters<AdminSession['components']['find']>[0]);
  return all.filter((c) => c.name === CLOSED_FLOW && c.providerId === 'trusted-hosts');
}

/**
 * Opens `realm` to sign-ins again with what it had before closing (what is still as closing
 * left it: a setting its admin changed since is theirs); false when it was not closed.
 */
export async function openToSignIns(admin: AdminSession, realm: string): Promise<boolean> {
  const rep = await admin.realms.findOne({ realm });
  if (!rep) return false;
  const closure = closureOf(rep);
  const policies = await registrationPolicies(admin, realm);
  if (!closure && !boundToClosedFlow(rep) && !policies.length) return false;

  for (const [id, before] of Object.entries(closure?.clients ?? {})) {
    const client = await admin.clients.findOne({ realm, id });
    if (!client) continue;
    if ((before.overrides && !hasOverrides(client)) || before.grants?.length) {
      await admin.clients.update({ realm, id }, {
        ...client,
        ...(before.overrides && !hasOverrides(client) ? { authenticationFlowBindingOverrides: before.overrides } : {}),
        attributes: { ...client.attributes, ...Object.fromEntries((before.grants ?? []).map((a) => [a, 'true'])) },
      });
    }
    // The client's own service account only (a record naming another user of the realm enables nothing).
    if (before.serviceAccountUser && client.serviceAccountsEnabled) {
      const account = await admin.clients.getServiceAccountUser({ realm, id });
      if (account.id === before.serviceAccountUser && !account.enabled) await admin.users.update({ realm, id: account.id }, { enabled: true });
    }
  }
  for (const policy of policies) await admin.components.del({ realm, id: policy.id! } as Parameters<AdminSession['components']['del']>[0]);
  for (const alias of closure?.identityProviders ?? []) {
    const idp = await admin.identityProviders.findOne({ realm, alias });
    if (idp && !idp.enabled) await admin.identityProviders.update({ realm, alias }, { ...idp, enabled: true });
  }
  // A binding back to a flow the realm has, never to the closed one: else Keycloak's default
  // (a planted record named the closed flow, and the rollback "succeeded" onto a closed realm; or
  // a flow that is not there, and the rollback failed: round 40).
  const realmFlows = await admin.authenticationManagement.getFlows({ realm });
  const known = new Set(realmFlows.map((f) => f.alias));
  const flows: Partial<Record<FlowBinding, string>> = {};
  for (const [flow, fallback] of Object.entries(FLOWS) as [FlowBinding, string][]) {
    const before = closure?.flows[flow];
    if (rep[flow] === CLOSED_FLOW) flows[flow] = before && before !== CLOSED_FLOW && known.has(before) ? before : fallback;
  }
  // Last, with the record's removal: a run cut short before it leaves the realm closed, and a rerun finishes.
  await admin.realms.update({ realm }, {
    ...flows,
    ...(closure?.registrationAllowed ? { registrationAllowed: true } : {}),
    attributes: withoutClosure(rep.attributes),
  });
  if (await isClosed(admin, realm)) throw new MigrationError(`realm ${realm} is still bound to the flow ${CLOSED_FLOW} after opening it: bind its flows by hand`);
  await removeClosedFlow(admin, realm, realmFlows.find((f) => f.alias === CLOSED_FLOW)?.id);
  return true;
}

/**
 * The deny flow goes with the closure, so that an opened realm is the realm as it was (round 42
 * found it left behind, the one difference after a rollback); the next `--close` makes it again.
 * One Keycloak still uses (its admin bound a client to it since) is refused by Keycloak and
 * stays: harmless while unbound, and theirs to remove.
 */
async function removeClosedFlow(admin: AdminSession, realm: string, flowId: string | undefined): Promise<void> {
  if (flowId) await admin.authenticationManagement.deleteFlow({ realm, flowId }).catch(() => {});
}
