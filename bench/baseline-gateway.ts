/**
 * The baseline: what a team writes without frontdesk — Apollo Server's standalone server and Apollo
 * Gateway on the same supergraph, default settings, no authentication.
 */
import { readFileSync } from 'node:fs';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

const supergraphSdl = readFileSync(process.env.BENCH_SUPERGRAPH as string, 'utf8');
const server = new ApolloServer({ gateway: new ApolloGateway({ supergraphSdl, logger: { debug() {}, info() {}, warn() {}, error: (m) => console.error(m) } }) });
const { url } = await startStandaloneServer(server, { listen: { port: Number(process.env.PORT ?? 0), host: '127.0.0.1' } });
process.stdout.write(`${JSON.stringify({ ready: true, url })}\n`);
process.once('SIGTERM', () => process.exit(0));
