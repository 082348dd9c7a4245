/**
 * Logs with pino: JSON lines (pretty through pino-pretty in dev mode on a terminal),
 * `LOG_LEVEL`, every line carrying the request id of the request it was logged for.
 *
 * Secrets never reach a line: pino's `redact` censors tokens, passwords, secrets, codes
 * and cookies wherever a field of those names appears (up to two levels deep); callers
 * log fields, never request bodies.
 *
 * The parts log through the small `Logger` interface below (message first, fields after),
 * so that none of them depends on pino.
 */
import pino from 'pino';
import { currentScope } from '../request-scope.js';

export type Level = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** The one line per request (info), with only the fields below: see `createLogger`. */
  access(fields: AccessFields): void;
}

/** Everything the access line may carry: values the code sets, none a caller chose. */
export interface AccessFields {
  method: string;
  /** The route table's pattern, never the raw path. */
  route: string;
  status: number;
  ms: number;
  tenant?: string;
  upstreamMs: number;
  reqId: string;
}

const SECRET_FIELDS = [
  'password', 'client_secret', 'clientSecret', 'secret', 'access_token', 'refresh_token', 'id_token', 'token',
  'subject_token', 'code_verifier', 'device_code', 'user_code', 'authorization', 'cookie', 'set-cookie',
];
// `code` is our error code at the top of a line and in `err`; an OAuth code only ever sits
// in a request's inputs, so it is censored there.
const INPUT_CONTAINERS = ['query', 'body', 'input', 'params', 'form'];
export const REDACT_PATHS = [
  ...SECRET_FIELDS.flatMap((f) => [`["${f}"]`, `*["${f}"]`, `*.*["${f}"]`]),
  ...INPUT_CONTAINERS.flatMap((c) => [`${c}.code`, `*.${c}.code`]),
];

/**
 * Errors as name, code, message, status, what Keycloak said, and their causes. Our own
 * BrokerErrors are expected outcomes and carry no stack; anything else (a bug) does.
 */
function errSerializer(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error) || depth > 3) return typeof err === 'string' ? err : undefined;
  const e = err as Error & { code?: string; status?: number; upstream?: unknown };
  return {
    name: e.name,
    message: e.message,
    ...(e.code ? { code: e.code } : {}),
    ...(e.status ? { status: e.status } : {}),
    ...(e.upstream ? { upstream: e.upstream } : {}),
    ...(e.name === 'BrokerError' ? {} : { stack: e.stack }),
    ...(e.cause ? { cause: errSerializer(e.cause, depth + 1) } : {}),
  };
}

/**
 * pino's `,"time":"<ISO 8601>"` field, with the date and time up to the second formatted once
 * per second and the milliseconds appended: a proxied grant at a thousand a second lands in a
 * new millisecond nearly every time, and `toISOString` was a tenth of the logging's CPU.
 */
let stampSecond = Number.NaN;
let stampPrefix = '';
export function timeField(now = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== stampSecond) {
    stampSecond = second;
    stampPrefix = `,"time":"${new Date(second * 1000).toISOString().slice(0, -4)}`; // up to "ss."
  }
  const ms = now - second * 1000;
  return `${stampPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z"`;
}

export interface LoggerOptions {
  /** Where lines go (tests collect them); default stdout. */
  write?: (line: string) => void;
  /** Human-readable output (dev mode on a terminal). */
  pretty?: boolean;
  /** Bytes of lines held for stdout while it does not take them (config `logBufferBytes`; 16 MiB). */
  bufferBytes?: number;
}

/**
 * The process's stdout, for log lines: written asynchronously (never blocking a request on a
 * slow stdout) and in batches: one write per line was a tenth of the CPU of a proxied grant (a
 * system call, and a thread-pool round trip, each). A batch is handed to pino's SonicBoom
 * when it reaches `BATCH_CHARS`, or within `BATCH_MS`, so that operators still read lines as
 * they come; what is left is written at exit. The batch is kept here, not in SonicBoom (its
 * `minLength`): SonicBoom measures the UTF-8 length of everything it holds on every write,
 * which made each line cost in proportion to the batch (4–6 µs a line at 8 KiB, on Node 24
 * a quarter of a local answer's CPU). Here a line is appended, and each batch measured once.
 * One per process, however many loggers write to it.
 */
const BATCH_CHARS = 8192;
const BATCH_MS = 200;
const BUFFER_BYTES = 16 * 1024 * 1024;
interface StdoutLines {
  write(line: string): void;
  /** Resolves once every line written so far is out of the process (see `logsWritten`). */
  drained(): Promise<void>;
}
let stdoutDestination: StdoutLines | undefined;
/** Lines dropped since the process started because stdout did not take them (`bufferBytes`). */
let droppedTotal = 0;
function stdoutLines(bufferBytes: number): StdoutLines {
  if (stdoutDestination) return stdoutDestination;
  // Past `maxLength` bytes held (stdout not taking them: a stalled log collector) SonicBoom
  // drops what it is given, and says so, instead of holding lines until memory runs out.
  const stdout = pino.destination({ dest: 1, sync: false, maxLength: bufferBytes });
  let batch = '';
  // Whether SonicBoom holds lines not yet written: it says 'drain' when it holds none.
  let holding = false;
  // Lines dropped and not yet reported: a warning saying how many leads the next batch, and
  // is owed again when that batch is dropped too (SonicBoom says 'drop' within `write`).
  let dropped = 0;
  let refused = false;
  let carriesWarning = false;
  stdout.on('drop', (data: string) => {
    refused = true;
    const lines = linesIn(data) - (carriesWarning ? 1 : 0);
    dropped += lines;
    droppedTotal += lines;
  });
  stdout.on('drain', () => { holding = false; });
  // A batch goes out within BATCH_MS of its first line, and a warning still owed (stdout
  // refused it) is tried again as often: a timer armed for that, not an interval, so that an
  // idle broker is not woken.
  let timer: NodeJS.Timeout | undefined;
  const later = () => {
    timer ??= setTimeout(() => {
      timer = undefined;
      handOver();
    }, BATCH_MS).unref();
  };
  const handOver = () => {
    const owed = dropped;
    if (batch === '' && owed === 0) return;
    const text = owed > 0 ? droppedWarning(owed) + batch : batch;
    batch = '';
    holding = true;
    refused = false;
    carriesWarning = owed > 0;
    stdout.write(text);
    carriesWarning = false;
    if (!refused) dropped -= owed;
    if (dropped > 0) later();
  };
  // pino flushes its SonicBoom at exit, which may come before this: flush again after the last
  // batch. A write already under way is the thread pool's, which exit does not wait for (its
  // lines may land after these): a graceful stop waits for `logsWritten` first.
  process.on('exit', () => {
    handOver();
    try {
      stdout.flushSync();
    } catch {
      // stdout is gone (a closed pipe): there is nowhere left to write to.
    }
  });
  stdoutDestination = {
    write: (line: string) => {
      batch += line;
      if (batch.length >= BATCH_CHARS) handOver();
      else later();
    },
    drained: () => {
      handOver();
      return holding ? new Promise((resolve) => stdout.once('drain', () => resolve())) : Promise.resolve();
    },
  };
  return stdoutDestination;
}

function droppedWarning(lines: number): string {
  return `{"level":"warn"${timeField()},"droppedLines":${lines},"msg":"log lines dropped: stdout did not take them (LOG_BUFFER_BYTES)"}\n`;
}

function linesIn(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** Log lines dropped so far because stdout did not take them (for the metric of that name). */
export function droppedLogLines(): number {
  return droppedTotal;
}

/**
 * Resolves once every line logged to stdout so far has been written, so that a graceful stop
 * exits with its last lines out, in order. (A caller bounds the wait: the stop has its own.)
 */
export function logsWritten(): Promise<void> {
  return stdoutDestination ? stdoutDestination.drained() : Promise.resolve();
}

export function createLogger(level: Level, options: LoggerOptions = {}): Logger {
  const base: pino.LoggerOptions = {
    level,
    base: undefined,
    messageKey: 'msg',
    timestamp: () => timeField(),
    formatters: { level: (label) => ({ level: label }) },
    serializers: { err: (err: unknown) => errSerializer(err) },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    mixin: () => {
      const scope = currentScope();
      return scope ? { reqId: scope.requestId } : {};
    },
  };
  let destination: pino.DestinationStream | undefined;
  if (options.write) {
    const write = options.write;
    destination = { write: (chunk: string) => write(chunk.replace(/\n$/, '')) };
  } else if (options.pretty) {
    destination = pino.transport({ target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } });
  }
  if (!destination) destination = stdoutLines(options.bufferBytes ?? BUFFER_BYTES);
  const p = pino(base, destination);
  const at = (lvl: Exclude<Level, 'silent'>) => (msg: string, fields?: Record<string, unknown>) => p[lvl](fields ?? {}, msg);
  // The access line is written here, not through pino: its fields are fixed by `AccessFields`
  // (values the code sets, no caller input, no secret), so neither redaction nor pino's
  // generic serialisation has anything to do, and they were about a twentieth of the CPU of
  // a proxied grant. The line is the one pino would write (same keys, order, time format).
  const write = destination.write.bind(destination);
  const accessOn = p.isLevelEnabled('info');
  return {
    debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'),
    access: (f) => {
      if (accessOn) write(accessLine(f));
    },
  };
}

/** One access line, as pino would have written it (strings JSON-escaped all the same). */
export function accessLine(f: AccessFields): string {
  const tenant = f.tenant === undefined ? '' : `,"tenant":${JSON.stringify(f.tenant)}`;
  return `{"level":"info"${timeField()},"method":${JSON.stringify(f.method)},"route":${JSON.stringify(f.route)},"status":${f.status},"ms":${f.ms}${tenant},"upstreamMs":${f.upstreamMs},"reqId":${JSON.stringify(f.reqId)},"msg":"request"}\n`;
}
