/**
 * Closing the realm a tenant left to new sign-ins, and opening it again (`migrate --close`,
 * `--rollback`).
 *
 * The old realm keeps its users as they were at the move, and the broker's JWKS, introspection and
 * userinfo take its tokens as the tenant's until `--retire` (tokens from before the move must keep
 * working). So whoever could sign in there (a user disabled at the new realm since, one its admin
 * added) got the tenant's tokens straight from Keycloak, with any client of the old realm (attack
 * rounds 37 and 38). Closed, the realm's browser and direct-grant flows are a flow that denies
 * access: no new session starts there, while the sessions it has go on (a refresh runs no flow).
 * The bindings it had are kept in realm attributes, which `--rollback` puts back.
 */
import { MigrationError } from './migration-error.js';
import type { AdminSession } from './admin-session.js';

/** The flow that denies every sign-in (Keycloak's "Deny access" authenticator). */
export const CLOSED_FLOW = 'realm-broker-moved';
const BEFORE = { browserFlow: 'realm-broker.browser-flow-before-close', directGrantFlow: 'realm-broker.direct-grant-flow-before-close' } as const;

/** Closes `realm` to new sign-ins; false when it already was. */
export async function closeToSignIns(admin: AdminSession, realm: string): Promise<boolean> {
  const rep = await admin.realms.findOne({ realm });
  if (!rep) throw new MigrationError(`realm ${realm} is not there`);
  if (rep.browserFlow === CLOSED_FLOW && rep.directGrantFlow === CLOSED_FLOW) return false;
  const flows = await admin.authenticationManagement.getFlows({ realm });
  if (!flows.some((f) => f.alias === CLOSED_FLOW)) {
    await admin.authenticationManagement.createFlow({ realm, alias: CLOSED_FLOW, providerId: 'basic-flow', topLevel: true, builtIn: false, description: 'realm-broker: this realm\'s tenant has moved; no new sign-ins here' });
    await admin.authenticationManagement.addExecutionToFlow({ realm, flow: CLOSED_FLOW, provider: 'deny-access-authenticator' });
  }
  for (const execution of await admin.authenticationManagement.getExecutions({ realm, flow: CLOSED_FLOW })) {
    if (execution.requirement !== 'REQUIRED') await admin.authenticationManagement.updateExecution({ realm, flow: CLOSED_FLOW }, { ...execution, requirement: 'REQUIRED' });
  }
  await admin.realms.update({ realm }, {
    browserFlow: CLOSED_FLOW,
    directGrantFlow: CLOSED_FLOW,
    attributes: {
      ...rep.attributes,
      [BEFORE.browserFlow]: rep.browserFlow === CLOSED_FLOW ? rep.attributes?.[BEFORE.browserFlow] ?? 'browser' : rep.browserFlow ?? 'browser',
      [BEFORE.directGrantFlow]: rep.directGrantFlow === CLOSED_FLOW ? rep.attributes?.[BEFORE.directGrantFlow] ?? 'direct grant' : rep.directGrantFlow ?? 'direct grant',
    },
  });
  return true;
}

/** Opens `realm` to sign-ins again with the bindings it had; false when it was not closed. */
export async function openToSignIns(admin: AdminSession, realm: string): Promise<boolean> {
  const rep = await admin.realms.findOne({ realm });
  if (!rep || (rep.browserFlow !== CLOSED_FLOW && rep.directGrantFlow !== CLOSED_FLOW)) return false;
  const before = (key: keyof typeof BEFORE, fallback: string) => rep.attributes?.[BEFORE[key]] || fallback;
  await admin.realms.update({ realm }, {
    browserFlow: rep.browserFlow === CLOSED_FLOW ? before('browserFlow', 'browser') : rep.browserFlow,
    directGrantFlow: rep.directGrantFlow === CLOSED_FLOW ? before('directGrantFlow', 'direct grant') : rep.directGrantFlow,
    attributes: { ...rep.attributes, [BEFORE.browserFlow]: '', [BEFORE.directGrantFlow]: '' },
  });
  return true;
}
