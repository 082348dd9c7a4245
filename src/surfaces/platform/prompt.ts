/** The authorization request's `prompt` (OIDC Core §3.1.2.1), in one place. */

/** OIDC Core §3.1.2.1's prompt values, which Keycloak understands (discovery lists them). */
export const PROMPTS = ['none', 'login', 'consent', 'select_account'] as const;

/**
 * Whether a request's `prompt` (kept as the string the realm is sent, and checked by
 * `promptProblem` to hold only `PROMPTS`) asks for `value`.
 */
export function asksPrompt(prompt: string | undefined, value: (typeof PROMPTS)[number]): boolean {
  return prompt?.split(' ').includes(value) ?? false;
}

/** What is wrong with a request's `prompt`, if anything (an `invalid_request` description). */
export function promptProblem(prompt: string | undefined): string | undefined {
  const values = prompt?.split(' ').filter(Boolean) ?? [];
  const unknown = values.filter((p) => !(PROMPTS as readonly string[]).includes(p));
  // An unknown value went on to Keycloak, whose error page the user then saw (prompt=create).
  if (unknown.length) return `Unsupported prompt value: ${unknown.join(' ')}`;
  if (values.includes('none') && values.length > 1) return 'prompt=none cannot be combined with another value';
  return undefined;
}
