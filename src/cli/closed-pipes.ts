/**
 * A reader that goes away (`realm-broker migrate … | head -1`, a closed terminal) must not end
 * a command half way: Node reports the closed pipe as an 'error' event on process.stdout or
 * stderr, and with no listener that is an uncaught exception, which skips every `finally`. A
 * migration then kept its lock for the lease's 5 minutes and never said how it ended (attack
 * round 42). Output to a reader that left is dropped; the command runs to its end and its exit
 * code says how it went.
 */
let installed = false;

export function tolerateClosedPipes(): void {
  if (installed) return;
  installed = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') return;
      throw err;
    });
  }
}
