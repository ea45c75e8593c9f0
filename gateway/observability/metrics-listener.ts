/**
 * The metrics listener: `GET /metrics` in Prometheus text format, on `metrics.listen` — a port of its own,
 * so the public listener never exposes it by accident. It also serves the admin endpoints when they are
 * mounted (`/admin/*`, gateway/revocation/admin.ts, their own bearer token). Anything else is a 404.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StartupError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { GatewayMetrics } from './metrics.ts';

export interface MetricsListener {
  /** http://host:port/metrics */
  readonly url: string;
  /** Serves `/admin/*` with this handler from now on. */
  mountAdmin(handler: (req: IncomingMessage, res: ServerResponse) => void): void;
  close(): Promise<void>;
}

export async function startMetricsListener(metrics: GatewayMetrics, listen: { host: string; port: number }, log: Logger): Promise<MetricsListener> {
  let admin: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    const path = req.url?.split('?')[0];
    if (admin && path?.startsWith('/admin/')) return admin(req, res);
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (error: unknown) => {
        log.error('metrics collection failed', { err: error });
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new StartupError('LISTEN_FAILED', `metrics.listen: cannot listen on ${listen.host}:${listen.port}: ${error.message}`, { cause: error })));
    server.listen(listen.port, listen.host, () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}/metrics`,
    mountAdmin(handler) {
      admin = handler;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
