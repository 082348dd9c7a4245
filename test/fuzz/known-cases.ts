/**
 * Counterexamples the fuzzer found, replayed first by their property on every run (as
 * fast-check `examples`), so each stays checked even when the random cases miss it.
 * Keyed by `surface family`; all of them broke the oracle when they were found.
 */
import type { FuzzRequest } from './requests.js';

const FORM = 'application/x-www-form-urlencoded';
const none = { kind: 'none' } as const;
const toStringNotAFunction = { toString: 1 };

export const KNOWN: Record<string, FuzzRequest[]> = {
  // A JSON user_code that String() cannot convert: TypeError, 500 (device.ts deviceVerifyComplete).
  'platform types': [
    { route: 'platform device-verify', method: 'POST', path: '/api/v1/platform/oauth/device/verify', query: '', headers: {},
      body: { kind: 'json', contentType: 'application/json', fields: [['action', 'approve'], ['user_code', toStringNotAFunction]] } },
    // The same on the device page (deviceEntrySubmit), past its CSRF check: a 500 page.
    { route: 'platform device-page-submit', method: 'POST', path: '/api/v1/platform/oauth/device', query: '', headers: { cookie: 'rb_fcsrf=x' },
      body: { kind: 'json', contentType: 'application/json', fields: [['csrf', 'x'], ['user_code', toStringNotAFunction]] } },
  ],
  'tenant types': [
    { route: 'tenant device-verify', method: 'POST', path: '/api/v1/auth/tenants/acme/oauth/device/verify', query: '', headers: {},
      body: { kind: 'json', contentType: 'application/json', fields: [['action', 'deny'], ['user_code', toStringNotAFunction]] } },
  ],
  // 405 and 501 are text/plain on every surface (issue 8, defect 13).
  'connect methods': [
    { route: 'connect token', method: 'GET', path: '/auth/api/v1/oauth/connect/token', query: '', headers: {}, body: none },
    { route: 'connect healthz', method: 'PROPFIND', path: '/auth/api/v1/healthz', query: '', headers: {}, body: none },
    // The serializer is chosen by a case-sensitive prefix, the routes match any case.
    { route: 'connect token', method: 'POST', path: '/AUTH/API/V1/OAUTH/CONNECT/TOKEN', query: '', headers: {}, body: none },
  ],
  'scaiwave methods': [
    { route: 'scaiwave token', method: 'DELETE', path: '/v1/auth/token', query: '', headers: {}, body: none },
    { route: 'scaiwave token', method: 'POST', path: '/V1/AUTH/token', query: '', headers: {}, body: none },
  ],
  'platform methods': [
    { route: 'platform token', method: 'PUT', path: '/api/v1/platform/oauth/token', query: '', headers: {}, body: none },
    { route: 'platform userinfo-post', method: 'POST', path: '/API/V1/PLATFORM/OAUTH/USERINFO', query: '', headers: {}, body: none },
  ],
  'tenant methods': [
    { route: 'tenant token', method: 'HEAD', path: '/api/v1/auth/tenants/acme/oauth/token', query: '', headers: {}, body: none },
    { route: 'tenant callback', method: 'GET', path: '/API/V1/AUTH/TENANTS/acme/OAUTH/CALLBACK', query: '', headers: {}, body: none },
  ],
  // Body errors come before the route marks itself a page: a browser's form gets JSON.
  'platform bodies': [
    { route: 'platform email-submit', method: 'POST', path: '/api/v1/platform/oauth/login', query: '', headers: {},
      body: { kind: 'huge', contentType: FORM, size: 65_537, chunked: false } },
    { route: 'platform tenant-choice', method: 'POST', path: '/api/v1/platform/oauth/choose', query: '', headers: {},
      body: { kind: 'raw', contentType: 'multipart/form-data; boundary=x', text: '--x\r\nContent-Disposition: form-data; name="tx"\r\n\r\nx\r\n--x--\r\n' } },
  ],
};
