/**
 * How this repository runs its TypeScript in development: tsx, with the `source` export condition so
 * `@frontdesk/kit` resolves to the kit's TypeScript source rather than its compiled dist/
 * (docs/architecture.md, "Building and running"). Every script that spawns a TypeScript child uses these.
 */
export const TSX_NODE_ARGS: readonly string[] = ['--conditions=source', '--import', 'tsx'];
