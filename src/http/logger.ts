/**
 * JSON-lines logger. The request id comes from Koa's async-local context, so every
 * line logged while serving a request carries it without passing a logger around.
 * Errors are logged by name, code and message (and their causes); request bodies,
 * tokens and secrets are never logged.
 */
import type Koa from 'koa';

export type Level = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

function describe(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error) || depth > 3) return typeof err === 'string' ? err : undefined;
  const e = err as Error & { code?: string; status?: number; upstream?: unknown };
  return {
    name: e.name,
    message: e.message,
    ...(e.code ? { code: e.code } : {}),
    ...(e.status ? { status: e.status } : {}),
    ...(e.upstream ? { upstream: e.upstream } : {}),
    ...(e.cause ? { cause: describe(e.cause, depth + 1) } : {}),
  };
}

export function createLogger(level: Level, app?: () => Koa | undefined, write: (line: string) => void = (l) => process.stdout.write(l + '\n')): Logger {
  const min = ORDER[level];
  const emit = (lvl: Level, msg: string, fields: Record<string, unknown> = {}) => {
    if (ORDER[lvl] < min) return;
    const ctx = app?.()?.currentContext as Koa.Context | undefined;
    const { err, ...rest } = fields;
    write(JSON.stringify({
      time: new Date().toISOString(),
      level: lvl,
      msg,
      ...(ctx?.state?.requestId ? { reqId: ctx.state.requestId } : {}),
      ...rest,
      ...(err !== undefined ? { err: describe(err) } : {}),
    }));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}
