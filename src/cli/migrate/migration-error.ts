/** A refusal or failure of the migration that the operator should read: no stack trace, exit 1. */
export class MigrationError extends Error {
  override name = 'MigrationError';
}
