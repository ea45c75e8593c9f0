/**
 * A loopback port for a server whose address must be known before it starts (an OIDC redirect URI, a
 * redis-server that is killed and restarted on the same port). Tests otherwise listen on port 0.
 *
 * Chosen below the kernel's ephemeral range (Linux: 32768-60999, `net.ipv4.ip_local_port_range`): a port
 * taken from port 0 and released lies in that range, where any outgoing connection of a parallel test
 * may take it before the server binds it (seen on CI as EADDRINUSE). Outgoing connections never use a
 * port below the range, so only another caller of this function could collide: a random pick, checked by
 * binding it.
 */
import { createServer } from 'node:net';

const LOW = 20_000;
const HIGH = 32_000;

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port between ${LOW} and ${HIGH} after 50 attempts`);
}
