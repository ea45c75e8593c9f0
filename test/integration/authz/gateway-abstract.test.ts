/**
 * The gateway's check on interfaces and unions, non-null bubbling, renamed imports and supergraph reloads,
 * with a small "library" subgraph built with the kit (the shop has no abstract types). The subgraph is real
 * (kit identity verification and authorization, over HTTP); what it received is recorded.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { Kind, parse, visit, type DocumentNode } from 'graphql';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../gateway/config/load.ts';
import { generateDevKey } from '../../../gateway/identity/keys.ts';
import { createLogger } from '../../../gateway/log.ts';
import { startGateway, type RunningGateway } from '../../../gateway/server.ts';
import { applyAuthorization } from '@frontdesk/kit';
import { runSubgraph } from '../../../subgraphs/shop/example.ts';
import { startTestIssuer, type TestIssuer } from '../../support/issuer.ts';
import { record, ROOT, type HttpResult, type LogEntry, type StackSubgraph } from '../../support/stack.ts';

const sdl = (authz: string) => `
extend schema
  @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@composeDirective"])
  ${authz}

interface Item { id: ID! title: String note: String @guarded(scopes: [["staff"]]) }
"Type-level rule on an interface: every implementing type obeys it."
interface Confidential @guarded(scopes: [["confidential"]]) { id: ID! }
type Book implements Item @key(fields: "id") { id: ID! title: String note: String isbn: String @guarded(scopes: [["books:isbn"]]) }
type Film implements Item @key(fields: "id") @signedIn { id: ID! title: String note: String }
type Memo implements Item & Confidential @key(fields: "id") { id: ID! title: String note: String }
union Result = Book | Film
type Vault { label: String code: String! @signedIn }
type Query {
  items: [Item]!
  search: [Result!]!
  vault: Vault
  secretCount: Int! @signedIn
  hello: String
}
type Mutation { shelve(id: ID!): Book @guarded(scopes: [["books:write"]]) }
`;

/** Renamed imports (issue 11, hole 5): the gateway must resolve @signedIn and @guarded through the @link. */
const AUTHZ = `@link(url: "https://specs.frontdesk.dev/authz/v0.1", import: [{ name: "@authenticated", as: "@signedIn" }, { name: "@requiresScopes", as: "@guarded" }])
  @composeDirective(name: "@signedIn")
  @composeDirective(name: "@guarded")
directive @signedIn on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
directive @guarded(scopes: [[String!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM`;

const ITEMS = [
  { __typename: 'Book', id: 'b1', title: 'Dune', note: 'n-b1', isbn: '978-0441013593' },
  { __typename: 'Film', id: 'f1', title: 'Alien', note: 'n-f1' },
  { __typename: 'Memo', id: 'm1', title: 'Budget', note: 'n-m1' },
];

function librarySchema(typeDefs: DocumentNode) {
  const resolvers = {
    Query: {
      items: () => ITEMS,
      search: () => ITEMS.slice(0, 2),
      vault: () => ({ label: 'front', code: '1234' }),
      secretCount: () => 42,
      hello: () => 'hi',
    },
    Mutation: { shelve: (_: unknown, { id }: { id: string }) => ITEMS.find((i) => i.id === id) },
    Item: { __resolveType: (item: { __typename: string }) => item.__typename },
    Confidential: { __resolveType: (item: { __typename: string }) => item.__typename },
    Result: { __resolveType: (item: { __typename: string }) => item.__typename },
  };
  // The kit reads the rules by their spec names; the subgraph this test runs declares them unrenamed, so
  // it enforces them too (the gateway is what reads the renamed supergraph).
  return applyAuthorization(buildSubgraphSchema({ typeDefs, resolvers: resolvers as never }));
}

function compose(typeDefs: DocumentNode, url: string): string {
  const result = composeServices([{ name: 'library', url, typeDefs }]);
  if (result.errors) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.supergraphSdl;
}

describe('gateway-side authorization on interfaces, unions and non-null fields', () => {
  let idp: TestIssuer;
  let subgraph: StackSubgraph;
  let gateway: RunningGateway;
  let supergraphFile: string;
  let url: string;
  const logs: LogEntry[] = [];
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    idp = await startTestIssuer();
    const dir = mkdtempSync(join(tmpdir(), 'frontdesk-library-'));
    const keyFile = join(dir, 'identity.json');
    await generateDevKey(keyFile, createLogger({ level: 'silent' }));
    const { d: _private, ...publicJwk } = JSON.parse(readFileSync(keyFile, 'utf8')) as JWK;
    const kitSdl = sdl(AUTHZ).replaceAll('@signedIn', '@authenticated').replaceAll('@guarded', '@requiresScopes')
      .replace('[{ name: "@authenticated", as: "@authenticated" }, { name: "@requiresScopes", as: "@requiresScopes" }]', '["@authenticated", "@requiresScopes"]');
    const running = await runSubgraph(
      { name: 'library', schema: librarySchema(parse(kitSdl)), store: {}, loaders: () => ({}) },
      { port: 0, identity: { jwks: { keys: [publicJwk] }, issuer: 'https://gateway.test', replay: false }, log: () => {} },
    );
    subgraph = { ...running, received: [], refusals: [], audit: [] };
    record(subgraph);
    supergraphFile = join(dir, 'supergraph.graphql');
    writeFileSync(supergraphFile, compose(parse(sdl(AUTHZ)), subgraph.url));
    const config = parseConfig(
      {
        listen: { host: '127.0.0.1', port: 0 },
        supergraph: supergraphFile,
        subgraphs: { library: { url: subgraph.url } },
        auth: { anonymous: true, jwt: [{ issuer: idp.issuer, jwks: idp.jwksUrl, audience: ['shop-api'], algorithms: ['ES256'] }] },
        identity: { issuer: 'https://gateway.test', keys: [{ file: keyFile }] },
        logLevel: 'debug',
        shutdownGrace: '1s',
      },
      { env: {}, source: join(ROOT, 'gateway.test.yaml') },
    );
    gateway = await startGateway(config, { log: createLogger({ level: 'debug', write: (line) => void logs.push(JSON.parse(line) as LogEntry) }), supergraphPollMs: 50 });
    url = `${gateway.url}/graphql`;
    tokens.reader = await idp.sign({ sub: 'reader', scope: 'confidential' });
    tokens.librarian = await idp.sign({ sub: 'librarian', scope: 'confidential staff books:isbn books:write' });
  });
  afterAll(async () => {
    await gateway?.close();
    await subgraph?.close();
    await idp?.close();
  });

  const run = async (user: 'anonymous' | 'reader' | 'librarian', query: string, variables?: Record<string, unknown>): Promise<HttpResult> => {
    subgraph.received.length = 0;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (user !== 'anonymous') headers.authorization = `Bearer ${tokens[user]}`;
    const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    return { status: response.status, headers: response.headers, body: (await response.json()) as HttpResult['body'] };
  };
  const errors = (result: HttpResult) => (result.body.errors ?? []).map((e) => [e.path?.join('.'), e.extensions?.code, e.message]);
  /** Field names the subgraph was asked for, by the type they were selected on (inline fragments' conditions). */
  const requested = () => {
    const byType = new Map<string, Set<string>>();
    for (const { body } of subgraph.received) {
      const conditions: string[] = [];
      visit(parse(body.query), {
        InlineFragment: { enter: (node) => void conditions.push(node.typeCondition?.name.value ?? '?'), leave: () => void conditions.pop() },
        Field: (node) => {
          const on = conditions.at(-1) ?? '*';
          if (!byType.has(on)) byType.set(on, new Set());
          byType.get(on)?.add(node.name.value);
        },
      });
    }
    return byType;
  };
  const allRequested = () => new Set([...requested().values()].flatMap((names) => [...names]));

  it('an interface selection where implementations disagree: allowed types get data, denied ones null, never fetched', async () => {
    const result = await run('anonymous', '{ items { id title ... on Book { isbn } } hello }');
    expect(result.body.data).toEqual({ items: [{ id: 'b1', title: 'Dune', isbn: null }, null, null], hello: 'hi' });
    expect(errors(result)).toEqual([
      ['items.0.isbn', 'UNAUTHENTICATED', 'Authentication required to access Book.isbn'],
      ['items.1.id', 'UNAUTHENTICATED', 'Authentication required to access Film.id'],
      ['items.1.title', 'UNAUTHENTICATED', 'Authentication required to access Film.title'],
      ['items.2.id', 'UNAUTHENTICATED', 'Authentication required to access Memo.id'],
      ['items.2.title', 'UNAUTHENTICATED', 'Authentication required to access Memo.title'],
    ]);
    const byType = requested();
    expect(allRequested()).not.toContain('isbn');
    for (const denied of ['Film', 'Memo']) expect([...(byType.get(denied) ?? [])].filter((f) => f !== '__typename')).toEqual([]);
    // The helper __typename the gateway added to tell the types apart is not in the response.
    expect(JSON.stringify(result.body)).not.toContain('_frontdesk');
  });

  it('rules on an interface field and on an interface type apply to every implementing type', async () => {
    const reader = await run('reader', '{ items { id note } }');
    expect(reader.body.data).toEqual({ items: [{ id: 'b1', note: null }, { id: 'f1', note: null }, { id: 'm1', note: null }] });
    expect(errors(reader)).toEqual(['Book', 'Film', 'Memo'].map((type, i) => [`items.${i}.note`, 'FORBIDDEN', `Not authorized to access ${type}.note`]));
    expect(allRequested()).not.toContain('note');

    const librarian = await run('librarian', '{ items { id note } }');
    expect(librarian.body).toEqual({ data: { items: ITEMS.map(({ id, note }) => ({ id, note })) } });
    expect(allRequested()).toContain('note');
  });

  it('unions: each member obeys its own rules', async () => {
    const result = await run('anonymous', '{ search { ... on Book { title isbn } ... on Film { name: title } } }');
    expect(result.body.data).toEqual({ search: [{ title: 'Dune', isbn: null }, { name: null }] });
    expect(errors(result).map(([path, code]) => [path, code])).toEqual([
      ['search.0.isbn', 'UNAUTHENTICATED'],
      ['search.1.name', 'UNAUTHENTICATED'],
    ]);
    expect(requested().get('Film') ?? new Set()).not.toContain('title');
  });

  it('a denied non-null field nulls its nearest nullable parent; at the root it nulls data', async () => {
    const vault = await run('anonymous', '{ v: vault { label c: code } hello }');
    expect(vault.body.data).toEqual({ v: null, hello: 'hi' });
    expect(errors(vault)).toEqual([['v.c', 'UNAUTHENTICATED', 'Authentication required to access Vault.code']]);
    expect(allRequested()).not.toContain('code');

    const root = await run('anonymous', '{ secretCount }');
    expect(root.body).toEqual({ data: null, errors: [{ message: 'Authentication required to access Query.secretCount', path: ['secretCount'], extensions: { code: 'UNAUTHENTICATED' } }] });
    expect(subgraph.received).toEqual([]);

    // A non-null Film.id denied inside [Result!]!: the null climbs through the list to data.
    const list = await run('anonymous', '{ search { ... on Film { id } } hello }');
    expect(list.body.data).toBeNull();
    expect(errors(list).map(([path]) => path)).toEqual(['search.1.id']);
  });

  it('@skip/@include with variables: a skipped denied field is absent and reports nothing', async () => {
    const query = 'query V($skip: Boolean!) { vault { label code @skip(if: $skip) } }';
    expect((await run('anonymous', query, { skip: true })).body).toEqual({ data: { vault: { label: 'front' } } });
    const included = await run('anonymous', query, { skip: false });
    expect(included.body.data).toEqual({ vault: null });
    expect(errors(included).map(([path]) => path)).toEqual(['vault.code']);
  });

  it('mutations: a denied mutation field is never sent; an allowed one runs', async () => {
    const denied = await run('reader', 'mutation { shelve(id: "b1") { id } }');
    expect(denied.body).toEqual({ data: { shelve: null }, errors: [{ message: 'Not authorized to access Mutation.shelve', path: ['shelve'], extensions: { code: 'FORBIDDEN' } }] });
    expect(subgraph.received).toEqual([]);
    const allowed = await run('librarian', 'mutation { shelve(id: "b1") { id isbn } }');
    expect(allowed.body).toEqual({ data: { shelve: { id: 'b1', isbn: '978-0441013593' } } });
  });

  it('follows a supergraph reload, and refuses one whose rules it cannot read', async () => {
    expect((await run('anonymous', '{ hello }')).body).toEqual({ data: { hello: 'hi' } });
    const reloaded = sdl(AUTHZ).replace('hello: String', 'hello: String @signedIn');
    writeFileSync(supergraphFile, compose(parse(reloaded), subgraph.url));
    await expect.poll(async () => (await run('anonymous', '{ hello }')).body, { timeout: 5_000, interval: 100 }).toEqual({
      data: { hello: null },
      errors: [{ message: 'Authentication required to access Query.hello', path: ['hello'], extensions: { code: 'UNAUTHENTICATED' } }],
    });
    expect(subgraph.received).toEqual([]);

    const unknownVersion = readFileSync(supergraphFile, 'utf8').replace('https://specs.frontdesk.dev/authz/v0.1', 'https://specs.frontdesk.dev/authz/v9.9');
    writeFileSync(supergraphFile, unknownVersion);
    await expect.poll(() => logs.some((l) => l.msg === 'new supergraph refused; keeping the current supergraph'), { timeout: 5_000 }).toBe(true);
    expect((await run('anonymous', '{ hello }')).body.data).toEqual({ hello: null });
  });

  it('reads the renamed directives from the supergraph (the composed SDL keeps the renames)', () => {
    const supergraph = parse(readFileSync(supergraphFile, 'utf8'));
    const applied = new Set<string>();
    visit(supergraph, { Directive: (node) => void applied.add(node.name.value) });
    expect(applied).toContain('signedIn');
    expect(applied).not.toContain('authenticated');
    expect(supergraph.definitions.some((d) => d.kind === Kind.SCHEMA_DEFINITION)).toBe(true);
  });
});
