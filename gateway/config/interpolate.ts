/** `${VAR}` and `${VAR:-default}` in gateway.yaml values. */

/** A whole value that is `${VAR:-}`: when VAR is unset or empty, the key is left unset (its default applies). */
const UNSET_WHEN_EMPTY = /^\$\{([A-Za-z_][A-Za-z0-9_]*):-\}$/;

/**
 * Replaces ${VAR} and ${VAR:-default} in string values (never in keys, never re-parsed as YAML). A value
 * that is exactly `${VAR:-}` turns an optional feature on from the environment: with VAR unset or empty
 * the key is dropped, as if it were not written (e.g. `store.redis.url: ${FRONTDESK_REDIS_URL:-}`).
 */
export function interpolate(value: unknown, key: string, env: Readonly<Record<string, string | undefined>>, problems: string[]): unknown {
  if (typeof value === 'string') {
    const optional = UNSET_WHEN_EMPTY.exec(value);
    if (optional) return env[optional[1]!] || undefined;
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      problems.push(`${key || 'config'}: environment variable ${name} is not set (write \${${name}:-default} to give a default)`);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => interpolate(item, `${key}[${index}]`, env, problems));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [name, item] of Object.entries(value)) {
      const interpolated = interpolate(item, key ? `${key}.${name}` : name, env, problems);
      if (interpolated !== undefined) out[name] = interpolated;
    }
    return out;
  }
  return value;
}
