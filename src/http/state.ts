/**
 * What the middleware of a request leave for the ones after them, typed once for every
 * route (Koa's `DefaultState`), so that the compiler checks the main data path:
 * request-context sets `requestId`; body.ts `body` and `bodyKind`; a route's guard `input`
 * (read it typed with `inputOf(ctx, shape)`); resolve-host-tenant / resolve-realm `tenant`;
 * the issuer middleware `issuer`; client-auth `client`; page-routes `page`.
 */
import type { z } from 'zod';
import type { Prepared } from './local-answer.js';
import type { AuthenticatedClient } from '../surfaces/platform/client-auth.js';
import type { IssuerContext } from '../surfaces/platform/issuer.js';
import type { Tenant } from '../tenancy/tenant.js';

declare module 'koa' {
  interface DefaultState {
    requestId: string;
    body: Record<string, unknown>;
    bodyKind: 'none' | 'form' | 'json';
    /** The guard's validated input: read it with `inputOf`, which gives its type. */
    input: unknown;
    tenant: Tenant;
    issuer: IssuerContext;
    client: AuthenticatedClient;
    page?: boolean;
    /** The prepared bytes this answer sends (local-answer.ts), which answer-memo.ts may keep. */
    localAnswer?: Prepared;
    /** A 2xx that is a refusal all the same (a revocation of nothing), for the refusal gate. */
    refused?: boolean;
  }
}

/** The route's validated input, typed by the same zod shape its guard validated. */
export function inputOf<S extends Record<string, z.ZodType>>(ctx: { state: { input: unknown } }, _shape: S): z.infer<z.ZodObject<S>> {
  return ctx.state.input as z.infer<z.ZodObject<S>>;
}
