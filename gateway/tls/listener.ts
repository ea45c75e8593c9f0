/**
 * The client-facing server: node:http, or node:https with `listen.tls` (README "HTTPS and client
 * certificates"). With `clientCa`, a client certificate is requested but never refused at the TLS layer
 * (`rejectUnauthorized: false`): a browser shows a TLS alert as a network error, while the gateway answers
 * a JSON 401 the client can read (gateway/auth/peer-certificate.ts reads Node's verdict per connection).
 * Certificate, key and CA files are polled and swapped in with `setSecureContext` when they change, so a
 * rotation needs no restart; a pair that does not load keeps the current one serving, and the log says why.
 */
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { SecureContextOptions } from 'node:tls';
import type { ListenTlsConfig } from '../config/types.ts';
import { StartupError } from '../errors.ts';
import type { Logger } from '../log.ts';

export interface FrontServer {
  server: Server;
  /** `http` or `https`. */
  protocol: 'http' | 'https';
  /** Stops watching the certificate files. */
  stopWatching(): void;
}

export function createFrontServer(tls: ListenTlsConfig | undefined, options: ServerOptions, handler: RequestListener, log: Logger, pollMs = 1_000): FrontServer {
  if (!tls) return { server: createHttpServer(options, handler), protocol: 'http', stopWatching: () => {} };
  let context: SecureContextOptions;
  try {
    context = readContext(tls);
  } catch (error) {
    throw new StartupError('LISTEN_FAILED', `listen.tls: cannot read the certificate files: ${(error as Error).message}`, { cause: error });
  }
  const server: HttpsServer = createHttpsServer(
    { ...options, ...context, requestCert: tls.clientCa !== undefined, rejectUnauthorized: false, minVersion: 'TLSv1.2' },
    handler,
  );
  // A failed handshake has no request to answer; it only gets a debug line.
  server.on('tlsClientError', (error) => log.debug('TLS handshake failed', { error }));

  const files = [tls.cert, tls.key, ...(tls.clientCa ? [tls.clientCa] : [])];
  const reload = (current: { mtimeMs: number }, previous: { mtimeMs: number }) => {
    if (current.mtimeMs === previous.mtimeMs) return;
    try {
      server.setSecureContext(readContext(tls));
      log.info('TLS certificate reloaded', { cert: tls.cert });
    } catch (error) {
      log.error('TLS certificate files do not load; keeping the current certificate', { cert: tls.cert, error });
    }
  };
  for (const file of files) watchFile(file, { interval: pollMs, persistent: false }, reload);
  return { server: server as unknown as Server, protocol: 'https', stopWatching: () => files.forEach((file) => unwatchFile(file, reload)) };
}

function readContext(tls: ListenTlsConfig): SecureContextOptions {
  return {
    cert: readFileSync(tls.cert),
    key: readFileSync(tls.key),
    ...(tls.clientCa ? { ca: readFileSync(tls.clientCa) } : {}),
  };
}
