/**
 * The name a password attempt gives, on every surface that takes one: at most 256 characters
 * and no control characters. A NUL made Keycloak's admin API and token endpoint refuse the
 * call, which counted as no attempt (password-grant.ts gives points back for upstream
 * failures): unlimited calls to both, found in an attack on 2026-12-06.
 */
import { z } from 'zod';

export const usernameField = z.string().min(1).max(256).regex(/^[^\u0000-\u001f\u007f]*$/, 'username must not contain control characters');
