/**
 * The few server-rendered pages: plain, accessible HTML with a strict CSP (no script at
 * all; the one style block carries a per-response nonce), and every form carrying its
 * CSRF token.
 */
import { randomBytes } from 'node:crypto';
import type Koa from 'koa';
import type { PageTarget } from '../http/error-handler.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
label{display:block;margin:.5rem 0 .25rem}input[type=email]{width:100%;padding:.5rem;font-size:1rem}
button{margin-top:1rem;padding:.5rem 1rem;font-size:1rem}.error{color:#a00}`;

/**
 * `formTargets`: origins a form may end up at. Browsers apply CSP form-action to the
 * redirects that follow a submission too, and the email form's answer is a redirect to
 * the tenant realm's login page.
 */
export function renderPage(ctx: PageTarget, status: number, title: string, body: string, formTargets: string[] = []): void {
  const nonce = randomBytes(16).toString('base64');
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Content-Security-Policy', `default-src 'none'; style-src 'nonce-${nonce}'; form-action ${["'self'", ...formTargets].join(' ')}; frame-ancestors 'none'; base-uri 'none'`);
  ctx.body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style nonce="${nonce}">${STYLE}</style></head>
<body><main>${body}</main></body></html>`;
}

export function errorPage(ctx: PageTarget, status: number, message: string): void {
  renderPage(ctx, status, 'Sign-in error', `<h1>Sign-in error</h1><p class="error" role="alert">${escapeHtml(message)}</p>`);
}

export function emailPage(ctx: Koa.Context, o: { appName: string; action: string; tx: string; csrf: string; error?: string; formTargets: string[] }): void {
  renderPage(ctx, o.error ? 400 : 200, `Sign in to ${o.appName}`, `<h1>Sign in to ${escapeHtml(o.appName)}</h1>
${o.error ? `<p class="error" role="alert">${escapeHtml(o.error)}</p>` : ''}
<form method="post" action="${escapeHtml(o.action)}">
<input type="hidden" name="tx" value="${escapeHtml(o.tx)}"><input type="hidden" name="csrf" value="${escapeHtml(o.csrf)}">
<label for="email">Email address</label>
<input id="email" name="email" type="email" autocomplete="username" required autofocus>
<button type="submit">Continue</button>
</form>`, o.formTargets);
}

export function chooserPage(ctx: Koa.Context, o: { appName: string; action: string; tx: string; csrf: string; tenants: { slug: string; name: string }[]; formTargets: string[] }): void {
  const options = o.tenants.map((t) => `<li><button type="submit" name="tenant" value="${escapeHtml(t.slug)}">${escapeHtml(t.name)}</button></li>`).join('\n');
  renderPage(ctx, 200, `Choose your organisation`, `<h1>Choose your organisation</h1>
<p>Your address belongs to several organisations. Which one do you want to use with ${escapeHtml(o.appName)}?</p>
<form method="post" action="${escapeHtml(o.action)}">
<input type="hidden" name="tx" value="${escapeHtml(o.tx)}"><input type="hidden" name="csrf" value="${escapeHtml(o.csrf)}">
<ul>${options}</ul>
</form>`, o.formTargets);
}

export function deviceEntryPage(ctx: Koa.Context, o: { action: string; csrf: string; userCode?: string; error?: string; formTargets: string[] }): void {
  renderPage(ctx, o.error ? 400 : 200, 'Connect a device', `<h1>Connect a device</h1>
<p>Enter the code shown on your device.</p>
${o.error ? `<p class="error" role="alert">${escapeHtml(o.error)}</p>` : ''}
<form method="post" action="${escapeHtml(o.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(o.csrf)}">
<label for="user_code">Code</label>
<input id="user_code" name="user_code" type="text" autocomplete="off" autocapitalize="characters" spellcheck="false" required value="${escapeHtml(o.userCode ?? '')}">
<button type="submit">Continue</button>
</form>`, o.formTargets);
}

/** The approval page: the code, the app, the scopes and who is signed in, then the user's own click. */
export function deviceApprovePage(ctx: Koa.Context, o: { action: string; csrf: string; consent: string; userCode: string; appName: string; scopes: string[]; signedInAs: string }): void {
  const scopes = o.scopes.map((s) => `<li>${escapeHtml(s)}</li>`).join('');
  renderPage(ctx, 200, `Allow ${o.appName}?`, `<h1>Allow ${escapeHtml(o.appName)}?</h1>
<p>You are signed in as <strong>${escapeHtml(o.signedInAs)}</strong>.</p>
<p>The device showing the code <strong>${escapeHtml(o.userCode)}</strong> asks to sign in as you, with access to:</p>
<ul>${scopes}</ul>
<p>Allow it only if you started this on your own device and it shows this code.</p>
<form method="post" action="${escapeHtml(o.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(o.csrf)}"><input type="hidden" name="consent" value="${escapeHtml(o.consent)}">
<button type="submit" name="action" value="approve">Allow</button>
<button type="submit" name="action" value="deny">Deny</button>
</form>`);
}

export function deviceResultPage(ctx: Koa.Context, approved: boolean, appName: string): void {
  renderPage(ctx, 200, approved ? 'Device connected' : 'Device not connected', approved
    ? `<h1>Device connected</h1><p>${escapeHtml(appName)} is signed in. You can return to your device.</p>`
    : `<h1>Device not connected</h1><p>You denied ${escapeHtml(appName)}. Nothing was shared with it.</p>`);
}

/** RP-Initiated Logout without a valid id_token_hint: the user confirms (the request's parameters ride along). */
export function logoutConfirmPage(ctx: Koa.Context, o: { action: string; csrf: string; appName?: string; fields: Record<string, string | undefined>; formTargets: string[] }): void {
  const hidden = Object.entries(o.fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v!)}">`).join('');
  renderPage(ctx, 200, 'Sign out?', `<h1>Sign out?</h1>
<p>${o.appName ? `${escapeHtml(o.appName)} asks to sign you out.` : 'A request asks to sign you out.'} Do you want to sign out of every application that uses this sign-in?</p>
<form method="post" action="${escapeHtml(o.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(o.csrf)}"><input type="hidden" name="confirm" value="yes">${hidden}
<button type="submit">Sign out</button>
</form>`, o.formTargets);
}

/** `emailWithoutDomainRule: ask`: the same page for every address that no domain rule covers. */
export function organisationPage(ctx: Koa.Context, o: { appName: string; action: string; tx: string; csrf: string; error?: string; formTargets: string[] }): void {
  renderPage(ctx, o.error ? 400 : 200, `Sign in to ${o.appName}`, `<h1>Sign in to ${escapeHtml(o.appName)}</h1>
${o.error ? `<p class="error" role="alert">${escapeHtml(o.error)}</p>` : ''}
<p>Which organisation do you sign in with?</p>
<form method="post" action="${escapeHtml(o.action)}">
<input type="hidden" name="tx" value="${escapeHtml(o.tx)}"><input type="hidden" name="csrf" value="${escapeHtml(o.csrf)}">
<label for="organisation">Organisation</label>
<input id="organisation" name="organisation" type="text" autocomplete="organization" required autofocus>
<button type="submit">Continue</button>
</form>`, o.formTargets);
}
