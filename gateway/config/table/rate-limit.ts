/**
 * Config table: rate limits (docs/fleet.md "Rate limits"). Budgets count operation cost, per verified
 * principal (the client address for anonymous callers), in a window shared by the fleet through
 * `store.redis` (in this process's memory without it). Failed authentications are throttled per client
 * address and per API key id. Absent, nothing is limited.
 */
import { AUTH_METHODS } from '@frontdesk/kit/contract';
import { duration, integer, list, oneOf, optionalSection, section, string, type FinishContext } from './fields.ts';

/** A rule name: a metric label and an RFC 8941 string in `RateLimit-Policy`, so letters, digits, `_` and `-`. */
export const RULE_NAME_PATTERN = '^[a-z0-9][a-z0-9_-]{0,31}$';
/** What the failed-authentication throttle is called in metrics; no rule may take these names. */
export const FAILED_AUTH_RULES = { address: 'failed-auth-address', apiKey: 'failed-auth-api-key' } as const;
export const STORE_UNAVAILABLE_POLICIES = ['open', 'closed'] as const;

const values = (doc: string) => list(string({ doc: 'a value' }), { default: [], defaultText: 'any', single: true, doc });

const match = section('Which principals a rule applies to: every key given must hold (any of its values); none given matches everyone.', {
  methods: list(oneOf(AUTH_METHODS, { doc: 'an authentication method (`amr`)' }), { default: [], defaultText: 'any', single: true, doc: 'the principal was authenticated by one of these (`anonymous` for callers without a credential)' }),
  roles: values('the principal has one of these roles (an API key plan is a role of its keys)'),
  scopes: values('the principal has one of these scopes'),
  clientIds: values('the principal\'s OAuth client id is one of these'),
  issuers: values('the principal was vouched for by one of these issuers'),
  tenants: values('the principal\'s tenant is one of these'),
});

const rule = section(
  'A budget of operation cost per caller and window.',
  {
    name: string({
      required: 'a short name such as `partners`; it is the metric label and the policy name in `RateLimit-Policy`',
      pattern: RULE_NAME_PATTERN,
      patternProblem: 'must be 1-32 lower-case letters, digits, _ or -, starting with a letter or digit',
      doc: 'the rule\'s name: the `rule` label of `frontdesk_rate_limited_total` and the policy in `RateLimit-Policy`',
    }),
    match,
    budget: integer({ required: 'the cost units a caller may spend per window, e.g. 1000', min: 1, max: 1_000_000_000, doc: 'cost units per caller per window; one operation is charged at most this' }),
    window: duration({ default: '1m', min: '1s', max: '1d', doc: 'the fixed window a budget is spent in (whole seconds); it starts at a caller\'s first operation' }),
  },
  (read, { key, problem }: FinishContext) => {
    if (read.windowMs % 1000 !== 0) problem(`${key}.window: must be whole seconds (RateLimit-Policy \`w\` is in seconds)`);
    return read;
  },
);

const failedAuth = section('Throttling of failed authentications, so guessing credentials is slow; checked before any verification.', {
  perAddress: integer({ defaultText: '30', min: 0, max: 1_000_000, doc: 'failed authentications per client address (IPv6: per /64) per window; then 429 before verification; `0`: off' }),
  perApiKey: integer({ defaultText: '10', min: 0, max: 1_000_000, doc: 'failed authentications per API key id (the public part of `fd_<id>_…`) per window; `0`: off' }),
  window: duration({ default: '1m', min: '1s', max: '1d', doc: 'the window failures are counted in (whole seconds)' }),
});

const cost = section('How an operation\'s cost is counted (docs/fleet.md "Rate limits").', {
  listArguments: list(string({ pattern: '^[_A-Za-z][_0-9A-Za-z]*$', patternProblem: 'must be a GraphQL argument name', doc: 'argument name' }), {
    default: ['first', 'last', 'limit'],
    doc: 'an integer argument of these names multiplies the cost of the field\'s selections (the list size it asks for)',
  }),
  maxListSize: integer({ default: 100, min: 1, max: 100_000, doc: 'the largest multiplier one list argument applies' }),
});

/** Failed authentications allowed per window when `rateLimit` is on and `failedAuth` does not say. */
export const FAILED_AUTH_DEFAULTS = { perAddress: 30, perApiKey: 10 } as const;

export const rateLimit = optionalSection(
  'Rate limits per caller, shared by the fleet with `store.redis` (docs/fleet.md "Rate limits"). Off unless it has `rules` or `failedAuth` limits.',
  {
    rules: list(rule, { defaultText: 'none', doc: 'first matching rule wins; a caller no rule matches is not limited' }),
    failedAuth,
    cost,
    storeUnavailable: oneOf(STORE_UNAVAILABLE_POLICIES, {
      default: 'closed',
      doc: 'when Redis cannot answer within `store.redis.timeout`: `closed` answers 503 `AUTH_UNAVAILABLE`; `open` lets the request through, counted in `frontdesk_rate_limit_store_unavailable_total` and logged',
    }),
  },
  (read, { key, problem }) => {
    const { perAddress, perApiKey, windowMs } = read.failedAuth;
    if (read.rules.length === 0 && perAddress === undefined && perApiKey === undefined) return undefined;
    if (windowMs % 1000 !== 0) problem(`${key}.failedAuth.window: must be whole seconds`);
    const names = read.rules.map((entry) => entry.name);
    for (const name of new Set(names.filter((name, index) => names.indexOf(name) !== index))) problem(`${key}.rules: "${name}" is named twice; each rule needs its own name`);
    for (const name of names.filter((name) => Object.values(FAILED_AUTH_RULES).includes(name as never))) problem(`${key}.rules: "${name}" is the failed-authentication throttle's name; pick another`);
    return { ...read, failedAuth: { perAddress: perAddress ?? FAILED_AUTH_DEFAULTS.perAddress, perApiKey: perApiKey ?? FAILED_AUTH_DEFAULTS.perApiKey, windowMs } };
  },
);
