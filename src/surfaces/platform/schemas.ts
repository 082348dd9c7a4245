/** Request schemas of the Platform OAuth API (seeds/004). */
import { z } from 'zod';

const opt = z.string().optional();

/** Body_platform_token_api_v1_platform_oauth_token_post */
export const tokenInput = {
  grant_type: z.string(),
  client_id: opt,
  client_secret: opt,
  code: opt,
  device_code: opt,
  refresh_token: opt,
  redirect_uri: opt,
  code_verifier: opt,
  scope: opt,
  subject_token: opt,
  subject_token_type: opt,
  audience: opt,
  requested_token_type: opt,
};

/** Body_device_authorize_api_v1_platform_oauth_device_authorize_post */
export const deviceAuthorizeInput = {
  client_id: opt,
  client_secret: opt,
  scope: opt,
};

export const deviceVerifyInput = {
  user_code: z.string().max(64),
};
