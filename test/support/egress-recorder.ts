/**
 * Preloaded (`node --import`, after tsx) into a gateway process a test starts: every host name the process resolves
 * and every TCP or IPC connection it opens is appended to the file named by FRONTDESK_EGRESS_LOG, one JSON
 * line each ({ lookup } or { host, port } or { path }), so the test can tell what the process reached for
 * (test/integration/gateway/egress.test.ts). It changes nothing in what the process does.
 */
import { appendFileSync } from 'node:fs';
import dns from 'node:dns';
import net from 'node:net';

const file = process.env.FRONTDESK_EGRESS_LOG;
const record = (entry: Record<string, string | number>): void => {
  if (file) appendFileSync(file, `${JSON.stringify(entry)}\n`);
};

const lookup = dns.lookup as (...args: unknown[]) => unknown;
(dns as { lookup: unknown }).lookup = function recordedLookup(this: unknown, hostname: string, ...rest: unknown[]) {
  record({ lookup: hostname });
  return lookup.call(this, hostname, ...rest);
};
const promisesLookup = dns.promises.lookup as (...args: unknown[]) => unknown;
(dns.promises as { lookup: unknown }).lookup = function recordedPromisesLookup(this: unknown, hostname: string, ...rest: unknown[]) {
  record({ lookup: hostname });
  return promisesLookup.call(this, hostname, ...rest);
};

const connect = net.Socket.prototype.connect as (...args: unknown[]) => net.Socket;
(net.Socket.prototype as { connect: unknown }).connect = function recordedConnect(this: net.Socket, ...args: unknown[]) {
  // net.connect() hands over its normalized arguments as one array: [options, callback].
  const first: unknown = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (typeof first === 'object' && first !== null) {
    const options = first as { path?: unknown; host?: unknown; port?: unknown };
    record(options.path !== undefined ? { path: String(options.path) } : { host: typeof options.host === 'string' ? options.host : 'localhost', port: Number(options.port) });
  } else if (typeof first === 'string' && Number.isNaN(Number(first))) record({ path: first });
  else record({ host: typeof args[1] === 'string' ? args[1] : 'localhost', port: Number(first) });
  return connect.apply(this, args);
};
