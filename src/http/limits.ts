/**
 * Every limit of the broker, written once: what is counted, per what, how many per window.
 * The numbers come from config; the counting is rate-limit.ts's (count first, then decide).
 */
import type { Config } from '../config/schema.js';
import { type Limiter, type RateLimits } from './rate-limit.js';
import { RefusalGate } from './refusal-gate.js';

export interface Limits {
  /** Password attempts per tenant and username (ScaiWave /token, connect user/login). */
  passwordPerUser: Limiter;
  /** Password attempts per client address. */
  passwordPerAddress: Limiter;
  /** User codes typed per client address (RFC 8628 §5.1). */
  userCode: Limiter;
  /** Email discoveries per client address: each may query every realm's admin API. */
  discovery: Limiter;
  /** Sign-ins started (login transactions stored) per client address. */
  signInStart: Limiter;
  /** Device codes issued per client address. */
  deviceStart: Limiter;
  /** Refusals per client address where anyone can make Keycloak work (refusal-gate.ts). */
  refusals: RefusalGate;
}

export function buildLimits(config: Config, limits: RateLimits): Limits {
  const { perUser, perAddress, windowSeconds } = config.scaiwave.rateLimit;
  const p = config.platform;
  return {
    passwordPerUser: limits.get({ name: 'pw-user', points: perUser, windowSeconds, what: 'sign-in attempts' }),
    passwordPerAddress: limits.get({ name: 'pw-addr', points: perAddress, windowSeconds, what: 'sign-in attempts' }),
    userCode: limits.get({ name: 'user-code', points: p.userCodeAttempts, windowSeconds: 300, what: 'code entries' }),
    discovery: limits.get({ name: 'discovery', points: p.discoveryAttempts, windowSeconds: 300, what: 'sign-in attempts' }),
    signInStart: limits.get({ name: 'sign-in', points: p.signInsPerAddress, windowSeconds: 60, what: 'sign-ins started' }),
    deviceStart: limits.get({ name: 'device', points: p.deviceCodesPerAddress, windowSeconds: 300, what: 'device codes requested' }),
    refusals: new RefusalGate(limits.get({ name: 'refused', points: config.refusalsPerAddress, windowSeconds: 60, what: 'refused requests' })),
  };
}
