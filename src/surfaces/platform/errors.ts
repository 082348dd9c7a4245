/**
 * The platform surface speaks OAuth: errors are RFC 6749 §5.2 `{error, error_description}`
 * (RFC 6750 §3 for bearer failures, with WWW-Authenticate), and a missing required field
 * is FastAPI's 422 `{"detail": [...]}` as the page's HTTPValidationError documents.
 */
import { publicMessage } from '../../errors.js';
import type { ErrorSerializer } from '../../http/error-handler.js';
import { errorPage } from '../../ui/pages.js';

export const serializePlatformError: ErrorSerializer = (ctx, err) => {
  if (ctx.state.page) {
    // A person is reading: a page, with nothing technical that helps an attacker.
    return errorPage(ctx, err.status, err.status < 500 ? publicMessage(err) : 'Sign-in is unavailable right now. Try again in a moment.');
  }
  ctx.status = err.status;
  if (err.code === 'validation_failed' && err.details) {
    ctx.body = { detail: err.details };
    return;
  }
  // Keycloak says access_denied with 403 for a refused exchange; RFC 6749 §5.2 errors are 400.
  if (err.code === 'access_denied') ctx.status = 400;
  if (err.code === 'invalid_client' && /^basic /i.test(ctx.get('authorization'))) {
    ctx.set('WWW-Authenticate', 'Basic realm="realm-broker"');
  }
  if (err.code === 'insufficient_scope') ctx.set('WWW-Authenticate', 'Bearer error="insufficient_scope", scope="openid"');
  if (err.code === 'invalid_token') ctx.set('WWW-Authenticate', `Bearer error="invalid_token", error_description="${publicMessage(err).replace(/"/g, "'")}"`);
  const error = err.code.startsWith('upstream_') ? 'temporarily_unavailable'
    : err.code === 'store_unavailable' ? 'temporarily_unavailable'
      : err.code === 'tenant_not_found' || err.code === 'not_found' ? 'not_found'
        : err.code === 'server_error' ? 'server_error'
          : err.code;
  ctx.body = { error, error_description: publicMessage(err) };
};
