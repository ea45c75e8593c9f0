/**
 * The config table: every gateway.yaml key once, with its default, unit, bounds and doc line. It drives
 * validation (../read.ts), the config types (../types.ts), the README reference and the JSON Schema
 * (`npm run docs:config`). A new key goes in the section file it belongs to, and nowhere else.
 */
import { admission } from './admission.ts';
import { auth } from './auth.ts';
import { cors, sessions } from './browser.ts';
import { duration, oneOf, section } from './fields.ts';
import { identity } from './identity.ts';
import { limits } from './limits.ts';
import { metrics, tracing } from './observability.ts';
import { forwardHeaders, listen, server, subgraphDefaults, subgraphs, supergraph } from './network.ts';
import { admin, revocation } from './revocation.ts';
import { rateLimit } from './rate-limit.ts';
import { store } from './store.ts';

import { LOG_LEVELS } from '@frontdesk/kit/contract';
export { LOG_LEVELS };
export const LOG_FORMATS = ['json', 'pretty'] as const;

export const CONFIG_TABLE = section('frontdesk gateway configuration (gateway.yaml).', {
  listen,
  server,
  admission,
  supergraph,
  subgraphs,
  subgraphDefaults,
  forwardHeaders,
  limits,
  auth,
  identity,
  cors,
  sessions,
  logLevel: oneOf(LOG_LEVELS, { default: 'info', doc: 'lines on stdout at this level and above (the audit stream of authentication decisions is at `info`)' }),
  logFormat: oneOf(LOG_FORMATS, { default: 'json', doc: '`json`: one object per line (pino); `pretty`: coloured lines for development (needs the `pino-pretty` dev dependency)' }),
  metrics,
  tracing,
  store,
  revocation,
  admin,
  rateLimit,
  shutdownDelay: duration({
    default: '5s',
    max: '5m',
    doc: 'on SIGTERM, how long `/readyz` answers 503 while requests are still served, so the load balancer stops sending before the drain',
  }),
  shutdownGrace: duration({ default: '10s', max: '10m', doc: 'on SIGTERM, how long in-flight requests may finish' }),
});
