/**
 * Structured logs, backed by pino: one root logger made at the entry point (gateway/main.ts, or
 * startGateway when embedded), children per room and per request. Every entry has `time` (ISO 8601),
 * `level` (a name, not pino's number) and `msg`; request-scoped loggers add `requestId`.
 *
 * What never reaches a line: credentials and tokens wherever they appear under the names in REDACTED
 * (`authorization`, cookies, API keys, tokens…), and claim values beyond what docs/production.md lists.
 * Errors under `err`, `error` or `cause` keep their type, message, stack and `cause` chain.
 *
 * The rest of the code sees only the small `Logger` interface below, so swapping the backend touched no
 * caller. The audit stream (`audit: true`) is a child of the same root, not a second logging system.
 */
import { Writable } from 'node:stream';
import type { LogLevel } from '@frontdesk/kit/contract';
import { StartupError } from './errors.ts';
import { pino, stdSerializers, stdTimeFunctions, type DestinationStream, type Logger as PinoLogger } from 'pino';

export type { LogLevel };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
  /** Whether a line at `level` would be written: lets a hot path skip building fields nobody reads. */
  isEnabled(level: LogLevel): boolean;
}

export interface LoggerOptions {
  /** Lowest level written. Default is info. */
  level?: LogLevel;
  /** Where lines go, one JSON object per call (tests capture them). Default is process.stdout. */
  write?: (line: string) => void;
  /** A stream instead of `write` (the pretty printer). */
  destination?: DestinationStream;
  /** Fields added to every entry. */
  base?: Record<string, unknown>;
}

/**
 * Field names whose values are replaced by "[Redacted]" at the top level, one level down (`headers.x`,
 * `request.x`) and under `headers` one level down (`req.headers.x`). pino's redaction is compiled once.
 */
const SECRET_NAMES = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'token', 'accessToken', 'access_token', 'idToken', 'id_token', 'refreshToken', 'refresh_token', 'password', 'clientSecret', 'client_secret'];
export const REDACTED = SECRET_NAMES.flatMap((name) => {
  const key = /^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `["${name}"]`;
  return [key.startsWith('.') ? name : key, `*${key}`, `*.headers${key}`];
});

export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write;
  const destination: DestinationStream =
    options.destination ??
    (write
      ? { write: (line: string) => write(line) }
      : // Synchronous writes to fd 1: a crash loses no line, and ordering with process.stdout is kept.
        pino.destination({ dest: 1, sync: true }));
  const root = pino(
    {
      level: options.level ?? 'info',
      base: { ...options.base },
      messageKey: 'msg',
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: stdSerializers.errWithCause, error: stdSerializers.errWithCause, cause: stdSerializers.errWithCause },
      redact: { paths: REDACTED, censor: '[Redacted]' },
    },
    destination,
  );
  return wrap(root);
}

function wrap(logger: PinoLogger): Logger {
  return {
    debug: (msg, fields) => (fields ? logger.debug(fields, msg) : logger.debug(msg)),
    info: (msg, fields) => (fields ? logger.info(fields, msg) : logger.info(msg)),
    warn: (msg, fields) => (fields ? logger.warn(fields, msg) : logger.warn(msg)),
    error: (msg, fields) => (fields ? logger.error(fields, msg) : logger.error(msg)),
    child: (fields) => lazyChild(logger, fields),
    isEnabled: (level) => logger.isLevelEnabled(level),
  };
}

/**
 * A child logger made when it first writes. The HTTP front makes one per request (its `requestId`), and
 * pino's `child()` serializes and redacts the bindings at once: ~2 % of a request's CPU on a gateway that
 * logs at warn, where most requests never write a line (docs/performance.md "Observability", ninth pass).
 * The child has its parent's level, as a pino child does until it is set otherwise (never, here).
 */
function lazyChild(parent: PinoLogger, fields: Record<string, unknown>): Logger {
  let made: Logger | undefined;
  const child = () => (made ??= wrap(parent.child(fields)));
  return {
    debug: (msg, more) => parent.isLevelEnabled('debug') && child().debug(msg, more),
    info: (msg, more) => parent.isLevelEnabled('info') && child().info(msg, more),
    warn: (msg, more) => parent.isLevelEnabled('warn') && child().warn(msg, more),
    error: (msg, more) => parent.isLevelEnabled('error') && child().error(msg, more),
    child: (more) => child().child(more),
    isEnabled: (level) => parent.isLevelEnabled(level),
  };
}

/**
 * A destination that prints lines for people (`logFormat: pretty`, `npm start`). pino-pretty is a dev
 * dependency, loaded only when asked for, so the production image does not carry it.
 */
export async function prettyDestination(): Promise<DestinationStream> {
  let pretty: (options: Record<string, unknown>) => Writable;
  try {
    ({ default: pretty } = (await import('pino-pretty')) as unknown as { default: typeof pretty });
  } catch (error) {
    throw new Error('logFormat: pretty needs the pino-pretty package (a dev dependency); use logFormat: json in production', { cause: error });
  }
  return pretty({ translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', singleLine: true, sync: true }) as unknown as DestinationStream;
}

/**
 * The root logger for a config: `logLevel`, and JSON lines on stdout or, with `logFormat: pretty`, lines
 * for people. Made once per process by the entry point (gateway/main.ts), or by startGateway if embedded.
 */
export async function loggerFor(config: { logLevel: LogLevel; logFormat: 'json' | 'pretty' }): Promise<Logger> {
  const base = { service: 'gateway' };
  if (config.logFormat === 'json') return createLogger({ level: config.logLevel, base });
  try {
    return createLogger({ level: config.logLevel, base, destination: await prettyDestination() });
  } catch (error) {
    throw new StartupError('CONFIG_INVALID', (error as Error).message, { cause: error });
  }
}

/** Adapts a Logger to the interface Apollo Server and Apollo Gateway expect. */
export function apolloLogger(log: Logger) {
  return {
    debug: (message: unknown) => log.debug(String(message)),
    info: (message: unknown) => log.info(String(message)),
    warn: (message: unknown) => log.warn(String(message)),
    error: (message: unknown) => log.error(String(message)),
  };
}
