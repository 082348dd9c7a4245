/**
 * Field values: from each field's zod schema (its type, literal values, length bounds and
 * just past them), plausible values the demo knows (clients, realms, redirect URIs, grant
 * types), and values beyond any schema (unicode, control characters, prototype names,
 * numbers, nulls, arrays, objects). Usernames are always random, non-existent ones: the
 * fuzzer must never lock a demo user.
 */
import fc from 'fast-check';
import { z } from 'zod';
import { ACME_ID, GLOBEX_ID } from '../helpers/broker.js';
import { KEYCLOAK_URL } from '../helpers/services.js';

/** Names that are properties of every plain object. */
export const PROTO_NAMES = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'prototype'];

const ascii = fc.string({ unit: 'grapheme-ascii', maxLength: 40 });
const control = fc.string({ unit: fc.integer({ min: 0, max: 31 }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 8 });

/** Strings no schema expects. */
export const oddString: fc.Arbitrary<string> = fc.oneof(
  ascii,
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  control,
  fc.constantFrom('', ' ', '\u0000', '\r\n', 'null', 'undefined', 'true', '[]', '{}', '%00', '%zz', '\uFEFF', '\uD800', '\u202E', '../../x',
    "' OR '1'='1", '<script>alert(1)</script>', '${jndi:ldap://x}', 'Ａｄｍｉｎ', 'ß', 'İ', '😀', ...PROTO_NAMES),
  fc.integer({ min: 1000, max: 3000 }).map((n) => 'x'.repeat(n)),
);

const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** Something that looks like a JWT: random header and claims, issuers real and not, no valid signature. */
export const fakeJwt: fc.Arbitrary<string> = fc.record({
  alg: fc.constantFrom('RS256', 'none', 'HS256', 'ES256', 'RS512'),
  kid: fc.option(ascii, { nil: undefined }),
  iss: fc.constantFrom(`${KEYCLOAK_URL}/realms/acme`, `${KEYCLOAK_URL}/realms/globex`, `${KEYCLOAK_URL}/realms/master`, 'https://evil.example', 'http://127.0.0.1:3000/api/v1/platform/oauth'),
  typ: fc.constantFrom('Bearer', 'Refresh', 'ID', 'Offline'),
  sub: fc.uuid(),
  exp: fc.integer({ min: 0, max: 4_000_000_000 }),
  aud: fc.constantFrom('realm-broker', 'platform-demo', 'scaiwave', 'account'),
  sig: fc.base64String({ maxLength: 64 }),
}).map((t) => `${b64url({ alg: t.alg, kid: t.kid, typ: 'JWT' })}.${b64url({ iss: t.iss, typ: t.typ, sub: t.sub, exp: t.exp, aud: t.aud, azp: t.aud })}.${t.sig.replace(/=+$/, '')}`);

/** A username nobody has: lockouts of the demo users would break other tests. */
export const fuzzUser = fc.stringMatching(/^[a-z0-9]{6,12}$/).map((s) => `fuzz-${s}@nowhere.invalid`);

const token = fc.oneof(fakeJwt, ascii, fc.base64String({ maxLength: 80 }));
const id = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{10,43}$/), ascii);

/**
 * Values the broker handed out when the run started (a device code and its user code, a
 * sign-in transaction and its CSRF token, an access token), written `{{name}}` in a
 * request and filled in when it is sent, so that fuzzed requests get past the lookups.
 */
export const live: Record<string, string> = {};
const liveRef = (...names: string[]) => fc.constantFrom(...names.map((n) => `{{${n}}}`));

/** Replaces `{{name}}` by the live value of that name. */
export const fillLive = (s: string) => s.replace(/\{\{(\w+)\}\}/g, (m, name: string) => live[name] ?? m);

/** Values the demo deployment knows, so requests get past validation and reach the logic (and Keycloak). */
export const PLAUSIBLE: Record<string, fc.Arbitrary<string>> = {
  client_id: fc.constantFrom('platform-demo', 'tv-demo', 'platform-service', 'exchange-demo', 'connect-demo', 'realm-broker', 'nobody', 'PLATFORM-DEMO', ...PROTO_NAMES),
  client_secret: fc.constantFrom('platform-service-secret', 'exchange-demo-secret', 'connect-demo-secret', 'wrong-secret'),
  realm: fc.oneof(fc.constantFrom(ACME_ID, GLOBEX_ID, ACME_ID.toUpperCase(), ` ${ACME_ID}`, '00000000-0000-0000-0000-000000000000', 'acme', 'master'), fc.uuid()),
  grant_type: fc.constantFrom('password', 'client_credentials', 'authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code',
    'urn:ietf:params:oauth:grant-type:token-exchange', 'implicit', 'PASSWORD', 'password '),
  username: fuzzUser,
  password: fc.oneof(ascii, fc.string({ unit: 'binary', maxLength: 30 })),
  scope: fc.constantFrom('openid', 'openid email', 'openid profile email offline_access', 'email', 'nonsense', 'openid,email', ' '),
  scopes: fc.constantFrom('openid', 'openid,email', 'email profile', 'nonsense', ','),
  redirect_uri: fc.constantFrom('http://127.0.0.1:8765/callback', 'https://evil.example/callback', 'http://127.0.0.1:8765/callback/../x',
    'javascript:alert(1)', 'http://acme.localhost:3000/v1/auth/login', 'http://127.0.0.1:3000/v1/auth/login', 'not a uri'),
  post_logout_redirect_uri: fc.constantFrom('http://127.0.0.1:8765/', 'https://evil.example/', '//evil.example'),
  response_type: fc.constantFrom('code', 'token', 'id_token', 'code id_token', 'CODE'),
  code_challenge: fc.constantFrom('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', 'short', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c!'),
  code_challenge_method: fc.constantFrom('S256', 'plain', 's256'),
  code_verifier: fc.constantFrom('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk', 'x'),
  prompt: fc.constantFrom('none', 'login', 'consent', 'none login'),
  login_hint: fc.oneof(fuzzUser, fc.constantFrom('not-an-email', '@', 'a@b', 'x@globex.example', 'x@acme.example')),
  email: fc.oneof(fuzzUser, fc.constantFrom('not-an-email', '@', 'x@globex.example', 'x@acme.example')),
  tenant: fc.constantFrom('acme', 'globex', 'nobody', 'ACME', ...PROTO_NAMES),
  action: fc.constantFrom('approve', 'deny', 'APPROVE', 'cancel'),
  user_code: fc.oneof(liveRef('user_code'), fc.constantFrom('WDJB-MJHT', 'wdjbmjht', 'BCDF-GHJK', '-'), fc.stringMatching(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-?[BCDFGHJKLMNPQRSTVWXZ]{4}$/)),
  subject_token_type: fc.constantFrom('urn:ietf:params:oauth:token-type:access_token', 'urn:ietf:params:oauth:token-type:refresh_token',
    'urn:ietf:params:oauth:token-type:id_token', 'urn:ietf:params:oauth:token-type:jwt', 'x'),
  requested_token_type: fc.constantFrom('urn:ietf:params:oauth:token-type:access_token', 'urn:ietf:params:oauth:token-type:refresh_token', 'x'),
  audience: fc.constantFrom('platform-demo', 'exchange-demo', 'nobody', 'realm-broker'),
  error: fc.constantFrom('access_denied', 'login_required', 'server_error', 'x'),
  token: fc.oneof(liveRef('access_token', 'user_access_token', 'refresh_token'), token), refresh_token: fc.oneof(liveRef('refresh_token'), token),
  subject_token: fc.oneof(liveRef('access_token', 'user_access_token', 'refresh_token'), token),
  id_token_hint: token, code: token, device_code: fc.oneof(liveRef('device_code'), token),
  state: fc.oneof(liveRef('tx'), id), nonce: id, tx: fc.oneof(liveRef('tx'), id), csrf: fc.oneof(liveRef('csrf'), fc.constant('x'), id), session_state: id, iss: fc.constantFrom(`${KEYCLOAK_URL}/realms/acme`, 'x'),
};

/** Parameter names the handlers read outside any guard (pages, callback, logout, device pages). */
export const PAGE_FIELDS = ['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'nonce', 'code_challenge', 'code_challenge_method',
  'prompt', 'login_hint', 'tx', 'csrf', 'email', 'tenant', 'code', 'error', 'session_state', 'iss', 'id_token_hint', 'post_logout_redirect_uri',
  'user_code', 'action'];

function unwrap(schema: z.ZodType): { inner: z.ZodType; optional: boolean } {
  return schema instanceof z.ZodOptional ? { inner: schema.unwrap() as z.ZodType, optional: true } : { inner: schema, optional: false };
}

/** Values of a field as its zod schema describes it, at and past its bounds. */
export function fromSchema(schema: z.ZodType): fc.Arbitrary<string> {
  const { inner } = unwrap(schema);
  if (inner instanceof z.ZodLiteral) {
    const values = [...inner.values].map(String);
    return fc.oneof(fc.constantFrom(...values), fc.constantFrom(...values).map((v) => v.toUpperCase()), fc.constantFrom(...values).map((v) => `${v} `));
  }
  if (inner instanceof z.ZodString) {
    const max = inner.maxLength;
    const min = inner.minLength ?? 0;
    const bounds = [min, ...(max !== null ? [max - 1, max, max + 1] : [])].filter((n) => n >= 0);
    return fc.oneof(ascii, fc.constantFrom(...bounds).map((n) => 'a'.repeat(n)));
  }
  return oddString;
}

export const isOptional = (schema: z.ZodType) => unwrap(schema).optional;

/** Objects that break code which turns a value into a string without checking its type. */
export const hostileObject = fc.constantFrom<unknown>({ toString: 1 }, { toString: null, valueOf: null }, { toString: 'x' }, { valueOf: {} }, JSON.parse('{"__proto__":{"polluted":1}}'));

/** JSON values where a string is expected. */
export const oddJson: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: hostileObject, weight: 3 },
  fc.integer(), fc.double(), fc.boolean(), fc.constant(null),
  fc.array(ascii, { maxLength: 3 }),
  fc.dictionary(ascii, ascii, { maxKeys: 3 }),
  fc.constantFrom<unknown>([[[[[]]]]], { length: 1e9 }, ''),
  fc.integer({ min: 50, max: 1000 }).map((depth) => JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as unknown),
);

/**
 * A value for a named field: plausible or schema-derived strings, odd strings, and with
 * weight `odd` (0: never) JSON values of other types, hostile objects first.
 */
export function valueFor(field: string, schema: z.ZodType | undefined, odd: number): fc.Arbitrary<unknown> {
  const known: fc.Arbitrary<string>[] = [];
  if (PLAUSIBLE[field]) known.push(PLAUSIBLE[field]);
  if (schema) known.push(fromSchema(schema));
  if (known.length === 0) known.push(ascii);
  const strings = fc.oneof(...known.map((arbitrary) => ({ arbitrary, weight: 4 })), { arbitrary: oddString, weight: 1 });
  return odd > 0 ? fc.oneof({ arbitrary: strings, weight: 4 }, { arbitrary: oddJson, weight: Math.round(odd * 4) }) : strings;
}
