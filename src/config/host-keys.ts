/**
 * Host-keyed maps of config (`scaiwave.hosts`, `scaiwave.redirectUris`) in the one spelling
 * a request's host is looked up in (http/request-host.ts): lowercase, no trailing dot, an
 * internationalised name as its ASCII (punycode) form, as browsers send it in `Host`.
 *
 * Why: keys were taken as written, and a key spelled otherwise (`Globex.Localhost`,
 * `initech.localhost:3000`, `bücher.localhost`, `b.example.`) never matched, so its host got
 * the default tenant, without a word at start (attack round 48). A key is now normalised, and
 * one that cannot name a host (a port, a path, a space) or that names the same host as another
 * key is refused with the broker's other config mistakes.
 */
import { domainToASCII } from 'node:url';

/** A key in the spelling `requestHost` gives, or undefined when it cannot be a host name. */
function hostKey(written: string): string | undefined {
  const lower = written.trim().toLowerCase();
  // An IPv6 literal, as requestHost keeps it: `[::1]`.
  if (/^\[[0-9a-f:.]+\]$/.test(lower)) return lower;
  const name = lower.endsWith('.') ? lower.slice(0, -1) : lower;
  if (!name || /[:/?#@\s\\]/.test(name)) return undefined;
  const ascii = domainToASCII(name);
  return ascii && !ascii.split('.').includes('') ? ascii : undefined;
}

/**
 * `map` with its keys normalised; each key that cannot be a host, or that names a host another
 * key names already, adds a line to `problems` (under `path`, e.g. `scaiwave.hosts`).
 */
export function normalisedHostKeys<T>(map: Record<string, T>, path: string, problems: string[]): Record<string, T> {
  const out: Record<string, T> = Object.create(null);
  const writtenAs = new Map<string, string>();
  for (const [written, value] of Object.entries(map)) {
    const key = hostKey(written);
    if (key === undefined) {
      problems.push(`${path}: "${written}" is not a host name (write the name alone: no port, path or scheme; every port of the host is meant)`);
      continue;
    }
    const earlier = writtenAs.get(key);
    if (earlier !== undefined) {
      problems.push(`${path}: "${earlier}" and "${written}" name the same host (${key}); keep one`);
      continue;
    }
    writtenAs.set(key, written);
    out[key] = value;
  }
  return out;
}
