/** A refusal or failure of the migration that the operator should read: no stack trace, exit 1. */
export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** A command line that names no mode, several, or a malformed --to: bad usage, exit 2 (README "The CLI"). */
export class MigrationUsageError extends MigrationError {
  override name = 'MigrationUsageError';
}
