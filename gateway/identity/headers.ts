/**
 * What a subgraph request carries from the client: only headers on the allowlist, and never one the
 * client named in Connection (RFC 9110 §7.6.1: those are hop-by-hop, and an attacker can use Connection
 * to make a proxy drop or keep headers selectively).
 */
export type HeaderLookup = { get(name: string): string | null | undefined };

/** Headers to copy onto a subgraph request, as [lower-case name, value] pairs. */
export function forwardedHeaders(incoming: HeaderLookup, allowlist: readonly string[]): [string, string][] {
  const connection = incoming.get('connection');
  const hopByHop = connection ? new Set(connection.toLowerCase().split(',').map((name) => name.trim())) : undefined;
  const out: [string, string][] = [];
  for (const name of allowlist) {
    if (hopByHop?.has(name)) continue;
    const value = incoming.get(name);
    if (value !== undefined && value !== null) out.push([name, value]);
  }
  return out;
}
