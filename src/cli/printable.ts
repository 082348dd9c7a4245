/**
 * Text from Keycloak (a realm's display name, its attributes) as a terminal may show it: each
 * control character (C0, C1, DEL) and each bidirectional override written as `\u{…}`. A realm's
 * admin chooses those names, and the CLI's reader is the broker's operator: raw, an escape
 * sequence could retitle their terminal, a CR or LF forge a line of output, U+202E turn a name
 * around (attack helper round 30b). `--json` output is escaped by JSON already.
 */
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// The same, but line ends: the separators of the CLI's own lines.
// eslint-disable-next-line no-control-regex
const UNPRINTABLE_BUT_LF = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const escape = (c: string) => `\\u{${c.codePointAt(0)!.toString(16)}}`;

/** One value, for a line of output. */
export function printable(value: string): string {
  return value.replace(UNPRINTABLE, escape);
}

/** Lines of output whose values were made printable already: a last pass that keeps the line ends. */
export function printableLines(text: string): string {
  return text.replace(UNPRINTABLE_BUT_LF, escape);
}
