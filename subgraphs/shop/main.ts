/**
 * `npm run subgraph -- <name>`: runs one example subgraph as it would be deployed.
 *
 * Environment (the only place the subgraphs read it):
 *   PORT                         port to listen on (default accounts 4001, products 4002, reviews 4003)
 *   HOST                         address to bind (default 127.0.0.1)
 *   FRONTDESK_GATEWAY_JWKS       the gateway's key set: URL (http://gateway/.well-known/jwks.json) or file path. Required.
 *   FRONTDESK_GATEWAY_ISSUER     the gateway's issuer identifier (its `identity.issuer`). Required.
 *   FRONTDESK_SUBGRAPH_NAME      the name the supergraph gives this subgraph (default: <name>)
 *   FRONTDESK_REPLAY_PROTECTION  "1" refuses an identity token whose jti was seen before (in-memory)
 *   FRONTDESK_REPLAY_REDIS_URL   redis://host:port: the same, in a Redis every replica shares (docs/subgraph-guide.md,
 *                                "Replay protection across replicas"); that Redis needs maxmemory-policy noeviction
 *   FRONTDESK_DEV_ALLOW_SDL      "1" answers `{ _service { sdl } }` without identity, for `rover subgraph introspect`.
 *                                Development only; refused when NODE_ENV=production.
 */
import { Redis } from 'ioredis';
import { createRedisReplayStore } from '@frontdesk/kit';
import { DEFAULT_PORTS, SUBGRAPH_NAMES, runSubgraph, type SubgraphName } from './example.ts';
import { createExampleSubgraph } from './registry.ts';

function fail(message: string): never {
  process.stderr.write(`subgraph: ${message}\n`);
  process.exit(2);
}

const name = process.argv[2] as SubgraphName | undefined;
if (!name || !SUBGRAPH_NAMES.includes(name)) fail(`usage: npm run subgraph -- <${SUBGRAPH_NAMES.join('|')}>`);

const env = process.env;
const problems: string[] = [];
const jwks = env.FRONTDESK_GATEWAY_JWKS;
const issuer = env.FRONTDESK_GATEWAY_ISSUER;
if (!jwks) problems.push('FRONTDESK_GATEWAY_JWKS is not set: give the gateway JWKS URL (…/.well-known/jwks.json) or a file path');
if (!issuer) problems.push("FRONTDESK_GATEWAY_ISSUER is not set: give the gateway's identity.issuer");
const port = env.PORT === undefined ? DEFAULT_PORTS[name] : Number(env.PORT);
if (!Number.isInteger(port) || port < 0 || port > 65_535) problems.push(`PORT must be an integer 0-65535, got "${env.PORT}"`);
const allowSdl = env.FRONTDESK_DEV_ALLOW_SDL === '1';
if (allowSdl && env.NODE_ENV === 'production') problems.push('FRONTDESK_DEV_ALLOW_SDL=1 is refused when NODE_ENV=production');
const replayRedisUrl = env.FRONTDESK_REPLAY_REDIS_URL;
if (replayRedisUrl !== undefined && !/^rediss?:\/\/\S+$/.test(replayRedisUrl)) problems.push('FRONTDESK_REPLAY_REDIS_URL must be redis://host:port (or rediss://)');
if (problems.length > 0) fail(`cannot start ${name}:\n  - ${problems.join('\n  - ')}`);

// Fail fast while Redis is away (the kit answers 503), and never re-send a SET NX whose answer was lost:
// a re-sent one would find its own key and refuse a fresh token as a replay.
const replayRedis = replayRedisUrl
  ? new Redis(replayRedisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 500, retryStrategy: (attempt) => Math.min(attempt * 100, 1_000) })
  : undefined;
// Each change of state once, not every reconnect attempt.
let replayRedisUp: boolean | undefined;
replayRedis?.on('ready', () => (replayRedisUp = true)).on('error', (error: Error) => {
  if (replayRedisUp !== false) process.stderr.write(`${name}: replay store Redis unavailable (identity tokens are refused with 503 until it is back): ${error.message}\n`);
  replayRedisUp = false;
});

const running = await runSubgraph(createExampleSubgraph[name](), {
  host: env.HOST ?? '127.0.0.1',
  port,
  identity: {
    jwks: jwks as string,
    issuer: issuer as string,
    ...(env.FRONTDESK_SUBGRAPH_NAME ? { subgraph: env.FRONTDESK_SUBGRAPH_NAME } : {}),
    replay: replayRedis ? createRedisReplayStore({ client: replayRedis, keyPrefix: `frontdesk:replay:${name}:` }) : env.FRONTDESK_REPLAY_PROTECTION === '1',
  },
  allowSdlWithoutIdentity: allowSdl,
});
process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), service: name, level: 'info', msg: 'listening', url: running.url })}\n`);
if (allowSdl) process.stderr.write(`WARNING: ${name} answers { _service { sdl } } without an identity token (FRONTDESK_DEV_ALLOW_SDL=1)\n`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    running.close().then(
      () => {
        replayRedis?.disconnect();
        process.exit(0);
      },
      () => process.exit(1),
    );
  });
}
