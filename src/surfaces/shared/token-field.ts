/**
 * A token a caller hands in (to introspect, revoke or refresh), on every surface: at most
 * 16 KiB. Keycloak's tokens are a few KiB; anything longer is refused before it is decoded
 * or sent upstream (connect introspection took any length: attack helper round 23).
 */
import { z } from 'zod';

export const tokenField = z.string().max(16_384);
