/**
 * Serves the demo app (this folder's static files) on its own origin, with `config.json` telling the pages
 * where the gateway and the identity provider are. Used by `npm start` (:4006) and the browser tests
 * (port 0). Development only.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface DemoConfig {
  /** The gateway's base URL (no trailing slash). */
  gateway: string;
  /** The identity provider, for the bearer page's own sign-in. */
  issuer: string;
  /** The public client the bearer page signs in as. */
  spaClientId: string;
  /** RFC 8707 resource the bearer page asks tokens for, if the provider needs one. */
  resource?: string;
}

const FILES: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/bearer.html': 'bearer.html',
  '/session.js': 'session.js',
  '/bearer.js': 'bearer.js',
  '/shared.js': 'shared.js',
  '/demo.css': 'demo.css',
};
const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

export async function startDemoApp(config: DemoConfig, options: { host?: string; port?: number } = {}): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://demo').pathname;
    if (path === '/config.json') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      return void res.end(JSON.stringify(config));
    }
    const file = Object.hasOwn(FILES, path) ? FILES[path] : undefined;
    if (req.method !== 'GET' || file === undefined) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    const type = TYPES[file.split('.').pop() as string] ?? 'application/octet-stream';
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(readFileSync(fileURLToPath(new URL(file, import.meta.url))));
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject); // e.g. the port is taken
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
