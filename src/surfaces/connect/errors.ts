/**
 * The connect API's error shape. It is a FastAPI service: errors are `{"detail": ...}`,
 * a string for HTTPException-style errors and a list of `{loc, msg, type}` for 422.
 * We add `error`, the stable code, for programs. OAuth refusals map onto the page's
 * statuses: bad client or user credentials are 401, an unknown realm is 404.
 */
import { publicMessage } from '../../errors.js';
import type { ErrorSerializer } from '../../http/error-handler.js';

const STATUS: Partial<Record<string, number>> = {
  invalid_client: 401,
  invalid_grant: 401,
  unauthorized_client: 400,
  invalid_token: 401,
  tenant_not_found: 404,
};

const MESSAGE: Partial<Record<string, string>> = {
  invalid_client: 'Authentication failed: invalid client credentials',
  invalid_grant: 'Authentication failed: invalid user credentials',
  tenant_not_found: 'Realm not found',
};

export const serializeConnectError: ErrorSerializer = (ctx, err) => {
  ctx.status = STATUS[err.code] ?? err.status;
  if (err.code === 'validation_failed' && err.details) {
    ctx.body = { detail: err.details };
    return;
  }
  const detail = MESSAGE[err.code] ?? publicMessage(err);
  ctx.body = { detail, error: err.code };
};
